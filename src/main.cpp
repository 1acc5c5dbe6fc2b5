// hostgate: a MySQL-protocol-aware proxy with client-IP grants.
#include <CLI/CLI.hpp>
#include <iostream>

#include "src/explain_command.h"

int main(int argc, char** argv) {
    CLI::App app{"hostgate: a MySQL-protocol-aware proxy with client-IP grants"};
    app.require_subcommand(1);

    hostgate::ExplainArgs explain;
    std::string host_name;
    auto* cmd = app.add_subcommand("explain", "Show which grant rule applies to USER from ADDRESS, and why");
    cmd->add_option("--grants", explain.grants_file, "Grants file")->required();
    cmd->add_option("--host-name", host_name, "Treat the client as resolving to this host name");
    cmd->add_option("user", explain.user, "MySQL user name ('' for none)")->required();
    cmd->add_option("address", explain.address, "Client IPv4 or IPv6 address")->required();

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int status = app.exit(e);
        return status == 0 ? 0 : 2;  // usage errors exit 2, like a bad grants file
    }
    if (!host_name.empty()) explain.host_name = host_name;
    return hostgate::run_explain(explain, std::cout, std::cerr);
}
