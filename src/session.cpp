#include "src/session.h"

#include <spdlog/spdlog.h>

#include "auth/grant_table.h"
#include "protocol/mysql_messages.h"
#include "protocol/proxy_protocol.h"
#include "src/native_password.h"
#include "src/relay.h"
#include "src/watchdog.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
namespace proxy = protocol::proxy;
namespace cap = protocol::mysql::cap;

// The largest packet a client may send before it is authenticated. A HandshakeResponse41 with
// 64 KiB of connection attributes fits; a flood of fake giant logins cannot hold much memory.
constexpr std::size_t kMaxHandshakePacket = 128 * 1024;

// Capabilities the proxy never passes on: it does not compress, and TLS is per leg.
constexpr std::uint32_t kPerLegCapabilities =
    cap::kCompress | cap::kSsl | cap::kZstdCompressionAlgorithm;

struct ErrorReply {
    std::uint16_t code;
    const char* sql_state;
    std::string message;
};

class Session {
  public:
    Session(Runtime& runtime, tcp::socket socket, std::uint32_t id)
        : rt_(runtime),
          config_(runtime.config()),
          id_(id),
          client_(std::move(socket)),
          client_channel_(client_, kMaxHandshakePacket) {}

    ~Session();
    awaitable<void> run();

  private:
    // The phases, in order; each returns false (or nothing) when the session is over.
    awaitable<bool> recover_client_address();
    awaitable<bool> check_rate();
    awaitable<bool> check_host();
    awaitable<bool> greet();
    awaitable<bool> sniff_late_proxy_header();
    awaitable<std::optional<mysql::HandshakeResponse41>> read_login();
    // The client's next connection-phase packet, which must carry `expected_sequence`.
    awaitable<std::optional<mysql::Packet>> read_handshake_packet(
        std::uint8_t expected_sequence, PacketChannel::ReadAhead read_ahead);
    awaitable<std::optional<auth::Rule>> check_grants(const mysql::HandshakeResponse41& login);
    awaitable<std::optional<BackendConnection>> connect_to_backend(
        const mysql::HandshakeResponse41& login, const auth::Rule& rule);
    awaitable<bool> authenticate(const mysql::HandshakeResponse41& login, const auth::Rule& rule);
    awaitable<void> relay(const mysql::HandshakeResponse41& login);
    // Refusing a client takes two statements: refuse() builds the ERR packet, then
    // `co_await send_refusal()` sends it and closes the client. g++ 12 destroys temporaries twice
    // when they stand in a co_await expression, so none may be built there.
    void refuse(std::uint8_t seq, const ErrorReply& e, bool with_sql_state = true);
    awaitable<void> send_refusal();
    std::string who() const;
    // One connection event: a log line "<who>: <reason>" and, with [audit], a JSON line.
    void report(spdlog::level::level_enum level, const char* event, const std::string& reason,
                AuditEvent details = {});
    // The session's own fields (session, client, via, user, db) added to an event.
    AuditEvent common(AuditEvent e) const;
    static std::string rule_text(const auth::Rule& r) {
        return r.account() + (r.line ? " (line " + std::to_string(r.line) + ")" : "");
    }
    auth::ClientHost client_host() const { return {client_addr_.address.unmapped(), std::nullopt}; }
    // Whether the client's first packet may be read together with what follows it: not when TLS
    // is offered, since an SSLRequest is followed by the TLS ClientHello.
    PacketChannel::ReadAhead first_packet_read_ahead() const {
        return rt_.client_tls ? PacketChannel::ReadAhead::never : PacketChannel::ReadAhead::allowed;
    }
    bool tls_to(const Backend& b) const {
        return b.config().tls == BackendTls::required ||
               (b.config().tls == BackendTls::mirror && client_.tls());
    }
    // Whether both the client and the backends we greeted for speak MariaDB's extensions.
    bool mariadb_extensions(const mysql::HandshakeResponse41& login) const {
        return !(login.capabilities & cap::kMysql) && !(offered_.capabilities & cap::kMysql);
    }
    // The capabilities the client took from our greeting, which every backend must have too.
    std::uint32_t taken_capabilities(const mysql::HandshakeResponse41& login) const {
        return login.capabilities & offered_capabilities_ & ~kPerLegCapabilities;
    }
    // Whether the backend is to re-challenge the client with its own AuthSwitchRequest: always,
    // except for a login with no auth data from a client without CLIENT_PLUGIN_AUTH (HAProxy's
    // mysql-check), which the backend checks as it stands.
    static bool forced_switch(const mysql::HandshakeResponse41& login) {
        return (login.capabilities & cap::kPluginAuth) || !login.auth_response.empty();
    }
    // The backend leg's capabilities: the client's, with CLIENT_PLUGIN_AUTH whenever the switch
    // is forced, since no server sends a switch otherwise.
    std::uint32_t backend_capabilities(const mysql::HandshakeResponse41& login, bool tls) const {
        return taken_capabilities(login) | (forced_switch(login) ? cap::kPluginAuth : 0) |
               (tls ? cap::kSsl : 0);
    }
    mysql::HandshakeResponse41 backend_login(const mysql::HandshakeResponse41& login,
                                             bool tls) const;
    // A client without CLIENT_PLUGIN_AUTH is sent the backend's switch to mysql_native_password
    // all the same: it signed our scramble, not the backend's, and such clients (Node.js mysqljs)
    // answer this one switch. Any other plugin it could not know; a server refuses it with 1251
    // too.
    static bool switch_reaches_client(const mysql::HandshakeResponse41& login,
                                      protocol::ByteSpan backend_packet) {
        if ((login.capabilities & cap::kPluginAuth) || backend_packet.empty() ||
            std::to_integer<std::uint8_t>(backend_packet[0]) != mysql::header::kAuthSwitch)
            return true;
        const auto request = mysql::decode_auth_switch_request(backend_packet);
        return request && request->plugin_name == kNativePassword;
    }

    Runtime& rt_;
    const std::shared_ptr<const Config> config_;  // as it was when the session started
    std::uint32_t id_;
    Stream client_;
    PacketChannel client_channel_;
    std::unique_ptr<Stream> backend_;

    protocol::Endpoint peer_, local_;
    protocol::Endpoint client_addr_;  // the real client
    protocol::Endpoint destination_;  // what the client connected to
    std::optional<protocol::Endpoint> via_;
    bool header_seen_ = false;
    ServerTraits offered_;
    std::uint32_t offered_capabilities_ = 0;
    std::uint8_t client_seq_ = 0;  // sequence id of the client's last packet
    std::string user_;
    const Backend* backend_info_ = nullptr;
    std::string db_;
    std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::optional<std::string> rule_place_;  // the rule whose MAX_USER_CONNECTIONS place we hold
    std::uint32_t backend_thread_ = 0;
    protocol::Bytes refusal_;  // the ERR packet refuse() sends
};

std::string Session::who() const {
    std::string s = "session " + std::to_string(id_) + " " + client_addr_.to_string();
    if (via_) s += " via " + via_->to_string();
    if (!user_.empty()) s += " user '" + user_ + "'";
    return s;
}

void Session::refuse(std::uint8_t seq, const ErrorReply& e, bool with_sql_state) {
    protocol::Bytes payload;
    mysql::encode_err({e.code, with_sql_state ? e.sql_state : "", e.message}, payload);
    refusal_.clear();
    mysql::write_packet(refusal_, seq, payload);
}

AuditEvent Session::common(AuditEvent e) const {
    e.session = id_;
    e.client = client_addr_.to_string();
    if (via_) e.via = via_->to_string();
    if (e.user.empty()) e.user = user_;
    if (e.db.empty()) e.db = db_;
    return e;
}

void Session::report(spdlog::level::level_enum level, const char* event, const std::string& reason,
                     AuditEvent details) {
    if (spdlog::should_log(level)) spdlog::log(level, "{}: {}", who(), reason);
    rt_.metrics.count_event(event);
    if (std::string_view(event) == "auth_ok")
        rt_.metrics.observe_handshake(std::chrono::steady_clock::now() - started_);
    if (std::string_view(event) == "disconnect") rt_.metrics.add_bytes(bytes_in_, bytes_out_);
    if (!rt_.audit) return;
    details.event = event;
    details.reason = reason;
    rt_.audit->record(common(std::move(details)));
}

awaitable<void> Session::send_refusal() {
    co_await client_channel_.write_raw(refusal_);
    client_.close();
}

awaitable<bool> Session::recover_client_address() {
    destination_ = local_;  // and client_addr_ is the peer, until a header says otherwise
    if (!config_->trusted_proxies.contains(peer_.address)) co_return true;
    via_ = peer_;
    if (config_->proxy_protocol == ProxyProtocolMode::optional &&
        client_.socket().available() == 0) {
        // Nothing waiting: serve at once, and sniff for a late header after the greeting.
        co_return true;
    }
    auto header = co_await client_channel_.read_proxy_header({});
    if (!header) {
        if (header.error().category() == proxy::error_category()) {
            report(spdlog::level::warn, "proxy_rejected",
                   "malformed PROXY header: " + header.error().message());
            refuse(0, {1105, "HY000", "Failed to parse proxy header"}, false);
            co_await send_refusal();
        } else {
            report(spdlog::level::info, "proxy_rejected",
                   "no PROXY header: " + header.error().message());
        }
        co_return false;
    }
    header_seen_ = true;
    if (auto client = header->client()) {
        client_addr_ = *client;
        destination_ = header->destination;
    }
    co_return true;
}

// After the greeting: a header here comes from a peer that may not send one (1130), or from a
// trusted peer in optional mode that sent it late.
awaitable<bool> Session::sniff_late_proxy_header() {
    auto first = co_await client_channel_.peek(4, first_packet_read_ahead());
    if (!first) co_return false;
    auto kind = proxy::detect(*first);
    if (kind == proxy::Detected::need_more) {  // the start of a signature: read all of it
        first = co_await client_channel_.peek(proxy::bytes_to_detect(*first),
                                              first_packet_read_ahead());
        if (!first) co_return false;
        kind = proxy::detect(*first);
    }
    if (kind == proxy::Detected::none) co_return true;

    if (!via_ || header_seen_) {
        report(spdlog::level::warn, "proxy_rejected",
               "PROXY header from a peer not in trusted_proxies");
        refuse(1, {1130, "HY000",
                   "Proxy header is not accepted from " + peer_.address.unmapped().to_string()});
        co_await send_refusal();
        co_return false;
    }
    auto header = co_await client_channel_.read_proxy_header({}, first_packet_read_ahead());
    if (!header) {
        report(spdlog::level::warn, "proxy_rejected",
               "malformed PROXY header: " + header.error().message());
        refuse(1, {1105, "HY000", "Failed to parse proxy header"});
        co_await send_refusal();
        co_return false;
    }
    header_seen_ = true;
    if (auto client = header->client()) {
        client_addr_ = *client;
        destination_ = header->destination;
        if (!rt_.grants()->host_allowed(client_host())) {
            report(spdlog::level::info, "denied_host", "no rule for this host");
            refuse(1, {1130, "HY000",
                       auth::deny_message(auth::DenyReason::no_rule_for_host, "", client_host(),
                                          false)});
            co_await send_refusal();
            co_return false;
        }
    }
    co_return true;
}

awaitable<std::optional<mysql::Packet>> Session::read_handshake_packet(
    std::uint8_t expected_sequence, PacketChannel::ReadAhead read_ahead) {
    auto packet = co_await client_channel_.read_packet(read_ahead);
    if (!packet) {
        if (packet.error() == mysql::errc::packet_too_large) {
            report(spdlog::level::warn, "bad_handshake",
                   fmt::format("a login packet over {} bytes", kMaxHandshakePacket));
            refuse(expected_sequence + 1,
                   {1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"});
            co_await send_refusal();
        }
        co_return std::nullopt;
    }
    client_seq_ = packet->last_sequence_id;
    if (packet->sequence_id != expected_sequence) {
        report(spdlog::level::warn, "bad_handshake",
               fmt::format("a login packet with sequence id {}, not {}", packet->sequence_id,
                           expected_sequence));
        refuse(client_seq_ + 1, {1156, "08S01", "Got packets out of order"});
        co_await send_refusal();
        co_return std::nullopt;
    }
    co_return std::move(*packet);
}

awaitable<std::optional<mysql::HandshakeResponse41>> Session::read_login() {
    auto packet = co_await read_handshake_packet(1, first_packet_read_ahead());
    if (!packet) co_return std::nullopt;
    if (mysql::is_ssl_request(packet->payload)) {
        if (!rt_.client_tls) {
            refuse(client_seq_ + 1, {1043, "08S01", "Bad handshake: TLS is not configured"});
            co_await send_refusal();
            co_return std::nullopt;
        }
        if (auto ec = co_await client_.start_tls_server(*rt_.client_tls)) {
            spdlog::info("{}: TLS handshake failed: {}", who(), ec.message());
            co_return std::nullopt;
        }
        packet = co_await read_handshake_packet(2, PacketChannel::ReadAhead::allowed);
        if (!packet) co_return std::nullopt;
    }
    auto login = mysql::decode_handshake_response(packet->payload);
    if (!login) {
        report(spdlog::level::info, "bad_handshake",
               "bad handshake response: " + login.error().message());
        refuse(client_seq_ + 1, {1043, "08S01", "Bad handshake"});
        co_await send_refusal();
        co_return std::nullopt;
    }
    co_return std::move(*login);
}

// The login sent to a backend for the client: its user, database and connect attributes, the
// capabilities it took from our greeting, no auth data and a plugin name no server knows, so that
// the backend answers with its own AuthSwitchRequest (the forced switch).
mysql::HandshakeResponse41 Session::backend_login(const mysql::HandshakeResponse41& login,
                                                  bool tls) const {
    mysql::HandshakeResponse41 forward;
    forward.capabilities = backend_capabilities(login, tls);
    forward.max_packet_size = login.max_packet_size;
    forward.character_set = login.character_set;
    forward.mariadb_capabilities =
        mariadb_extensions(login) ? (login.mariadb_capabilities & offered_.mariadb_capabilities)
                                  : 0;
    forward.username = login.username;
    forward.database = login.database;
    if (forced_switch(login)) forward.auth_plugin_name = std::string(kForcedSwitchPlugin);
    forward.connect_attributes = login.connect_attributes;
    return forward;
}

// Connects to the first healthy backend of the rule's group that answers. Without TLS to the
// backend, the login goes with the PROXY header, ahead of the greeting: one round trip less. It is
// built from the capabilities the backends greeted with before; authenticate() checks them against
// this greeting.
awaitable<std::optional<BackendConnection>> Session::connect_to_backend(
    const mysql::HandshakeResponse41& login, const auth::Rule& rule) {
    const std::string group = rule.options.backend.empty() ? "default" : rule.options.backend;
    const auto candidates = rt_.backends.group(group);
    if (candidates.empty()) {
        report(spdlog::level::err, "auth_failed",
               "rule " + rule.account() + " names backend group '" + group +
                   "', which has no backend");
        refuse(client_seq_ + 1,
               {2003, "HY000", "Can't connect to MySQL server: no backend group '" + group + "'"});
        co_await send_refusal();
        co_return std::nullopt;
    }
    // The first healthy backend of the group that answers.
    bool any_healthy = false;
    for (Backend* b : candidates) {
        if (!b->healthy()) continue;
        any_healthy = true;
        protocol::Bytes opening = proxy_header_for(*b, client_addr_, destination_);
        if (!tls_to(*b)) {
            protocol::Bytes payload;
            mysql::encode_handshake_response(backend_login(login, false), payload);
            mysql::write_packet(opening, 1, payload);
        }
        auto c = co_await connect_backend(*b, opening, config_->connect_timeout,
                                          config_->max_packet_size);
        if (!c) {
            spdlog::warn("{}: backend {}: {}", who(), b->describe(), c.error());
            continue;
        }
        backend_ = std::move(c->stream);
        backend_info_ = b;
        backend_thread_ = c->greeting.connection_id;
        co_return std::move(*c);
    }
    report(spdlog::level::warn, "auth_failed",
           any_healthy ? "no backend of group '" + group + "' answers"
                       : "every backend of group '" + group + "' is down (health monitor)");
    refuse(client_seq_ + 1, {2003, "HY000",
                             "Can't connect to MySQL server on '" +
                                 candidates.front()->config().address.to_string() + "'"});
    co_await send_refusal();
    co_return std::nullopt;
}

awaitable<bool> Session::authenticate(const mysql::HandshakeResponse41& login,
                                      const auth::Rule& rule) {
    auto connection = co_await connect_to_backend(login, rule);
    if (!connection) co_return false;
    const mysql::HandshakeV10& greeting = connection->greeting;
    const Backend* chosen = backend_info_;
    const std::string& backend_name = chosen->config().name;
    const bool backend_tls = tls_to(*chosen);

    // The client chose from what we offered; every such flag must hold on this backend too.
    const std::uint32_t missing = taken_capabilities(login) & ~greeting.capabilities;
    const std::uint32_t missing_ext =
        mariadb_extensions(login) ? (login.mariadb_capabilities & offered_.mariadb_capabilities &
                                     ~greeting.mariadb_capabilities)
                                  : 0;
    const bool dialect_changed = (greeting.capabilities ^ offered_.capabilities) & cap::kMysql;
    if (missing || missing_ext || dialect_changed) {
        report(spdlog::level::err, "auth_failed",
               fmt::format("backend {} lacks capabilities {:#x} (MariaDB {:#x}{}) that clients "
                           "were offered",
                           chosen->describe(), missing, missing_ext,
                           dialect_changed ? ", or their dialect" : ""));
        refuse(client_seq_ + 1,
               {1105, "HY000",
                "Backend " + backend_name + " changed its capabilities; please reconnect"});
        co_await send_refusal();
        co_return false;
    }

    PacketChannel backend_channel(*backend_, config_->max_packet_size,
                                  std::move(connection->received));
    std::uint8_t backend_seq = 1;  // the login's, when it went ahead of the greeting
    if (backend_tls) {
        const mysql::HandshakeResponse41 forward = backend_login(login, true);
        if (!(greeting.capabilities & cap::kSsl)) {
            report(spdlog::level::err, "auth_failed",
                   "backend " + chosen->describe() + " does not offer TLS");
            refuse(
                client_seq_ + 1,
                {2026, "HY000", "TLS/SSL error: backend " + backend_name + " does not offer TLS"});
            co_await send_refusal();
            co_return false;
        }
        protocol::Bytes ssl_request;
        mysql::encode_ssl_request({forward.capabilities, forward.max_packet_size,
                                   forward.character_set, forward.mariadb_capabilities},
                                  ssl_request);
        co_await backend_channel.write_packet(backend_seq++, ssl_request);
        if (auto ec = co_await backend_->start_tls_client(rt_.backend_tls)) {
            report(spdlog::level::err, "auth_failed",
                   "TLS to backend " + chosen->describe() + " failed: " + ec.message());
            refuse(client_seq_ + 1, {2026, "HY000", "TLS/SSL error: backend " + backend_name});
            co_await send_refusal();
            co_return false;
        }
        protocol::Bytes payload;
        mysql::encode_handshake_response(forward, payload);
        co_await backend_channel.write_packet(backend_seq, payload);
    }

    // The backend now runs the authentication; relay it both ways until its OK or ERR.
    const std::uint8_t offset = static_cast<std::uint8_t>(client_seq_ - backend_seq);
    for (;;) {
        auto from_backend = co_await backend_channel.read_packet();
        if (!from_backend) {
            report(spdlog::level::warn, "auth_failed",
                   "backend " + chosen->describe() +
                       " closed during authentication: " + from_backend.error().message());
            refuse(client_seq_ + 1,
                   {2013, "HY000", "Lost connection to MySQL server during query"});
            co_await send_refusal();
            co_return false;
        }
        const auto& p = from_backend->payload;
        if (!switch_reaches_client(login, p)) {
            report(spdlog::level::info, "auth_failed",
                   "the client lacks CLIENT_PLUGIN_AUTH and the account's plugin is not " +
                       std::string(kNativePassword));
            // Word for word what the backend itself would say.
            const bool mariadb = !(greeting.capabilities & cap::kMysql);
            std::string message = fmt::format(
                "Client does not support authentication protocol requested by server; consider "
                "upgrading {} client",
                mariadb ? "MariaDB" : "MySQL");
            refuse(client_seq_ + 1, {1251, "08004", std::move(message)});
            co_await send_refusal();
            co_return false;
        }
        co_await client_channel_.write_packet(
            static_cast<std::uint8_t>(from_backend->sequence_id + offset), p);
        const auto first = p.empty() ? 0xFF : std::to_integer<std::uint8_t>(p[0]);
        if (first == mysql::header::kOk) break;
        if (first == mysql::header::kErr) {
            const auto err = mysql::decode_err(p);
            report(
                spdlog::level::info, "auth_failed",
                "backend " + chosen->describe() + " refused the login: " +
                    (err ? std::to_string(err->error_code) + " " + err->message : "malformed ERR"),
                {.rule = rule.account(),
                 .backend = chosen->config().name,
                 .backend_id = greeting.connection_id,
                 .tls = client_.tls()});
            co_return false;
        }
        // caching_sha2_password's "fast auth success" is followed by OK without a client reply.
        if (first == mysql::header::kAuthMoreData && p.size() == 2 &&
            std::to_integer<std::uint8_t>(p[1]) == 3)
            continue;
        auto from_client = co_await client_channel_.read_packet();
        if (!from_client) co_return false;
        co_await backend_channel.write_packet(
            static_cast<std::uint8_t>(from_client->sequence_id - offset), from_client->payload);
    }
    // Servers send nothing after their OK until the next command, but pass on anything read.
    if (!backend_channel.buffered().empty() &&
        co_await client_channel_.write_raw(backend_channel.buffered()))
        co_return false;
    report(spdlog::level::info, "auth_ok",
           fmt::format("allowed by {}{} -> backend {} (thread {}){}", rule.account(),
                       rule.line ? " (line " + std::to_string(rule.line) + ")" : "",
                       chosen->describe(), greeting.connection_id,
                       client_.tls() ? " TLS " + client_.tls_description() : ""),
           {.rule = rule_text(rule),
            .backend = chosen->config().name,
            .backend_id = greeting.connection_id,
            .tls = client_.tls()});
    co_return true;
}

// [server] max_connect_rate_per_ip, counted by the real client address.
awaitable<bool> Session::check_rate() {
    if (rt_.connect_rate.admit(client_addr_.address, config_->max_connect_rate_per_ip,
                               std::chrono::steady_clock::now()))
        co_return true;
    report(spdlog::level::info, "denied_rate",
           fmt::format("over max_connect_rate_per_ip ({}/s)", config_->max_connect_rate_per_ip));
    refuse(0,
           {1040, "08004", "Too many connections from '" + client_host().address.to_string() + "'"},
           false);
    co_await send_refusal();
    co_return false;
}

awaitable<bool> Session::check_host() {
    if (rt_.grants()->host_allowed(client_host())) co_return true;
    report(spdlog::level::info, "denied_host",
           "refused before the greeting: no rule for this host");
    refuse(0,
           {1130, "HY000",
            auth::deny_message(auth::DenyReason::no_rule_for_host, "", client_host(), false)},
           false);
    co_await send_refusal();
    co_return false;
}

awaitable<bool> Session::greet() {
    auto traits = rt_.backends.greeting_traits();
    if (!traits) {
        for (Backend* b : rt_.backends.all()) co_await probe_backend(*b, config_->connect_timeout);
        traits = rt_.backends.greeting_traits();
    }
    if (!traits) {
        refuse(0, {2003, "HY000", "Can't connect to MySQL server: no backend answers"}, false);
        co_await send_refusal();
        co_return false;
    }
    offered_ = *traits;
    offered_capabilities_ = (traits->capabilities & ~kPerLegCapabilities) | cap::kPluginAuth |
                            cap::kSecureConnection | (rt_.client_tls ? cap::kSsl : 0);
    mysql::HandshakeV10 greeting;
    greeting.server_version = traits->server_version;
    greeting.connection_id = id_;
    greeting.auth_plugin_data = make_scramble();
    greeting.capabilities = offered_capabilities_;
    greeting.character_set = traits->character_set;
    greeting.status_flags = mysql::status::kAutocommit;
    greeting.mariadb_capabilities = traits->mariadb_capabilities;
    greeting.auth_plugin_name = "mysql_native_password";
    protocol::Bytes payload;
    mysql::encode_handshake_v10(greeting, payload);
    co_return !co_await client_channel_.write_packet(0, payload);
}

awaitable<std::optional<auth::Rule>> Session::check_grants(
    const mysql::HandshakeResponse41& login) {
    const auto grants = rt_.grants();
    const auth::Decision decision = grants->decide(login.username, client_host());
    if (decision.allowed() && (!decision.rule->options.require_ssl || client_.tls())) {
        const auth::Rule& rule = *decision.rule;
        unsigned current = 0;
        if (!rt_.rule_counters.acquire(rule.account(), rule.options.max_user_connections,
                                       current)) {
            report(spdlog::level::info, "denied_user",
                   fmt::format("{} has {} sessions, its MAX_USER_CONNECTIONS", rule.account(),
                               current),
                   {.rule = rule_text(rule)});
            refuse(client_seq_ + 1,
                   {1226, "42000",
                    "User '" + login.username +
                        "' has exceeded the 'max_user_connections' resource (current value: " +
                        std::to_string(current) + ")"});
            co_await send_refusal();
            co_return std::nullopt;
        }
        rule_place_ = rule.account();
        co_return rule;
    }

    if (decision.allowed()) {
        report(spdlog::level::info, "denied_user", decision.rule->account() + " requires TLS",
               {.rule = rule_text(*decision.rule)});
    } else {
        report(spdlog::level::info, "denied_user", "no rule for this user from this address");
    }
    refuse(client_seq_ + 1, {1045, "28000",
                             auth::deny_message(auth::DenyReason::no_rule_for_user, login.username,
                                                client_host(), !login.auth_response.empty())});
    co_await send_refusal();
    co_return std::nullopt;
}

awaitable<void> Session::relay(const mysql::HandshakeResponse41& login) {
    auto executor = co_await asio::this_coro::executor;
    auto stats = std::make_shared<SessionStats>();
    SessionEntry entry;
    entry.user = user_;
    entry.via = via_ ? via_->to_string() : "";
    entry.db = db_;
    entry.backend_name = backend_info_->config().name;
    entry.connected = started_;
    entry.stats = stats;
    entry.client = client_host();
    entry.client_port = client_addr_.port;
    entry.tls = client_.tls();
    entry.backend = backend_info_;
    entry.backend_thread = backend_thread_;
    entry.executor = executor;
    entry.terminate = [this] {
        client_.close();
        if (backend_) backend_->close();
    };
    rt_.sessions.add(id_, std::move(entry));
    RelayContext relay{.runtime = rt_,
                       .session_id = id_,
                       .backend = backend_info_,
                       .client = client_host(),
                       .client_capabilities = login.capabilities,
                       .backend_capabilities = backend_capabilities(login, backend_->tls()),
                       .character_set = login.character_set,
                       .user = user_,
                       .stats = *stats};
    relay.audit = [this](AuditEvent e) {
        const std::string event = e.event, reason = e.reason;
        report(spdlog::level::debug, event.c_str(), reason, std::move(e));
    };
    const RelayEnd end =
        co_await run_relay(relay, client_, client_channel_.take_buffered(), *backend_);
    bytes_in_ = stats->bytes_in.load();
    bytes_out_ = stats->bytes_out.load();
    rt_.sessions.remove(id_);
    backend_->close();
    if (const auto& refused = end.refused_change_user) {
        spdlog::info("{}: COM_CHANGE_USER to '{}' denied: no rule for this user from this address",
                     who(), refused->user);
        refuse(1, {1045, "28000",
                   auth::deny_message(auth::DenyReason::no_rule_for_user, refused->user,
                                      client_host(), refused->using_password)});
        co_await send_refusal();
    }
}

awaitable<void> Session::run() {
    std::error_code ec;
    peer_ = to_endpoint(client_.socket().remote_endpoint(ec));
    local_ = to_endpoint(client_.socket().local_endpoint(ec));
    if (ec) co_return;
    peer_.address = peer_.address.unmapped();
    client_.socket().set_option(tcp::no_delay(true), ec);

    client_addr_ = peer_;  // until a PROXY header says otherwise
    HandshakeSlot handshake_slot(rt_.handshakes_in_flight, config_->max_handshakes);
    if (!handshake_slot.held()) {
        report(spdlog::level::warn, "denied_rate",
               fmt::format("max_handshakes ({}) in flight", config_->max_handshakes));
        refuse(0, {1040, "08004", "Too many connections"}, false);
        co_await send_refusal();
        co_return;
    }
    // The handshake as a whole, backend login included, has handshake_timeout_ms.
    Watchdog handshake_deadline(co_await asio::this_coro::executor, config_->handshake_timeout,
                                [this] {
                                    client_.close();
                                    if (backend_) backend_->close();
                                });
    if (!co_await recover_client_address()) co_return;
    client_addr_.address = client_addr_.address.unmapped();
    if (rt_.audit) rt_.audit->record(common({.event = "connect"}));
    if (!co_await check_rate()) co_return;
    if (!co_await check_host()) co_return;
    if (!co_await greet()) co_return;
    if (!co_await sniff_late_proxy_header()) co_return;
    const auto login = co_await read_login();
    if (!login) co_return;
    user_ = login->username;
    db_ = login->database;
    const auto rule = co_await check_grants(*login);
    if (!rule) co_return;
    if (!co_await authenticate(*login, *rule)) {
        client_.close();
        if (backend_) backend_->close();
        co_return;
    }
    handshake_deadline.disarm();
    handshake_slot.release();

    co_await relay(*login);
    client_.close();
    report(
        spdlog::level::info, "disconnect", "closed",
        {.backend = backend_info_->config().name,
         .backend_id = backend_thread_,
         .tls = client_.tls(),
         .bytes_in = bytes_in_,
         .bytes_out = bytes_out_,
         .duration_s =
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()});
}

Session::~Session() {
    if (rule_place_) rt_.rule_counters.release(*rule_place_);
}

}  // namespace

awaitable<void> run_session(Runtime& runtime, tcp::socket socket, std::uint32_t id) {
    ++runtime.active_sessions;
    try {
        Session session(runtime, std::move(socket), id);
        co_await session.run();
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", id, e.what());
    }
    --runtime.active_sessions;
}

}  // namespace hostgate
