#include "src/session.h"

#include "protocol/proxy_protocol.h"
#include "protocol/untrusted_text.h"
#include "src/native_password.h"
#include "src/relay.h"
#include "src/session_impl.h"
#include "src/watchdog.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace proxy = protocol::proxy;
namespace cap = protocol::mysql::cap;

std::string Session::who() const {
    std::string s = "session " + std::to_string(id_) + " " + client_addr_.to_string();
    if (via_) s += " via " + via_->to_string();
    if (!user_.empty()) s += " user " + protocol::text::log_literal(user_);
    return s;
}

void Session::refuse(std::uint8_t seq, const mysql::ErrPacket& e, bool with_sql_state) {
    protocol::Bytes payload;
    mysql::encode_err({e.error_code, with_sql_state ? e.sql_state : "", e.message}, payload);
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
    // Exactly the header when TLS is offered: bytes read past it would be taken as if they had
    // come inside TLS.
    auto header = co_await client_channel_.read_proxy_header({}, first_packet_read_ahead());
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
                   "Proxy header is not accepted from " + peer_.address.normalized().to_string()});
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
        client_addr_.address = client_addr_.address.normalized();
        destination_ = header->destination;
    }
    co_return true;
}

awaitable<std::optional<mysql::Packet>> Session::read_handshake_packet(
    std::uint8_t expected_sequence, PacketChannel::ReadAhead read_ahead) {
    auto packet = co_await client_channel_.read_packet(read_ahead);
    if (!packet) {
        if (packet.error() == mysql::errc::packet_too_large) {
            report(spdlog::level::warn, "bad_handshake",
                   fmt::format("a login packet over {} bytes", kMaxLoginPacket));
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
        if (!client_channel_.buffered().empty()) {
            // Plaintext sent behind the SSLRequest would be read as if it had come inside TLS
            // (the STARTTLS injection): nothing may be waiting when TLS starts.
            report(spdlog::level::warn, "bad_handshake",
                   fmt::format("{} bytes sent behind the SSLRequest, before TLS: closed",
                               client_channel_.buffered().size()));
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

// The connect event, then [server] max_connect_rate_per_ip and the host check, by the real client
// address.
awaitable<bool> Session::admit(bool greeted) {
    if (rt_.audit) rt_.audit->record(common({.event = "connect"}));
    // A refusal takes the place of the greeting (sequence id 0, no SQL state, as MySQL sends it),
    // or answers the login after it.
    auto refusal = [&](mysql::ErrPacket e) {
        if (greeted) {
            refuse(1, e);
        } else {
            refuse(0, e, false);
        }
    };
    if (!rt_.connect_rate.admit(client_addr_.address, config_->max_connect_rate_per_ip,
                                std::chrono::steady_clock::now())) {
        report(
            spdlog::level::info, "denied_rate",
            fmt::format("over max_connect_rate_per_ip ({}/s)", config_->max_connect_rate_per_ip));
        refusal({1040, "08004",
                 "Too many connections from '" + client_host().address.to_string() + "'"});
        co_await send_refusal();
        co_return false;
    }
    if (!rt_.grants()->host_allowed(client_host())) {
        report(spdlog::level::info, "denied_host",
               greeted ? "no rule for this host"
                       : "refused before the greeting: no rule for this host");
        refusal({1130, "HY000",
                 auth::deny_message(auth::DenyReason::no_rule_for_host, "", client_host(), false)});
        co_await send_refusal();
        co_return false;
    }
    co_return true;
}

awaitable<bool> Session::greet() {
    auto traits = rt_.backends.greeting_traits();
    if (!traits) {
        co_await probe_all(rt_.backends.all(), config_->connect_timeout);
        traits = rt_.backends.greeting_traits();
    }
    if (!traits) {
        report(spdlog::level::warn, "auth_failed", "no backend answers to greet with");
        refuse(0, {2003, "HY000", "Can't connect to MySQL server"}, false);
        co_await send_refusal();
        co_return false;
    }
    offer_.backends = *traits;
    offer_.capabilities = (traits->capabilities & ~kWithheldCapabilities) | cap::kPluginAuth |
                          cap::kSecureConnection | (rt_.client_tls ? cap::kSsl : 0);
    mysql::HandshakeV10 greeting;
    greeting.server_version = traits->server_version;
    greeting.connection_id = id_;
    greeting.auth_plugin_data = make_scramble();
    greeting.capabilities = offer_.capabilities;
    greeting.character_set = traits->character_set;
    greeting.status_flags = mysql::status::kAutocommit;
    greeting.mariadb_capabilities = traits->mariadb_capabilities & ~kWithheldMariadbCapabilities;
    greeting.auth_plugin_name = std::string(kNativePassword);
    protocol::Bytes payload;
    mysql::encode_handshake_v10(greeting, payload);
    co_return !co_await client_channel_.write_packet(0, payload);
}

awaitable<std::optional<auth::Rule>> Session::check_grants(
    const mysql::HandshakeResponse41& login) {
    if (const std::size_t n = protocol::text::characters(login.username);
        n > config_->max_user_name_length) {
        // No server takes such a name: refused before the grants, and the name in the error cut
        // to the limit.
        report(spdlog::level::info, "denied_user",
               fmt::format("a user name of {} characters, over max_user_name_length ({})", n,
                           config_->max_user_name_length));
        refuse(client_seq_ + 1,
               {1045, "28000",
                auth::deny_message(
                    auth::DenyReason::no_rule_for_user,
                    protocol::text::first_characters(login.username, config_->max_user_name_length),
                    client_host(), !login.auth_response.empty())});
        co_await send_refusal();
        co_return std::nullopt;
    }
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
                   {1226, "42000", auth::max_user_connections_message(login.username, current)});
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
                       .backend_capabilities = backend_capabilities(login, offer_, backend_->tls()),
                       .backend_mariadb_capabilities = backend_mariadb_capabilities(login, offer_),
                       .character_set = login.character_set,
                       .client_tls = client_.tls(),
                       .max_user_name_length = config_->max_user_name_length,
                       .user = user_,
                       .rule_place = rule_place_,
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
    if (end.error) {
        refuse(1, *end.error);
        co_await send_refusal();
    }
}

awaitable<void> Session::run() {
    std::error_code ec;
    peer_ = to_endpoint(client_.socket().remote_endpoint(ec));
    local_ = to_endpoint(client_.socket().local_endpoint(ec));
    if (ec) co_return;
    peer_.address = peer_.address.normalized();
    client_.socket().set_option(tcp::no_delay(true), ec);

    client_addr_ = peer_;  // until a PROXY header says otherwise
    Slot handshake_slot(rt_.handshakes_in_flight, config_->max_handshakes);
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
    client_addr_.address = client_addr_.address.normalized();
    // In optional mode a trusted peer that has sent nothing yet may send its header after the
    // greeting: who the client is, for the rate limit, the host check and the connect event, is
    // known only then.
    const bool late_header_possible = via_ && !header_seen_;
    if (!late_header_possible && !co_await admit(false)) co_return;
    if (!co_await greet()) co_return;
    if (!co_await sniff_late_proxy_header()) co_return;
    if (late_header_possible && !co_await admit(true)) co_return;
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
