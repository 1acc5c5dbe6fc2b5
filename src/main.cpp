// hostgate: a MySQL-protocol-aware proxy with client-IP grants.
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <csignal>
#include <iostream>

#include "src/io/net.h"
#include "src/operations/explain_command.h"
#include "src/operations/log_format.h"
#include "src/runtime/runtime.h"
#include "src/runtime/server.h"
#include "src/runtime/upgrade.h"
#include "src/version.h"

namespace {

// On a terminal each line appears as it is logged. Anywhere else (a file, a pipe, the journal)
// lines are written in batches, at least once a second and at once from a warning up, so that a
// busy proxy does not make a write for every session it logs.
void setup_logging(const std::string& level) {
    if (!isatty(STDOUT_FILENO)) {
        auto logger = std::make_shared<spdlog::logger>(
            "", std::make_shared<hostgate::LineBatchSink>(STDOUT_FILENO));
        logger->flush_on(spdlog::level::warn);
        spdlog::set_default_logger(std::move(logger));
        spdlog::flush_every(std::chrono::seconds(1));
    }
    spdlog::set_level(spdlog::level::from_str(level));
    spdlog::set_formatter(hostgate::make_log_formatter());
}

// Loads config and grants; prints why not and returns nullptr when either is bad.
std::unique_ptr<hostgate::Runtime> load(const std::string& path) {
    auto config = hostgate::load_config(path);
    if (!config) {
        std::cerr << config.error() << "\n";
        return nullptr;
    }
    for (const auto& b : config->backends) {
        if (!b.source) continue;
        if (const auto ec = hostgate::try_bind(*b.source)) {
            std::cerr << path << ": backend " << b.name << ": source " << b.source->to_string()
                      << ": " << ec.message()
                      << (ec.value() == EADDRNOTAVAIL ? " (not an address of this machine)\n"
                                                      : "\n");
            return nullptr;
        }
    }
    auto grants = hostgate::load_grants(*config);
    if (!grants) {
        std::cerr << grants.error() << "\n";
        return nullptr;
    }
    try {
        return std::make_unique<hostgate::Runtime>(std::move(*config), std::move(*grants));
    } catch (const std::exception& e) {  // TLS files
        std::cerr << path << ": [tls]: " << e.what() << "\n";
        return nullptr;
    }
}

}  // namespace

int main(int argc, char** argv) {
    // Listeners handed over by an upgrade (src/runtime/upgrade.h); nothing when started otherwise.
    hostgate::Inheritance inherited = hostgate::Inheritance::from_environment();
    const hostgate::Command command = hostgate::this_command(argc, argv);
    CLI::App app{"hostgate: a MySQL-protocol-aware proxy with client-IP grants"};
    std::string config_path, check_path, log_level = "info";
    app.add_option("-c,--config", config_path, "Run the proxy with this configuration file");
    app.add_option("--check-config", check_path,
                   "Validate a configuration file (and its grants) and exit");
    app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.set_version_flag("--version", "hostgate " HOSTGATE_VERSION);
    bool reference = false;
    app.add_flag("--config-reference", reference,
                 "Print every configuration key with its default, as a Markdown table, and exit");

    hostgate::ExplainArgs explain;
    std::string host_name;
    auto* cmd = app.add_subcommand("explain",
                                   "Show which grant rule applies to USER from ADDRESS, and why");
    cmd->add_option("--grants", explain.grants_file, "Grants file")->required();
    cmd->add_option("--host-name", host_name, "Treat the client as resolving to this host name");
    cmd->add_option("--endpoint", explain.endpoint,
                    "Treat the client as coming through this cloud endpoint (a PROXY v2 TLV)");
    cmd->add_option("user", explain.user, "MySQL user name ('' for none)")->required();
    cmd->add_option("address", explain.address, "Client IPv4 or IPv6 address")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int status = app.exit(e);
        return status == 0 ? 0 : 2;  // usage errors exit 2, like a bad grants file
    }
    if (cmd->parsed()) {
        if (!host_name.empty()) explain.host_name = host_name;
        return hostgate::run_explain(explain, std::cout, std::cerr);
    }
    if (reference) {
        std::cout << hostgate::config_reference();
        return 0;
    }
    if (!check_path.empty()) {
        auto runtime = load(check_path);
        if (!runtime) return 2;
        std::cout << check_path << ": OK (" << runtime->grants()->rules().size() << " grant rules, "
                  << runtime->config()->backends.size() << " backends)\n";
        return 0;
    }
    if (config_path.empty()) {
        std::cerr << app.help();
        return 2;
    }
    setup_logging(log_level);
    // A peer that has gone shows up as EPIPE; splice(2) to a socket has no MSG_NOSIGNAL.
    std::signal(SIGPIPE, SIG_IGN);
    spdlog::info("hostgate {} starting with {}", HOSTGATE_VERSION, config_path);
    auto runtime = load(config_path);
    if (!runtime) return 2;
    const int status = hostgate::run_server(*runtime, inherited, command);
    spdlog::shutdown();  // writes what is still buffered
    return status;
}
