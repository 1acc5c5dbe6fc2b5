#include "src/runtime/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <set>
#include <type_traits>

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

    std::string string(const toml::node& n, const std::string& key) const {
        if (!n.is_string()) fail(&n, key, "expected a string");
        return **n.as_string();
    }

    bool boolean(const toml::node& n, const std::string& key) const {
        if (!n.is_boolean()) fail(&n, key, "expected true or false");
        return **n.as_boolean();
    }

    std::int64_t integer(const toml::node& n, const std::string& key, std::int64_t min,
                         std::int64_t max) const {
        if (!n.is_integer()) fail(&n, key, "expected a whole number");
        const std::int64_t v = **n.as_integer();
        if (v < min || v > max)
            fail(&n, key,
                 "expected a number from " + std::to_string(min) + " to " + std::to_string(max));
        return v;
    }

    std::vector<std::string> strings(const toml::node& n, const std::string& key) const {
        if (!n.is_array()) fail(&n, key, "expected a list of strings");
        std::vector<std::string> out;
        for (const toml::node& item : *n.as_array()) {
            if (!item.is_string()) fail(&item, key, "expected a list of strings");
            out.push_back(**item.as_string());
        }
        return out;
    }

    template <class E>
    E choice(const toml::node& n, const std::string& key,
             const std::vector<std::pair<std::string, E>>& options) const {
        std::string expected;
        for (const auto& [name, value] : options) {
            if (n.is_string() && **n.as_string() == name) return value;
            expected += (expected.empty() ? "" : " | ") + std::string("\"") + name + "\"";
        }
        fail(&n, key, "expected " + expected);
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

// One configuration key: where it is, how it is read into a Config, whether a reload applies it,
// and what it means (for `hostgate --config-reference`, which the README's table is). Defaults
// are Config's own member initialisers, written once in config.h.
struct Key {
    std::string_view section;  // "server"
    std::string_view name;     // "max_connections"
    bool reloadable = true;
    std::string_view meaning;
    std::function<void(const Reader&, const toml::node&, const std::string& key,
                       const std::filesystem::path& base, Config&)>
        read;
    std::function<std::string(const Config&)> show;  // the value, for the default column
    std::function<bool(const Config&, const Config&)> same;
    std::function<void(Config& fresh, const Config& running)> keep;

    std::string full_name() const { return std::string(section) + "." + std::string(name); }
};

template <class T>
Key member_key(std::string_view section, std::string_view name, T Config::*member, bool reloadable,
               std::string_view meaning) {
    Key k{section, name, reloadable, meaning, {}, {}, {}, {}};
    k.same = [member](const Config& a, const Config& b) { return a.*member == b.*member; };
    k.keep = [member](Config& fresh, const Config& running) { fresh.*member = running.*member; };
    return k;
}

std::string quoted(const std::string& s) {
    return "\"" + s + "\"";
}

// A whole number from min to max; `scale` turns it into the member's type.
template <class T>
Key number(std::string_view section, std::string_view name, T Config::*member, std::int64_t min,
           std::int64_t max, bool reloadable, std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member, min, max](const Reader& r, const toml::node& n, const std::string& key,
                                const std::filesystem::path&, Config& c) {
        const std::int64_t v = r.integer(n, key, min, max);
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
            c.*member = std::chrono::milliseconds(v);
        } else {
            c.*member = static_cast<T>(v);
        }
    };
    k.show = [member](const Config& c) {
        if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
            return std::to_string((c.*member).count());
        } else {
            return std::to_string(c.*member);
        }
    };
    return k;
}

Key flag(std::string_view section, std::string_view name, bool Config::*member, bool reloadable,
         std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member](const Reader& r, const toml::node& n, const std::string& key,
                      const std::filesystem::path&, Config& c) { c.*member = r.boolean(n, key); };
    k.show = [member](const Config& c) { return std::string(c.*member ? "true" : "false"); };
    return k;
}

Key text(std::string_view section, std::string_view name, std::string Config::*member,
         bool reloadable, std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member](const Reader& r, const toml::node& n, const std::string& key,
                      const std::filesystem::path&, Config& c) { c.*member = r.string(n, key); };
    k.show = [member](const Config& c) {
        return (c.*member).empty() ? std::string() : quoted(c.*member);
    };
    return k;
}

// A file name, relative to the configuration file.
Key file(std::string_view section, std::string_view name, std::filesystem::path Config::*member,
         bool reloadable, std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member](const Reader& r, const toml::node& n, const std::string& key,
                      const std::filesystem::path& base, Config& c) {
        const std::string p = r.string(n, key);
        c.*member = p.empty() ? std::filesystem::path() : base / p;
    };
    k.show = [member](const Config& c) {
        return (c.*member).empty() ? std::string() : quoted((c.*member).string());
    };
    return k;
}

Key address(std::string_view section, std::string_view name,
            std::optional<protocol::Endpoint> Config::*member, bool reloadable,
            std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member](const Reader& r, const toml::node& n, const std::string& key,
                      const std::filesystem::path&, Config& c) {
        const std::string a = r.string(n, key);
        if (a.empty()) {
            (c.*member).reset();
        } else {
            c.*member = r.endpoint(&n, key, a);
        }
    };
    k.show = [member](const Config& c) {
        return c.*member ? quoted((c.*member)->to_string()) : std::string();
    };
    return k;
}

template <class E>
Key choice(std::string_view section, std::string_view name, E Config::*member,
           std::vector<std::pair<std::string, E>> options, bool reloadable,
           std::string_view meaning) {
    Key k = member_key(section, name, member, reloadable, meaning);
    k.read = [member, options](const Reader& r, const toml::node& n, const std::string& key,
                               const std::filesystem::path&,
                               Config& c) { c.*member = r.choice(n, key, options); };
    k.show = [member, options](const Config& c) {
        for (const auto& [text, value] : options)
            if (value == c.*member) return quoted(text);
        return std::string();
    };
    return k;
}

constexpr std::string_view kPasswordHashForm =
    "expected the '*' and 40 hex digits of MySQL's PASSWORD('...') (SELECT PASSWORD('secret'))";

// "*" and 40 hex digits, as MySQL's PASSWORD('...') prints it, into SHA1(SHA1(password)).
bool parse_password_hash(const std::string& text, std::array<std::uint8_t, 20>& stage2) {
    auto hex = [](char ch) -> int {
        if (ch >= '0' && ch <= '9') return ch - '0';
        if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
        if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
        return -1;
    };
    if (text.size() != 41 || text[0] != '*') return false;
    for (std::size_t i = 0; i < 20; ++i) {
        const int hi = hex(text[1 + 2 * i]), lo = hex(text[2 + 2 * i]);
        if (hi < 0 || lo < 0) return false;
        stage2[i] = static_cast<std::uint8_t>(hi << 4 | lo);
    }
    return true;
}

// A key read by a function of its own, with a fixed default text.
Key custom(Key k, std::string shown) {
    k.show = [shown](const Config&) { return shown; };
    return k;
}

// [server]
std::vector<Key> server_keys() {
    std::vector<Key> v;
    Key listen = member_key("server", "listen", &Config::listen, false,
                            "addresses to accept clients on, `\"ip:port\"` or "
                            "`\"[ipv6]:port\"`; hostgate will not start on an address "
                            "something already listens on");
    listen.read = [](const Reader& r, const toml::node& n, const std::string& key,
                     const std::filesystem::path&, Config& c) {
        c.listen.clear();
        for (const auto& a : r.strings(n, key)) c.listen.push_back(r.endpoint(&n, key, a));
    };
    listen.show = [](const Config& c) {
        std::string out;
        for (const auto& e : c.listen) out += (out.empty() ? "" : ", ") + quoted(e.to_string());
        return "[" + out + "]";
    };
    v.push_back(listen);
    v.push_back(number("server", "threads", &Config::threads, 0, 256, false,
                       "event-loop threads; 0 = one per core"));
    Key trusted = member_key("server", "trusted_proxies", &Config::trusted_proxies_text, true,
                             "addresses or CIDR blocks allowed to send a PROXY header (your "
                             "HAProxy, NLB)");
    trusted.read = [](const Reader& r, const toml::node& n, const std::string& key,
                      const std::filesystem::path&, Config& c) {
        c.trusted_proxies_text = r.strings(n, key);
        auto networks = auth::TrustedNetworks::parse(c.trusted_proxies_text);
        if (!networks) r.fail(&n, key, networks.error().message);
        c.trusted_proxies = std::move(*networks);
    };
    v.push_back(custom(trusted, "[]"));
    v.push_back(choice(
        "server", "proxy_protocol", &Config::proxy_protocol,
        {{"required", ProxyProtocolMode::required}, {"optional", ProxyProtocolMode::optional}},
        true,
        "for trusted peers: `\"required\"` (the header must come before the login: one already "
        "waiting is read before the greeting; otherwise hostgate greets at once and reads it "
        "after, as AWS NLB's default placement sends it with the client's first bytes; a login "
        "without one gets `ERROR 1105 Proxy header is required from <peer>`) or "
        "`\"optional\"` (the same, but a connection without a header is served as the peer "
        "itself; the rate limit, host check and `connect` event go by the client a late header "
        "names). Optional mode lets any process on a trusted host claim any client address: "
        "trust only hosts where nothing else runs"));
    v.push_back(flag("server", "accept_proxy_tls", &Config::accept_proxy_tls, true,
                     "a trusted proxy that terminated the client's TLS (HAProxy "
                     "`send-proxy-v2-ssl`, a hostgate in front) says so in its header's "
                     "PP2_TYPE_SSL TLV: with this on, REQUIRE rules count what it says (TLS, a "
                     "verified certificate, its subject and issuer, or only its CN as "
                     "`/CN=<cn>`, the cipher); off, the audit shows it and nothing else"));
    v.push_back(number("server", "handshake_timeout_ms", &Config::handshake_timeout, 1, 3600000,
                       true, "PROXY header and the whole MySQL handshake, backend login included"));
    v.push_back(number("server", "connect_timeout_ms", &Config::connect_timeout, 1, 3600000, true,
                       "connecting to a backend and reading its greeting"));
    v.push_back(number("server", "max_user_name_length", &Config::max_user_name_length, 1, 4096,
                       true,
                       "characters (MariaDB's limit; MySQL 5.7's is 32). A login or "
                       "`COM_CHANGE_USER` with a longer user name gets `ERROR 1045` before "
                       "the grants and any backend are involved"));
    v.push_back(number("server", "max_connections", &Config::max_connections, 1, 10000000, true,
                       "sessions at once; more get `ERROR 1040 Too many connections`. Each "
                       "session takes two descriptors: hostgate raises its soft "
                       "`RLIMIT_NOFILE` to the hard limit at start and warns when that is "
                       "below 2 × `max_connections` + 64"));
    v.push_back(number("server", "max_handshakes", &Config::max_handshakes, 1, 10000000, true,
                       "sessions not yet past authentication (reading a PROXY header, "
                       "greeted, logging in); more get `ERROR 1040 Too many connections` "
                       "before the greeting"));
    v.push_back(number("server", "max_connect_rate_per_ip", &Config::max_connect_rate_per_ip, 0,
                       10000000, true,
                       "new connections per second from one client address (after the "
                       "PROXY header), with bursts of as many; 0 is off; more get `ERROR "
                       "1040 Too many connections from '<ip>'`"));
    v.push_back(number("server", "max_packet_size", &Config::max_packet_size, 1024,
                       std::int64_t{1} << 30, true,
                       "largest backend packet accepted while a login is relayed (a "
                       "client's packets before authentication are capped at 128 KiB: a "
                       "bigger one gets `ERROR 1153`)"));
    v.push_back(number("server", "shutdown_grace_ms", &Config::shutdown_grace, 0, 86400000, true,
                       "on SIGTERM, how long open sessions may go on before they are "
                       "closed"));
    v.push_back(number("server", "drain_delay_ms", &Config::drain_delay, 0, 3600000, true,
                       "on SIGTERM (or after handing over to a new process), how long `/ready` "
                       "answers 503 before the listeners close, so that a balancer stops "
                       "sending sessions first"));
    return v;
}

// [tls], [grants] and [audit]: the files hostgate reads and writes.
std::vector<Key> file_keys() {
    std::vector<Key> v;
    v.push_back(file("tls", "cert", &Config::tls_cert, false,
                     "PEM certificate chain; with `tls.key`, hostgate offers TLS to clients"));
    v.push_back(file("tls", "key", &Config::tls_key, false, "PEM private key of `tls.cert`"));
    v.push_back(file("tls", "ca", &Config::tls_ca, false,
                     "PEM CA certificates: hostgate asks clients for a certificate and verifies "
                     "one that is presented (a client without one is served; `REQUIRE X509`, "
                     "`ISSUER` and `SUBJECT` rules need one)"));
    v.push_back(file("tls", "crl", &Config::tls_crl, false,
                     "PEM certificate revocation list checked with `tls.ca`"));
    v.push_back(
        custom(file("grants", "file", &Config::grants_file, true, "the grants file (syntax below)"),
               "required"));
    v.push_back(flag("grants", "revoke_existing", &Config::revoke_existing, true,
                     "on reload, close sessions that the new rules no longer allow"));
    v.push_back(flag("grants", "from_backend", &Config::grants_from_backend, true,
                     "also read `User, Host` from `mysql.user` on the first backend of the "
                     "default group, at start and on every reload, as `[monitor]` user (it "
                     "needs `SELECT` on `mysql.user`); an account in both keeps the file's "
                     "rule and options; `SHOW GRANTS` says where each rule came from"));
    v.push_back(file("audit", "file", &Config::audit_file, false,
                     "append one JSON line per session event to this file"));
    return v;
}

// [monitor], [admin] and [metrics]: what operators reach hostgate and its backends with.
std::vector<Key> operator_keys() {
    std::vector<Key> v;
    v.push_back(text("monitor", "user", &Config::monitor_user, true,
                     "with a user, every backend is checked each interval: connect with the "
                     "PROXY header it expects (v2 `LOCAL`, v1 `UNKNOWN`), log in "
                     "(mysql_native_password), `COM_PING`, `COM_QUIT`"));
    v.push_back(text("monitor", "password", &Config::monitor_password, true,
                     "the monitor user's password"));
    v.push_back(number("monitor", "interval_ms", &Config::monitor_interval, 100, 3600000, true,
                       "time between checks"));
    v.push_back(address("admin", "listen", &Config::admin_listen, false,
                        "`\"ip:port\"` of the admin port (keep it on loopback)"));
    v.push_back(text("admin", "user", &Config::admin_user, true, "the admin login"));
    Key hash = member_key("admin", "password_hash", &Config::admin_password_stage2, true,
                          "`*` and 40 hex digits, as MySQL's `PASSWORD('...')` prints it");
    hash.read = [](const Reader& r, const toml::node& n, const std::string& key,
                   const std::filesystem::path&, Config& c) {
        if (!parse_password_hash(r.string(n, key), c.admin_password_stage2))
            r.fail(&n, key, std::string(kPasswordHashForm));
    };
    v.push_back(custom(hash, "required with `admin.listen`"));
    v.push_back(number("admin", "max_connections", &Config::admin_max_connections, 1, 10000, true,
                       "admin connections open at once; more get `ERROR 1040` in place of "
                       "the greeting"));
    v.push_back(number("admin", "events_kept", &Config::admin_events_kept, 0, 1000000, false,
                       "the last session events kept in memory for the admin port's `events` "
                       "table, whether or not `audit.file` is set; 0 keeps none"));
    v.push_back(number("admin", "query_time_limit_ms", &Config::admin_query_time, 1, 3600000, true,
                       "how long one SQL query on the admin port may run; past it, "
                       "`ERROR 1317`"));
    v.push_back(address("metrics", "listen", &Config::metrics_listen, false,
                        "`\"ip:port\"` to serve Prometheus metrics at "
                        "`http://ip:port/metrics`"));
    v.push_back(number("metrics", "max_connections", &Config::metrics_max_connections, 1, 10000,
                       true, "metrics connections open at once; more get HTTP 503"));
    return v;
}

// Every key but those of [[backend]], in the order of the reference table.
const std::vector<Key>& keys() {
    static const std::vector<Key> all = [] {
        std::vector<Key> v = server_keys();
        for (auto part : {file_keys(), operator_keys()})
            v.insert(v.end(), part.begin(), part.end());
        return v;
    }();
    return all;
}

// The keys of a [[backend]] table. A reload applies none of them.
struct BackendKey {
    std::string_view name;
    std::string_view meaning;
    std::string_view shown;  // the default column
    std::function<void(const Reader&, const toml::node&, const std::string& key, BackendConfig&)>
        read;
};

const std::vector<BackendKey>& backend_keys() {
    static const std::vector<BackendKey> all = {
        {"name", "unique name, used in logs", "required",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             b.name = r.string(n, key);
         }},
        {"address", "`\"ip:port\"` of a MariaDB / Percona / MySQL server", "required",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             b.address = r.endpoint(&n, key, r.string(n, key));
         }},
        {"group", "the group a rule's `BACKEND` option names; rules without it use `default`",
         "\"default\"",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             b.group = r.string(n, key);
         }},
        {"proxy_protocol", "header sent first on every connection: `\"v1\"`, `\"v2\"` or `\"off\"`",
         "\"v2\"",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             b.proxy_protocol =
                 r.choice<BackendProxyProtocol>(n, key,
                                                {{"v1", BackendProxyProtocol::v1},
                                                 {"v2", BackendProxyProtocol::v2},
                                                 {"off", BackendProxyProtocol::off}});
         }},
        {"proxy_protocol_tlvs",
         "what the v2 header carries besides the addresses, any of `\"ssl\"` (TLS version, "
         "cipher, certificate bits and verify result of the client's TLS), `\"cn\"` and "
         "`\"client_cert\"` (its certificate's common name, its certificate in DER, inside the "
         "SSL TLV), `\"authority\"` (the SNI the client sent), `\"unique_id\"` (the session's), "
         "`\"endpoint\"` (the cloud endpoint TLV received); needs `proxy_protocol = \"v2\"`",
         "[]",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             static constexpr std::string_view kKnown[] = {"ssl",       "cn",        "client_cert",
                                                           "authority", "unique_id", "endpoint"};
             b.proxy_protocol_tlvs.clear();
             const auto asked = r.strings(n, key);
             for (std::string_view known : kKnown)
                 if (std::find(asked.begin(), asked.end(), known) != asked.end())
                     b.proxy_protocol_tlvs.emplace_back(known);
             for (const std::string& a : asked)
                 if (std::find(std::begin(kKnown), std::end(kKnown), a) == std::end(kKnown))
                     r.fail(&n, key,
                            "'" + a +
                                "' is none of ssl, cn, client_cert, authority, unique_id, "
                                "endpoint");
         }},
        {"source",
         "the address hostgate connects to the backend from (sessions, health checks, the "
         "start-up probe, `grants.from_backend`), like HAProxy's `source`: list exactly it in "
         "the backend's `proxy_protocol_networks`. Percona Server does not take a PROXY header "
         "from 127.0.0.1 or ::1, so a hostgate on the database host needs a routable one. An "
         "address this machine does not have stops hostgate at start",
         "",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             const std::string text = r.string(n, key);
             b.source = protocol::parse_ip(text);
             if (!b.source) r.fail(&n, key, "'" + text + "' is not an IPv4 or IPv6 address");
         }},
        {"tls",
         "`\"off\"`, `\"mirror\"` (TLS to the backend when the client used TLS) or "
         "`\"required\"`",
         "\"mirror\"",
         [](const Reader& r, const toml::node& n, const std::string& key, BackendConfig& b) {
             b.tls = r.choice<BackendTls>(n, key,
                                          {{"off", BackendTls::off},
                                           {"mirror", BackendTls::mirror},
                                           {"required", BackendTls::required}});
         }},
    };
    return all;
}

BackendConfig read_backend(const Reader& r, const toml::node& node) {
    const toml::table* table = node.as_table();
    if (!table) r.fail(&node, "backend", "expected [[backend]] tables");
    BackendConfig b;
    for (const auto& [key, value] : *table) {
        const auto k = std::find_if(backend_keys().begin(), backend_keys().end(),
                                    [&](const BackendKey& bk) { return bk.name == key.str(); });
        if (k == backend_keys().end())
            r.fail(&value, "backend." + std::string(key.str()), "unknown key");
        k->read(r, value, "backend." + std::string(key.str()), b);
    }
    if (b.name.empty()) r.fail(&node, "backend.name", "is required");
    if (b.address.port == 0) r.fail(&node, "backend.address", "is required");
    if (!b.proxy_protocol_tlvs.empty() && b.proxy_protocol != BackendProxyProtocol::v2)
        r.fail(table->get("proxy_protocol_tlvs"), "backend.proxy_protocol_tlvs",
               "needs proxy_protocol = \"v2\": a v1 header cannot carry TLVs");
    if (b.source && b.source->is_v4() != b.address.address.is_v4())
        r.fail(table->get("source"), "backend.source",
               "is not of the address family of backend.address");
    return b;
}

// What no single key can check: keys that go together, and what the file must have.
void check_whole(const Reader& r, const toml::table& root, Config& c) {
    auto node = [&](const char* section, const char* key) -> const toml::node* {
        const toml::node* s = root.get(section);
        return s && s->is_table() ? s->as_table()->get(key) : nullptr;
    };
    if (c.tls_cert.empty() != c.tls_key.empty())
        r.fail(node("tls", c.tls_cert.empty() ? "key" : "cert"), "tls", "cert and key go together");
    if (!c.tls_ca.empty() && c.tls_cert.empty())
        r.fail(node("tls", "ca"), "tls.ca", "needs tls.cert and tls.key");
    if (!c.tls_crl.empty() && c.tls_ca.empty())
        r.fail(node("tls", "crl"), "tls.crl", "needs tls.ca");
    if (c.grants_file.empty()) r.fail(nullptr, "grants.file", "is required");
    if (c.admin_listen && !node("admin", "password_hash"))
        r.fail(node("admin", "listen"), "admin.password_hash", std::string(kPasswordHashForm));
    c.monitor_enabled = !c.monitor_user.empty();
    if (c.grants_from_backend && !c.monitor_enabled)
        r.fail(
            node("grants", "from_backend"), "grants.from_backend",
            "needs [monitor] user and password (with SELECT on mysql.user) to read the accounts");
    if (c.listen.empty()) c.listen = Config().listen;
    const toml::node* backends = root.get("backend");
    if (!backends) r.fail(nullptr, "backend", "at least one [[backend]] is required");
    if (!backends->is_array_of_tables()) r.fail(backends, "backend", "expected [[backend]] tables");
    std::set<std::string> names;
    for (const toml::node& b : *backends->as_array()) {
        BackendConfig bc = read_backend(r, b);
        if (!names.insert(bc.name).second)
            r.fail(b.as_table()->get("name"), "backend.name", "'" + bc.name + "' is used twice");
        c.backends.push_back(std::move(bc));
    }
}

Config parse(const std::filesystem::path& path) {
    toml::table root;
    try {
        root = toml::parse_file(path.string());
    } catch (const toml::parse_error& e) {
        throw ConfigError{path.string() + ":" + std::to_string(e.source().begin.line) + ": " +
                          std::string(e.description())};
    }
    const Reader r(path.string());
    Config c;
    c.source = path;
    for (const auto& [section_name, section] : root) {
        const std::string s(section_name.str());
        if (s == "backend") continue;  // [[backend]]: check_whole()
        const bool known =
            std::any_of(keys().begin(), keys().end(), [&](const Key& k) { return k.section == s; });
        if (!known) r.fail(&section, s, "unknown key");
        if (!section.is_table()) r.fail(&section, s, "expected a table [" + s + "]");
        for (const auto& [key_name, value] : *section.as_table()) {
            const auto k = std::find_if(keys().begin(), keys().end(), [&](const Key& candidate) {
                return candidate.section == s && candidate.name == key_name.str();
            });
            const std::string full = s + "." + std::string(key_name.str());
            if (k == keys().end()) r.fail(&value, full, "unknown key");
            k->read(r, value, full, path.parent_path(), c);
        }
    }
    check_whole(r, root, c);
    return c;
}

}  // namespace

std::string config_reference() {
    const Config defaults;
    auto cell = [](const std::string& v) {
        return v.empty() ? std::string("none") : "`" + v + "`";
    };
    std::string out = "| key | default | reload | meaning |\n|---|---|---|---|\n";
    for (const Key& k : keys()) {
        const std::string shown = k.show(defaults);
        const bool plain = shown == "required" || shown.starts_with("required ");
        out += "| `" + k.full_name() + "` | " + (plain ? shown : cell(shown)) + " | " +
               (k.reloadable ? "applied" : "restart") + " | " + std::string(k.meaning) + " |\n";
    }
    for (const BackendKey& k : backend_keys()) {
        const std::string shown(k.shown);
        out += "| `[[backend]] " + std::string(k.name) + "` | " +
               (shown == "required" ? shown : cell(shown)) + " | restart | " +
               std::string(k.meaning) + " |\n";
    }
    return out;
}

std::string restart_only_changes(const Config& running, const Config& fresh) {
    std::string out;
    auto add = [&](const std::string& key) { out += (out.empty() ? "" : ", ") + key; };
    for (const Key& k : keys())
        if (!k.reloadable && !k.same(running, fresh)) add(k.full_name());
    if (running.backends != fresh.backends) add("[[backend]]");
    return out;
}

void keep_restart_only(Config& fresh, const Config& running) {
    for (const Key& k : keys())
        if (!k.reloadable) k.keep(fresh, running);
    fresh.backends = running.backends;
}

Expected<Config, std::string> load_config(const std::filesystem::path& path) {
    try {
        return parse(path);
    } catch (const ConfigError& e) {
        return Unexpected(e.message);
    }
}

}  // namespace hostgate
