// The backend side of a session: a backend of the rule's group, the login in the client's name
// (src/session/backend_login.h), and the authentication relayed between the backend and the client.
#include "protocol/untrusted_text.h"
#include "src/session/native_password.h"
#include "src/session/session_impl.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace cap = protocol::mysql::cap;

using mysql::ServerError;

// Before the backend's OK the client is not authenticated: what it is told names no backend, group
// or address (ServerError::cannot_connect, tls_error). The log has the details.

// Connects to the first healthy backend of the rule's group that answers. Without TLS to the
// backend, the login goes with the PROXY header, ahead of the greeting: one round trip less. It is
// built from the capabilities the backends greeted with before; authenticate() checks them against
// this greeting.
Session::Phase<BackendConnection> Session::connect_to_backend(
    const mysql::HandshakeResponse41& login, const auth::Rule& rule) {
    const std::string group = rule.options.backend.empty() ? "default" : rule.options.backend;
    const auto candidates = rt_.backends.group(group);
    if (candidates.empty()) {
        report(spdlog::level::err, RefusalReason::no_backend,
               "rule " + rule.account() + " names backend group '" + group +
                   "', which has no backend");
        co_return refuse(mysql::server_error(ServerError::cannot_connect));
    }
    // The first healthy backend of the group that answers.
    bool any_healthy = false;
    Backend* header_suspected = nullptr;  // reached, then closed or silent after the header
    std::string header_suspicion;
    for (Backend* b : candidates) {
        if (!b->healthy()) continue;
        any_healthy = true;
        protocol::Bytes opening =
            proxy_header_for(b->config(), client_addr_, destination_, header_tlvs(b->config()));
        if (!tls_to(*b)) {
            protocol::Bytes payload;
            mysql::encode_handshake_response(backend_login(login, offer_, false), payload);
            mysql::write_packet(opening, 1, payload);
        }
        auto c = co_await connect_backend(*b, opening, config_->connect_timeout,
                                          config_->max_packet_size);
        if (!c) {
            spdlog::warn("{}: backend {}: {}", who(), b->describe(), c.error().what);
            if (c.error().header_suspected) {
                header_suspected = b;
                header_suspicion = c.error().what;
            }
            continue;
        }
        backend_ = std::move(c->stream);
        backend_info_ = b;
        backend_thread_ = c->greeting.connection_id;
        co_return std::move(*c);
    }
    if (header_suspected) co_return header_not_accepted(*header_suspected, header_suspicion);
    report(spdlog::level::warn, RefusalReason::no_backend,
           any_healthy ? "no backend of group '" + group + "' answers"
                       : "every backend of group '" + group + "' is down (health monitor)");
    co_return refuse(mysql::server_error(ServerError::cannot_connect));
}

Session::Phase<> Session::authenticate(const mysql::HandshakeResponse41& login,
                                       const auth::Rule& rule) {
    auto connection = co_await connect_to_backend(login, rule);
    if (!connection) co_return Unexpected(connection.error());
    const mysql::HandshakeV10& greeting = connection->greeting;

    // The client chose from what we offered; every such flag must hold on this backend too.
    if (const auto mismatch = greeting_mismatch(login, offer_, greeting)) {
        report(spdlog::level::err, RefusalReason::backend_error,
               "backend " + backend_info_->describe() + " " + *mismatch);
        co_return refuse(mysql::server_error(
            ServerError::unknown_error, "The server changed its capabilities; please reconnect"));
    }
    PacketChannel backend_channel(*backend_, config_->max_packet_size,
                                  std::move(connection->received));
    std::uint8_t backend_seq = 1;  // the login's, when it went ahead of the greeting
    if (tls_to(*backend_info_)) {
        if (auto r = co_await start_backend_tls(login, greeting, backend_channel, backend_seq); !r)
            co_return Unexpected(r.error());
    }
    co_return co_await relay_authentication(login, rule, greeting, backend_channel, backend_seq);
}

// The SSLRequest, TLS, and the login inside it; `backend_seq` is left at the login's.
Session::Phase<> Session::start_backend_tls(const mysql::HandshakeResponse41& login,
                                            const mysql::HandshakeV10& greeting,
                                            PacketChannel& backend_channel,
                                            std::uint8_t& backend_seq) {
    const mysql::HandshakeResponse41 forward = backend_login(login, offer_, true);
    if (!(greeting.capabilities & cap::kSsl)) {
        report(spdlog::level::err, RefusalReason::backend_error,
               "backend " + backend_info_->describe() + " does not offer TLS");
        co_return refuse(mysql::server_error(ServerError::tls_error));
    }
    protocol::Bytes ssl_request;
    mysql::encode_ssl_request({forward.capabilities, forward.max_packet_size, forward.character_set,
                               forward.mariadb_capabilities},
                              ssl_request);
    co_await backend_channel.write_packet(backend_seq++, ssl_request);
    if (auto ec = co_await backend_->start_tls_client(rt_.backend_tls)) {
        // A backend that does not take the header answers the SSLRequest with an ERR, which the
        // TLS handshake reads as garbage: ask it again, in plaintext, to tell.
        if (backend_info_->config().proxy_protocol != BackendProxyProtocol::off) {
            const protocol::Bytes header =
                proxy_header_for(backend_info_->config(), client_addr_, destination_,
                                 header_tlvs(backend_info_->config()));
            auto refusal = co_await ask_whether_header_refused(*backend_info_, header, ssl_request,
                                                               config_->connect_timeout);
            if (refusal) co_return header_refused(*refusal);
        }
        backend_info_->record_failure("TLS failed: " + ec.message());
        report(spdlog::level::err, RefusalReason::backend_error,
               "TLS to backend " + backend_info_->describe() + " failed: " + ec.message());
        co_return refuse(mysql::server_error(ServerError::tls_error));
    }
    protocol::Bytes payload;
    mysql::encode_handshake_response(forward, payload);
    co_await backend_channel.write_packet(backend_seq, payload);
    co_return proceed();
}

// The backend does not take hostgate's PROXY header: a misconfiguration on the backend, said at
// error level once a minute with the fix, and in each session's auth_failed event.
Unexpected<Session::Ended> Session::header_not_accepted(const Backend& backend,
                                                        const std::string& why) {
    backend.log_header_refusal(why);
    report(spdlog::level::debug, RefusalReason::backend_error,
           "backend " + backend.describe() + " " + why);
    return refuse(proxy_header_refused_error());
}

Unexpected<Session::Ended> Session::header_refused(const HeaderRefusal& refusal) {
    const std::string why = proxy_header_refusal(refusal.error, refusal.from);
    backend_info_->record_failure(why);  // SHOW BACKENDS and the metrics say why
    return header_not_accepted(*backend_info_, why);
}

// The backend runs the authentication; it is relayed both ways until the backend's OK or ERR,
// with the sequence ids shifted between the two legs.
Session::Phase<> Session::relay_authentication(const mysql::HandshakeResponse41& login,
                                               const auth::Rule& rule,
                                               const mysql::HandshakeV10& greeting,
                                               PacketChannel& backend_channel,
                                               std::uint8_t backend_seq) {
    const Backend* chosen = backend_info_;
    const std::uint8_t offset = static_cast<std::uint8_t>(client_seq_ - backend_seq);
    // A client on TLS answers some plugins with its password in clear, which must not go on to
    // a plaintext backend leg.
    const bool plaintext_behind_tls = client_.tls() && !backend_->tls();
    std::string plugin = greeting.auth_plugin_name;
    for (;;) {
        auto from_backend = co_await backend_channel.read_packet();
        if (!from_backend) {
            report(spdlog::level::warn, RefusalReason::backend_error,
                   "backend " + chosen->describe() +
                       " closed during authentication: " + from_backend.error().message());
            co_return refuse(mysql::server_error(ServerError::lost_connection));
        }
        const auto& p = from_backend->payload;
        if (mysql::classify_auth_reply(p) == mysql::AuthReply::error) {
            if (auto err = mysql::decode_err(p); err && refuses_proxy_header(*err)) {
                const HeaderRefusal refusal{std::move(*err),
                                            backend_->local_endpoint().address.to_string()};
                co_return header_refused(refusal);
            }
        }
        if (asks_for_cleartext_password(p, plugin) && plaintext_behind_tls) {
            report(spdlog::level::warn, RefusalReason::backend_error,
                   "backend " + chosen->describe() + " asks for the password in clear (" + plugin +
                       ") on a plaintext leg, the client's being TLS: refused; set tls = "
                       "\"mirror\" or \"required\" on the backend",
                   {.rule = rule.account(), .backend = chosen->config().name});
            co_return refuse(cleartext_password_refused_error());
        }
        if (!relayable_to_client(login, p)) {
            report(spdlog::level::info, RefusalReason::backend_error,
                   "the client lacks CLIENT_PLUGIN_AUTH and the account's plugin is not " +
                       std::string(kNativePassword));
            co_return refuse(unsupported_plugin_error(greeting));
        }
        co_await client_channel_.write_packet(
            static_cast<std::uint8_t>(from_backend->sequence_id + offset), p);
        const mysql::AuthReply reply = mysql::classify_auth_reply(p);
        if (reply == mysql::AuthReply::ok) break;
        if (reply == mysql::AuthReply::error) {
            const auto err = mysql::decode_err(p);
            report(spdlog::level::info, RefusalReason::backend_refused,
                   "backend " + chosen->describe() + " refused the login: " +
                       (err ? std::to_string(err->error_code) + " " +
                                  protocol::text::log_literal(err->message)
                            : "malformed ERR"),
                   {.rule = rule.account(),
                    .backend = chosen->config().name,
                    .backend_id = greeting.connection_id,
                    .tls = client_.tls()});
            co_return end_quietly();  // the client has the backend's own error
        }
        if (reply == mysql::AuthReply::fast_auth_success) continue;  // the OK follows
        auto from_client = co_await client_channel_.read_packet();
        if (!from_client) co_return end_quietly();
        co_await backend_channel.write_packet(
            static_cast<std::uint8_t>(from_client->sequence_id - offset), from_client->payload);
    }
    // Servers send nothing after their OK until the next command, but pass on anything read.
    if (!backend_channel.buffered().empty() &&
        co_await client_channel_.write_raw(backend_channel.buffered()))
        co_return end_quietly();
    report(spdlog::level::info, SessionEvent::auth_ok,
           fmt::format("allowed by {} -> backend {} (thread {}){}", rule_text(rule),
                       chosen->describe(), greeting.connection_id,
                       client_.tls() ? " TLS " + client_.tls_description() : ""),
           {.rule = rule_text(rule),
            .backend = chosen->config().name,
            .backend_id = greeting.connection_id,
            .tls = client_.tls()});
    co_return proceed();
}

}  // namespace hostgate
