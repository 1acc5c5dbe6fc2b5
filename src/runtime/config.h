#pragma once
// hostgate's TOML configuration: what the daemon listens on, whom it trusts, where it forwards.

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "auth/trusted_networks.h"
#include "protocol/address.h"
#include "protocol/expected.h"

namespace hostgate {

enum class ProxyProtocolMode { required, optional };  // for trusted peers
enum class BackendProxyProtocol { v1, v2, off };
enum class BackendTls { off, mirror, required };

struct BackendConfig {
    std::string name;
    protocol::Endpoint address;
    std::string group = "default";
    BackendProxyProtocol proxy_protocol = BackendProxyProtocol::v2;
    BackendTls tls = BackendTls::mirror;
    // The address hostgate's connections to it come from; none: the system chooses.
    std::optional<protocol::IpAddress> source;
    // What the v2 header carries besides the addresses (proxy_protocol_tlvs): each of "ssl",
    // "cn", "client_cert", "authority", "unique_id", "endpoint", in this order.
    std::vector<std::string> proxy_protocol_tlvs;
    bool has_tlv(std::string_view tlv) const {
        return std::find(proxy_protocol_tlvs.begin(), proxy_protocol_tlvs.end(), tlv) !=
               proxy_protocol_tlvs.end();
    }
    bool operator==(const BackendConfig&) const = default;
};

struct Config {
    std::filesystem::path source;  // the file it was read from

    // [server]
    std::vector<protocol::Endpoint> listen = {*protocol::parse_endpoint("127.0.0.1:3306")};
    unsigned threads = 0;  // 0: one per core
    auth::TrustedNetworks trusted_proxies;
    std::vector<std::string> trusted_proxies_text;
    ProxyProtocolMode proxy_protocol = ProxyProtocolMode::required;
    bool accept_proxy_tls = false;  // a trusted proxy's PP2_TYPE_SSL TLV counts for REQUIRE
    std::chrono::milliseconds handshake_timeout{5000};
    std::chrono::milliseconds connect_timeout{3000};  // to a backend
    unsigned max_connections = 10000;
    unsigned max_handshakes = 4096;           // sessions not yet past authentication
    unsigned max_user_name_length = 80;       // characters; longer names get 1045 (MariaDB's limit)
    unsigned max_connect_rate_per_ip = 0;     // connections per second per client address; 0: off
    std::size_t max_packet_size = 64u << 20;  // largest connection-phase packet accepted
    std::chrono::milliseconds shutdown_grace{30000};  // SIGTERM: how long sessions may finish
    std::chrono::milliseconds drain_delay{
        0};  // SIGTERM: /ready is 503 this long before listeners close

    // [tls]
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;
    std::filesystem::path tls_ca;   // verify client certificates against these CAs
    std::filesystem::path tls_crl;  // and this revocation list
    bool tls_enabled() const { return !tls_cert.empty(); }

    // [grants]
    std::filesystem::path grants_file;
    bool revoke_existing = false;      // on reload, close sessions the new rules no longer allow
    bool grants_from_backend = false;  // also read User, Host from a backend's mysql.user

    // [admin]: a MySQL-protocol port for operators
    std::optional<protocol::Endpoint> admin_listen;
    std::string admin_user = "admin";
    std::array<std::uint8_t, 20> admin_password_stage2{};  // SHA1(SHA1(password)), from "*HEX"
    unsigned admin_max_connections = 16;                   // open at once; more get ERR 1040
    unsigned admin_events_kept = 10000;  // the last session events, for the admin port's `events`
    std::chrono::milliseconds admin_query_time{5000};  // an admin SQL query's time limit

    // [monitor]: health checks that log in to every backend
    bool monitor_enabled = false;
    std::string monitor_user;
    std::string monitor_password;
    std::chrono::milliseconds monitor_interval{2000};

    // [metrics]
    std::optional<protocol::Endpoint> metrics_listen;  // Prometheus /metrics over HTTP
    unsigned metrics_max_connections = 16;             // open at once; more get HTTP 503

    // [audit]
    std::filesystem::path audit_file;  // empty: no audit log

    // [[backend]]
    std::vector<BackendConfig> backends;
};

// Reads and checks a config file. Paths in it are relative to the file. The error names the key
// and its line: "hostgate.toml:12: server.proxy_protocol: expected \"required\" | \"optional\"".
// Unknown keys are errors. The defaults are the member initialisers above.
Expected<Config, std::string> load_config(const std::filesystem::path& path);

// Every key, each described once in config.cpp, as the Markdown table of the README's
// configuration section (`hostgate --config-reference`): key, default, whether a reload applies
// it, meaning.
std::string config_reference();

// A reload and the keys it cannot apply: which of them differ ("server.threads, [[backend]]"),
// and the running values put back into the fresh configuration, so that it describes what runs.
std::string restart_only_changes(const Config& running, const Config& fresh);
void keep_restart_only(Config& fresh, const Config& running);

}  // namespace hostgate
