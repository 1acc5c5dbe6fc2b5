#include "src/session/session.h"

#include "auth/account_check.h"
#include "protocol/proxy_protocol.h"
#include "protocol/untrusted_text.h"
#include "src/session/native_password.h"
#include "src/session/relay.h"
#include "src/session/session_impl.h"
#include "src/session/watchdog.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace proxy = protocol::proxy;
namespace cap = protocol::mysql::cap;
using mysql::ServerError;

std::string Session::who() const {
    std::string s = "session " + std::to_string(id_) + " " + client_addr_.to_string();
    if (via_) s += " via " + via_->to_string();
    if (!endpoint_.empty()) s += " endpoint " + endpoint_;
    if (!user_.empty()) s += " user " + protocol::text::log_literal(user_);
    return s;
}

AuditEvent Session::with_session_fields(AuditEvent e) const {
    e.session = id_;
    e.client = client_addr_.to_string();
    if (via_) e.via = via_->to_string();
    e.endpoint = endpoint_;
    e.tls_subject = client_tls_.facts.subject;
    if (proxy_tls_)
        e.proxy_tls =
            describe(*proxy_tls_) +
            (config_->accept_proxy_tls ? "" : " (not counted: server.accept_proxy_tls is off)");
    if (e.user.empty()) e.user = user_;
    if (e.db.empty()) e.db = db_;
    return e;
}

void Session::report(spdlog::level::level_enum level, SessionEvent event, const std::string& reason,
                     AuditEvent details) {
    if (spdlog::should_log(level)) spdlog::log(level, "{}: {}", who(), reason);
    rt_.metrics.count_event(event);
    if (event == SessionEvent::auth_ok)
        rt_.metrics.observe_handshake(std::chrono::steady_clock::now() - started_);
    if (event == SessionEvent::disconnect) rt_.metrics.add_bytes(bytes_in_, bytes_out_);
    if (!rt_.records_events()) return;
    details.event = event;
    details.reason = reason;
    rt_.record(with_session_fields(std::move(details)));
}

namespace {

RefusalReason refusal_reason(auth::AccountDenial::Kind kind) {
    switch (kind) {
        case auth::AccountDenial::Kind::user_name_too_long:
            return RefusalReason::user_name_too_long;
        case auth::AccountDenial::Kind::no_rule_for_user:
            return RefusalReason::no_rule_for_user;
        case auth::AccountDenial::Kind::require_not_met:
            return RefusalReason::require_not_met;
        case auth::AccountDenial::Kind::max_user_connections:
            return RefusalReason::max_user_connections;
    }
    return RefusalReason::no_rule_for_user;
}

}  // namespace

void Session::report(spdlog::level::level_enum level, RefusalReason why, const std::string& reason,
                     AuditEvent details) {
    rt_.metrics.count_refusal(why);
    report(level, info(why).event, reason, std::move(details));
}

awaitable<void> Session::end(const Ended& ended) {
    if (ended.refusal) {
        const protocol::Bytes wire = ended.refusal->wire();
        co_await client_channel_.write_raw(wire);
    }
    client_.close();
    if (backend_) backend_->close();
}

Session::Phase<> Session::recover_client_address() {
    destination_ = local_;  // and client_addr_ is the peer, until a header says otherwise
    if (!config_->trusted_proxies.contains(peer_.address)) co_return proceed();
    via_ = peer_;
    if (client_.available() == 0) {
        // Nothing waiting: greet at once, as a MySQL server speaks first. A balancer that sends its
        // header together with the client's first bytes (AWS NLB's default placement) sends it
        // after the greeting; sniff_late_proxy_header() reads it there.
        co_return proceed();
    }
    co_return co_await take_proxy_header(false);
}

// The header a trusted peer sent, before the greeting or (`greeted`) after it. Exactly the header
// when TLS is offered: bytes read past it would be taken as if they had come inside TLS.
Session::Phase<> Session::take_proxy_header(bool greeted) {
    auto header = co_await client_channel_.read_proxy_header({}, first_packet_read_ahead());
    if (!header) {
        if (header.error().category() != proxy::error_category()) {
            report(spdlog::level::info, RefusalReason::proxy_header_missing,
                   "no PROXY header: " + header.error().message());
            co_return end_quietly();
        }
        report(spdlog::level::warn, RefusalReason::proxy_header_malformed,
               "malformed PROXY header: " + header.error().message());
        auto error =
            mysql::server_error(ServerError::unknown_error, "Failed to parse proxy header");
        co_return end_with(greeted ? Refusal::answering(0, std::move(error))
                                   : Refusal::before_greeting(std::move(error)));
    }
    header_seen_ = true;
    if (auto client = header->client()) {
        client_addr_ = *client;
        client_addr_.address = client_addr_.address.normalized();
        destination_ = header->destination;
    }
    if (const proxy::Tlv* endpoint = header->cloud_endpoint_tlv()) {
        endpoint_tlv_ = *endpoint;
        endpoint_ = header->cloud_endpoint()->id;
    }
    if (const proxy::Tlv* ssl = header->find(proxy::tlv_type::kSsl))
        if (auto decoded = proxy::decode_ssl_tlv(ssl->value)) proxy_tls_ = from_ssl_tlv(*decoded);
    co_return proceed();
}

// After the greeting: a header here comes from a peer that may not send one (1130), or from a
// trusted peer that sent it late: with the client's first bytes, or at all only in optional mode.
Session::Phase<> Session::sniff_late_proxy_header() {
    // A trusted peer that has sent no header yet owes one in required mode.
    const bool owed =
        via_ && !header_seen_ && config_->proxy_protocol == ProxyProtocolMode::required;
    auto first = co_await client_channel_.peek(4, first_packet_read_ahead());
    auto kind = first ? proxy::detect(*first) : proxy::Detected::none;
    if (first && kind == proxy::Detected::need_more) {  // the start of a signature: all of it
        first = co_await client_channel_.peek(proxy::bytes_to_detect(*first),
                                              first_packet_read_ahead());
        if (first) kind = proxy::detect(*first);
    }
    if (!first) {
        if (owed)
            report(spdlog::level::info, RefusalReason::proxy_header_missing,
                   "no PROXY header: " + first.error().message());
        co_return end_quietly();
    }
    if (kind == proxy::Detected::none) {
        if (!owed) co_return proceed();
        report(spdlog::level::warn, RefusalReason::proxy_header_missing,
               "no PROXY header before the login from a trusted peer (proxy_protocol = "
               "\"required\")");
        // What came is the client's login (sequence id 1): the refusal answers it.
        co_return end_with(Refusal::answering(
            1, mysql::server_error(ServerError::unknown_error,
                                   "Proxy header is required from " + peer_.address.to_string())));
    }

    if (!via_ || header_seen_) {
        report(spdlog::level::warn, RefusalReason::proxy_header_untrusted,
               "PROXY header from a peer not in trusted_proxies");
        co_return end_with(Refusal::answering(
            0,
            mysql::server_error(ServerError::host_not_privileged,
                                "Proxy header is not accepted from " + peer_.address.to_string())));
    }
    co_return co_await take_proxy_header(true);
}

Session::Phase<mysql::Packet> Session::read_handshake_packet(std::uint8_t expected_sequence,
                                                             PacketChannel::ReadAhead read_ahead) {
    auto packet = co_await client_channel_.read_packet(read_ahead);
    if (!packet) {
        if (packet.error() != mysql::errc::packet_too_large) co_return end_quietly();
        report(spdlog::level::warn, RefusalReason::bad_handshake,
               fmt::format("a login packet over {} bytes", kMaxLoginPacket));
        co_return end_with(Refusal::answering(expected_sequence,
                                              mysql::server_error(ServerError::packet_too_large)));
    }
    client_seq_ = packet->last_sequence_id;
    if (packet->sequence_id != expected_sequence) {
        report(spdlog::level::warn, RefusalReason::bad_handshake,
               fmt::format("a login packet with sequence id {}, not {}", packet->sequence_id,
                           expected_sequence));
        co_return refuse(mysql::server_error(ServerError::packets_out_of_order));
    }
    co_return std::move(*packet);
}

Session::Phase<mysql::HandshakeResponse41> Session::read_login() {
    auto packet = co_await read_handshake_packet(1, first_packet_read_ahead());
    if (!packet) co_return Unexpected(packet.error());
    if (mysql::is_ssl_request(packet->payload)) {
        if (!rt_.client_tls)
            co_return refuse(mysql::server_error(ServerError::bad_handshake,
                                                 "Bad handshake: TLS is not configured"));
        if (!client_channel_.buffered().empty()) {
            // Plaintext sent behind the SSLRequest would be read as if it had come inside TLS
            // (the STARTTLS injection): nothing may be waiting when TLS starts.
            report(spdlog::level::warn, RefusalReason::bad_handshake,
                   fmt::format("{} bytes sent behind the SSLRequest, before TLS: closed",
                               client_channel_.buffered().size()));
            co_return end_quietly();
        }
        if (auto ec = co_await client_.start_tls_server(*rt_.client_tls)) {
            spdlog::info("{}: TLS handshake failed: {}", who(), ec.message());
            co_return end_quietly();
        }
        packet = co_await read_handshake_packet(2, PacketChannel::ReadAhead::allowed);
        if (!packet) co_return Unexpected(packet.error());
    }
    auto login = mysql::decode_handshake_response(packet->payload);
    if (!login) {
        report(spdlog::level::info, RefusalReason::bad_handshake,
               "bad handshake response: " + login.error().message());
        co_return refuse(mysql::server_error(ServerError::bad_handshake));
    }
    co_return std::move(*login);
}

// The connect event, then [server] max_connect_rate_per_ip and the host check, by the real client
// address.
Session::Phase<> Session::admit(bool greeted) {
    if (rt_.records_events()) rt_.record(with_session_fields({.event = SessionEvent::connect}));
    // A refusal takes the place of the greeting. After it, the refusal answers the login: the
    // client may have sent it before the header arrived, and a strict client (PyMySQL, mysql2)
    // takes an answer at any other sequence id for a broken stream.
    auto refusal = [&](mysql::ErrPacket e) -> Expected<void, Ended> {
        if (!greeted) return end_with(Refusal::before_greeting(std::move(e)));
        refusal_for_login_ = std::move(e);
        return proceed();
    };
    if (!rt_.connect_rate.admit(client_addr_.address, config_->max_connect_rate_per_ip,
                                std::chrono::steady_clock::now())) {
        report(
            spdlog::level::info, RefusalReason::connect_rate,
            fmt::format("over max_connect_rate_per_ip ({}/s)", config_->max_connect_rate_per_ip));
        co_return refusal(mysql::server_error(
            ServerError::too_many_connections,
            "Too many connections from '" + client_host().address.to_string() + "'"));
    }
    if (!rt_.grants()->host_allowed(client_host())) {
        report(spdlog::level::info, RefusalReason::no_rule_for_host,
               greeted ? "no rule for this host"
                       : "refused before the greeting: no rule for this host");
        co_return refusal(mysql::server_error(
            ServerError::host_not_privileged,
            auth::deny_message(auth::DenyReason::no_rule_for_host, "", client_host(), false)));
    }
    co_return proceed();
}

Session::Phase<> Session::greet() {
    auto traits = rt_.backends.greeting_traits();
    if (!traits) {
        co_await probe_all(rt_.backends.all(), config_->connect_timeout);
        traits = rt_.backends.greeting_traits();
    }
    if (!traits) {
        report(spdlog::level::warn, RefusalReason::no_backend, "no backend answers to greet with");
        co_return end_with(
            Refusal::before_greeting(mysql::server_error(ServerError::cannot_connect)));
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
    if (co_await client_channel_.write_packet(0, payload)) co_return end_quietly();
    co_return proceed();
}

Session::Phase<auth::Rule> Session::check_grants(const mysql::HandshakeResponse41& login) {
    co_return grant(login);
}

Expected<auth::Rule, Session::Ended> Session::grant(const mysql::HandshakeResponse41& login) {
    const auto checked =
        auth::check_account(*rt_.grants(), {.user = login.username,
                                            .client = client_host(),
                                            .tls = client_tls_.facts,
                                            .using_password = !login.auth_response.empty(),
                                            .max_user_name_length = config_->max_user_name_length});
    const auto denied =
        checked ? rt_.rule_counters.take(*checked, login.username) : std::optional(checked.error());
    if (denied) {
        report(spdlog::level::info, refusal_reason(denied->kind), denied->reason,
               {.rule = denied->rule ? rule_text(*denied->rule) : ""});
        return refuse(denied->error);
    }
    counted_rule_ = checked->key();
    return *checked;
}

void Session::note_login(const mysql::HandshakeResponse41& login) {
    user_ = login.username;
    db_ = login.database;
    if (client_.tls()) {
        client_tls_ = client_.client_tls();
    } else if (proxy_tls_ && config_->accept_proxy_tls) {
        client_tls_ = *proxy_tls_;
    }
}

std::vector<proxy::Tlv> Session::header_tlvs(const BackendConfig& backend) const {
    std::vector<proxy::Tlv> tlvs;
    if (client_tls_.facts.tls &&
        (backend.has_tlv("ssl") || backend.has_tlv("cn") || backend.has_tlv("client_cert")))
        tlvs.push_back({proxy::tlv_type::kSsl,
                        proxy::encode_ssl_tlv(ssl_tlv_for(client_tls_, backend.has_tlv("cn"),
                                                          backend.has_tlv("client_cert")))});
    auto text = [](std::uint8_t type, std::string_view value) {
        const auto bytes = protocol::as_bytes(value);
        return proxy::Tlv{type, protocol::Bytes(bytes.begin(), bytes.end())};
    };
    if (backend.has_tlv("authority") && !client_tls_.server_name.empty())
        tlvs.push_back(text(proxy::tlv_type::kAuthority, client_tls_.server_name));
    if (backend.has_tlv("unique_id"))
        tlvs.push_back(text(proxy::tlv_type::kUniqueId, rt_.unique_id(id_)));
    if (backend.has_tlv("endpoint") && endpoint_tlv_) tlvs.push_back(*endpoint_tlv_);
    return tlvs;
}

SessionEntry Session::registry_entry(std::shared_ptr<SessionStats> stats,
                                     asio::any_io_executor executor) {
    SessionEntry entry;
    entry.user = user_;
    entry.via = via_ ? via_->to_string() : "";
    entry.db = db_;
    entry.backend_name = backend_info_->config().name;
    entry.connected = started_;
    entry.stats = std::move(stats);
    entry.client = client_host();
    entry.client_port = client_addr_.port;
    entry.tls = client_tls_.facts;
    entry.backend = backend_info_;
    entry.backend_thread = backend_thread_;
    entry.executor = std::move(executor);
    entry.terminate = [this] {
        client_.close();
        if (backend_) backend_->close();
    };
    return entry;
}

awaitable<Session::Ended> Session::relay(const mysql::HandshakeResponse41& login) {
    auto executor = co_await asio::this_coro::executor;
    auto stats = std::make_shared<SessionStats>();
    rt_.sessions.add(id_, registry_entry(stats, executor));
    ++backend_info_->sessions;
    RelayContext relay{.runtime = rt_,
                       .session_id = id_,
                       .backend = backend_info_,
                       .client = client_host(),
                       .client_capabilities = login.capabilities,
                       .backend_capabilities = backend_capabilities(login, offer_, backend_->tls()),
                       .backend_mariadb_capabilities = backend_mariadb_capabilities(login, offer_),
                       .character_set = login.character_set,
                       .client_tls = client_tls_.facts,
                       .max_user_name_length = config_->max_user_name_length,
                       .user = user_,
                       .counted_rule = counted_rule_,
                       .stats = *stats};
    relay.audit = [this](AuditEvent e) {
        const SessionEvent event = e.event;
        const std::string reason = e.reason;
        report(spdlog::level::debug, event, reason, std::move(e));
    };
    const RelayEnd end =
        co_await run_relay(relay, client_, client_channel_.take_buffered(), *backend_);
    bytes_in_ = stats->bytes_in.load();
    bytes_out_ = stats->bytes_out.load();
    rt_.sessions.remove(id_);
    --backend_info_->sessions;
    if (!end.error) co_return Ended{};
    co_return Ended{Refusal::answering(0, *end.error)};
}

Session::Phase<> Session::admit_and_greet() {
    const auto recovered = co_await recover_client_address();
    if (!recovered) co_return Unexpected(recovered.error());
    // In optional mode a trusted peer that has sent nothing yet may send its header after the
    // greeting: who the client is, for the rate limit, the host check and the connect event, is
    // known only then.
    const bool late_header_possible = via_ && !header_seen_;
    if (!late_header_possible) {
        const auto admitted = co_await admit(false);
        if (!admitted) co_return Unexpected(admitted.error());
    }
    const auto greeted = co_await greet();
    if (!greeted) co_return Unexpected(greeted.error());
    const auto sniffed = co_await sniff_late_proxy_header();
    if (!sniffed) co_return Unexpected(sniffed.error());
    if (late_header_possible) {
        const auto admitted = co_await admit(true);
        if (!admitted) co_return Unexpected(admitted.error());
    }
    co_return proceed();
}

Session::Phase<mysql::HandshakeResponse41> Session::handshake() {
    const auto greeted = co_await admit_and_greet();
    if (!greeted) co_return Unexpected(greeted.error());
    auto login = co_await read_login();
    if (!login) co_return Unexpected(login.error());
    note_login(*login);
    if (refusal_for_login_) co_return refuse(*refusal_for_login_);
    const auto authenticated = co_await authorize_and_authenticate(*login);
    if (!authenticated) co_return Unexpected(authenticated.error());
    co_return std::move(*login);
}

Session::Phase<> Session::authorize_and_authenticate(const mysql::HandshakeResponse41& login) {
    const auto rule = co_await check_grants(login);
    if (!rule) co_return Unexpected(rule.error());
    co_return co_await authenticate(login, *rule);
}

awaitable<void> Session::run() {
    peer_ = client_.remote_endpoint();
    local_ = client_.local_endpoint();
    if (peer_.port == 0) co_return;  // gone already
    peer_.address = peer_.address.normalized();
    client_.set_no_delay();

    client_addr_ = peer_;  // until a PROXY header says otherwise
    Slot handshake_slot(rt_.handshakes_in_flight, config_->max_handshakes);
    // The handshake as a whole, backend login included, has handshake_timeout_ms.
    Watchdog handshake_deadline(co_await asio::this_coro::executor, config_->handshake_timeout,
                                [this] {
                                    client_.close();
                                    if (backend_) backend_->close();
                                });
    if (!handshake_slot.held()) {
        report(spdlog::level::warn, RefusalReason::max_handshakes,
               fmt::format("max_handshakes ({}) in flight", config_->max_handshakes));
        const Ended ended{
            Refusal::before_greeting(mysql::server_error(ServerError::too_many_connections))};
        co_await end(ended);
        co_return;
    }
    const auto login = co_await handshake();
    if (!login) {
        co_await end(login.error());
        co_return;
    }
    handshake_deadline.disarm();
    handshake_slot.release();

    const Ended ended = co_await relay(*login);
    co_await end(ended);
    report(
        spdlog::level::info, SessionEvent::disconnect, "closed",
        {.backend = backend_info_->config().name,
         .backend_id = backend_thread_,
         .tls = client_.tls(),
         .bytes_in = bytes_in_,
         .bytes_out = bytes_out_,
         .duration_s =
             std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()});
}

Session::~Session() {
    if (counted_rule_) rt_.rule_counters.release(*counted_rule_);
}

awaitable<void> run_session(Runtime& runtime, Stream client, std::uint32_t id) {
    ++runtime.active_sessions;
    try {
        Session session(runtime, std::move(client), id);
        co_await session.run();
    } catch (const std::exception& e) {
        spdlog::error("session {}: {}", id, e.what());
    }
    --runtime.active_sessions;
}

}  // namespace hostgate
