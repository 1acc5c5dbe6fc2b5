#include "src/config.h"

#include <toml++/toml.h>

#include <set>

namespace hostgate {
namespace {

// A config error, carried as an exception inside this file only.
struct ConfigError {
    std::string message;
};

class Reader {
  public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(const toml::node* node, const std::string& key,
                           const std::string& what) const {
        std::string where = file_;
        if (node && node->source().begin.line)
            where += ":" + std::to_string(node->source().begin.line);
        throw ConfigError{where + ": " + key + ": " + what};
    }

    // Every key of the table must be one of `known`.
    void only(const toml::table& table, const std::string& prefix,
              std::set<std::string> known) const {
        for (const auto& [key, node] : table) {
            if (!known.contains(std::string(key.str())))
                fail(&node, prefix + std::string(key.str()), "unknown key");
        }
    }

    std::string string(const toml::table& t, const std::string& prefix, const char* key,
                       std::string fallback) const {
        const toml::node* n = t.get(key);
        if (!n) return fallback;
        if (!n->is_string()) fail(n, prefix + key, "expected a string");
        return **n->as_string();
    }

    std::int64_t integer(const toml::table& t, const std::string& prefix, const char* key,
                         std::int64_t fallback, std::int64_t min, std::int64_t max) const {
        const toml::node* n = t.get(key);
        if (!n) return fallback;
        if (!n->is_integer()) fail(n, prefix + key, "expected a whole number");
        const std::int64_t v = **n->as_integer();
        if (v < min || v > max)
            fail(n, prefix + key,
                 "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
        return v;
    }

    std::vector<std::string> strings(const toml::table& t, const std::string& prefix,
                                     const char* key) const {
        std::vector<std::string> out;
        const toml::node* n = t.get(key);
        if (!n) return out;
        if (!n->is_array()) fail(n, prefix + key, "expected a list of strings");
        for (const toml::node& item : *n->as_array()) {
            if (!item.is_string()) fail(&item, prefix + key, "expected a list of strings");
            out.push_back(**item.as_string());
        }
        return out;
    }

    template <class E>
    E choice(const toml::table& t, const std::string& prefix, const char* key, E fallback,
             std::initializer_list<std::pair<const char*, E>> options) const {
        const toml::node* n = t.get(key);
        if (!n) return fallback;
        std::string expected;
        for (const auto& [name, value] : options) {
            if (n->is_string() && **n->as_string() == name) return value;
            expected += (expected.empty() ? "" : " | ") + std::string("\"") + name + "\"";
        }
        fail(n, prefix + key, "expected " + expected);
    }

    protocol::Endpoint endpoint(const toml::node* n, const std::string& key,
                                const std::string& text) const {
        auto e = protocol::parse_endpoint(text);
        if (!e)
            fail(n, key,
                 "'" + text + "' is not an address:port (\"127.0.0.1:3306\", \"[::1]:3306\")");
        return *e;
    }

  private:
    std::string file_;
};

Config parse(const std::filesystem::path& path) {
    toml::table root;
    try {
        root = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError{path.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description())};
    }
    const Reader r(path.string());
    r.only(root, "",
           {"server", "tls", "grants", "audit", "metrics", "admin", "monitor", "backend"});
    const auto base = path.parent_path();
    auto relative = [&](const std::string& p) {
        return p.empty() ? std::filesystem::path() : base / p;
    };
    auto section = [&](const char* name) -> const toml::table& {
        static const toml::table empty;
        const toml::node* n = root.get(name);
        if (!n) return empty;
        if (!n->is_table()) r.fail(n, name, "expected a table [" + std::string(name) + "]");
        return *n->as_table();
    };

    Config c;
    c.source = path;

    const toml::table& server = section("server");
    r.only(server, "server.",
           {"listen", "threads", "trusted_proxies", "proxy_protocol", "handshake_timeout_ms",
            "connect_timeout_ms", "max_connections", "max_handshakes", "max_connect_rate_per_ip",
            "max_packet_size", "shutdown_grace_ms", "max_user_name_length"});
    for (const auto& text : r.strings(server, "server.", "listen"))
        c.listen.push_back(r.endpoint(server.get("listen"), "server.listen", text));
    if (c.listen.empty()) c.listen.push_back(*protocol::parse_endpoint("127.0.0.1:3306"));
    c.threads = static_cast<unsigned>(r.integer(server, "server.", "threads", 0, 0, 256));
    c.trusted_proxies_text = r.strings(server, "server.", "trusted_proxies");
    auto trusted = auth::TrustedNetworks::parse(c.trusted_proxies_text);
    if (!trusted)
        r.fail(server.get("trusted_proxies"), "server.trusted_proxies", trusted.error().message);
    c.trusted_proxies = std::move(*trusted);
    c.proxy_protocol = r.choice(
        server, "server.", "proxy_protocol", ProxyProtocolMode::required,
        {{"required", ProxyProtocolMode::required}, {"optional", ProxyProtocolMode::optional}});
    c.handshake_timeout = std::chrono::milliseconds(
        r.integer(server, "server.", "handshake_timeout_ms", 5000, 1, 3600000));
    c.connect_timeout = std::chrono::milliseconds(
        r.integer(server, "server.", "connect_timeout_ms", 3000, 1, 3600000));
    c.max_connections =
        static_cast<unsigned>(r.integer(server, "server.", "max_connections", 10000, 1, 10000000));
    c.max_handshakes =
        static_cast<unsigned>(r.integer(server, "server.", "max_handshakes", 4096, 1, 10000000));
    c.max_user_name_length =
        static_cast<unsigned>(r.integer(server, "server.", "max_user_name_length", 80, 1, 4096));
    c.max_connect_rate_per_ip = static_cast<unsigned>(
        r.integer(server, "server.", "max_connect_rate_per_ip", 0, 0, 10000000));
    c.max_packet_size = static_cast<std::size_t>(
        r.integer(server, "server.", "max_packet_size", 64 << 20, 1024, std::int64_t{1} << 30));

    c.shutdown_grace = std::chrono::milliseconds(
        r.integer(server, "server.", "shutdown_grace_ms", 30000, 0, 86400000));

    const toml::table& tls = section("tls");
    r.only(tls, "tls.", {"cert", "key"});
    c.tls_cert = relative(r.string(tls, "tls.", "cert", ""));
    c.tls_key = relative(r.string(tls, "tls.", "key", ""));
    if (c.tls_cert.empty() != c.tls_key.empty())
        r.fail(tls.get(c.tls_cert.empty() ? "key" : "cert"), "tls", "cert and key go together");

    const toml::table& grants = section("grants");
    r.only(grants, "grants.", {"file", "revoke_existing", "from_backend"});
    c.grants_file = relative(r.string(grants, "grants.", "file", ""));
    if (const toml::node* n = grants.get("revoke_existing")) {
        if (!n->is_boolean()) r.fail(n, "grants.revoke_existing", "expected true or false");
        c.revoke_existing = **n->as_boolean();
    }
    if (const toml::node* n = grants.get("from_backend")) {
        if (!n->is_boolean()) r.fail(n, "grants.from_backend", "expected true or false");
        c.grants_from_backend = **n->as_boolean();
    }
    if (c.grants_file.empty()) r.fail(nullptr, "grants.file", "is required");

    const toml::table& admin = section("admin");
    r.only(admin, "admin.", {"listen", "user", "password_hash", "max_connections"});
    c.admin_max_connections =
        static_cast<unsigned>(r.integer(admin, "admin.", "max_connections", 16, 1, 10000));
    if (const std::string listen = r.string(admin, "admin.", "listen", ""); !listen.empty()) {
        c.admin_listen = r.endpoint(admin.get("listen"), "admin.listen", listen);
        c.admin_user = r.string(admin, "admin.", "user", "admin");
        const std::string hash = r.string(admin, "admin.", "password_hash", "");
        auto hex = [](char ch) -> int {
            if (ch >= '0' && ch <= '9') return ch - '0';
            if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
            if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
            return -1;
        };
        bool ok = hash.size() == 41 && hash[0] == '*';
        for (std::size_t i = 0; ok && i < 20; ++i) {
            const int hi = hex(hash[1 + 2 * i]), lo = hex(hash[2 + 2 * i]);
            ok = hi >= 0 && lo >= 0;
            c.admin_password_stage2[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        }
        if (!ok)
            r.fail(admin.get("password_hash") ? admin.get("password_hash") : admin.get("listen"),
                   "admin.password_hash",
                   "expected the '*' and 40 hex digits of MySQL's PASSWORD('...') (SELECT "
                   "PASSWORD('secret'))");
    }

    const toml::table& monitor = section("monitor");
    r.only(monitor, "monitor.", {"user", "password", "interval_ms"});
    c.monitor_user = r.string(monitor, "monitor.", "user", "");
    c.monitor_password = r.string(monitor, "monitor.", "password", "");
    c.monitor_enabled = !c.monitor_user.empty();
    c.monitor_interval = std::chrono::milliseconds(
        r.integer(monitor, "monitor.", "interval_ms", 2000, 100, 3600000));

    const toml::table& metrics = section("metrics");
    r.only(metrics, "metrics.", {"listen", "max_connections"});
    c.metrics_max_connections =
        static_cast<unsigned>(r.integer(metrics, "metrics.", "max_connections", 16, 1, 10000));
    if (const std::string listen = r.string(metrics, "metrics.", "listen", ""); !listen.empty())
        c.metrics_listen = r.endpoint(metrics.get("listen"), "metrics.listen", listen);

    const toml::table& audit = section("audit");
    r.only(audit, "audit.", {"file"});
    c.audit_file = relative(r.string(audit, "audit.", "file", ""));

    const toml::node* backends = root.get("backend");
    if (!backends) r.fail(nullptr, "backend", "at least one [[backend]] is required");
    if (!backends->is_array_of_tables()) r.fail(backends, "backend", "expected [[backend]] tables");
    std::set<std::string> names;
    for (const toml::node& node : *backends->as_array()) {
        const toml::table& b = *node.as_table();
        r.only(b, "backend.", {"name", "address", "group", "proxy_protocol", "tls"});
        BackendConfig bc;
        bc.name = r.string(b, "backend.", "name", "");
        if (bc.name.empty()) r.fail(&node, "backend.name", "is required");
        if (!names.insert(bc.name).second)
            r.fail(b.get("name"), "backend.name", "'" + bc.name + "' is used twice");
        const std::string address = r.string(b, "backend.", "address", "");
        if (address.empty()) r.fail(&node, "backend.address", "is required");
        bc.address = r.endpoint(b.get("address"), "backend.address", address);
        bc.group = r.string(b, "backend.", "group", "default");
        bc.proxy_protocol = r.choice(b, "backend.", "proxy_protocol", BackendProxyProtocol::v2,
                                     {{"v1", BackendProxyProtocol::v1},
                                      {"v2", BackendProxyProtocol::v2},
                                      {"off", BackendProxyProtocol::off}});
        bc.tls = r.choice(b, "backend.", "tls", BackendTls::mirror,
                          {{"off", BackendTls::off},
                           {"mirror", BackendTls::mirror},
                           {"required", BackendTls::required}});
        c.backends.push_back(std::move(bc));
    }
    if (c.grants_from_backend && c.monitor_user.empty())
        r.fail(
            grants.get("from_backend"), "grants.from_backend",
            "needs [monitor] user and password (with SELECT on mysql.user) to read the accounts");
    return c;
}

}  // namespace

Expected<Config, std::string> load_config(const std::filesystem::path& path) {
    try {
        return parse(path);
    } catch (const ConfigError& e) {
        return Unexpected(e.message);
    }
}

}  // namespace hostgate
