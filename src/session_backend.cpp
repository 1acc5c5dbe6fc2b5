// The backend side of a session: a backend of the rule's group, the login in the client's name
// (src/backend_login.h), and the authentication relayed between the backend and the client.
#include "protocol/untrusted_text.h"
#include "src/native_password.h"
#include "src/session_impl.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace cap = protocol::mysql::cap;

// Before the backend's OK the client is not authenticated: what it is told names no backend, group
// or address. The log has the details.
const mysql::ErrPacket kCannotConnect{2003, "HY000", "Can't connect to MySQL server"};
const mysql::ErrPacket kTlsError{2026, "HY000", "TLS/SSL error"};

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
        refuse(client_seq_ + 1, kCannotConnect);
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
            mysql::encode_handshake_response(backend_login(login, offer_, false), payload);
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
    refuse(client_seq_ + 1, kCannotConnect);
    co_await send_refusal();
    co_return std::nullopt;
}

awaitable<bool> Session::authenticate(const mysql::HandshakeResponse41& login,
                                      const auth::Rule& rule) {
    auto connection = co_await connect_to_backend(login, rule);
    if (!connection) co_return false;
    const mysql::HandshakeV10& greeting = connection->greeting;
    const Backend* chosen = backend_info_;
    const bool backend_tls = tls_to(*chosen);

    // The client chose from what we offered; every such flag must hold on this backend too.
    if (const auto mismatch = greeting_mismatch(login, offer_, greeting)) {
        report(spdlog::level::err, "auth_failed",
               "backend " + chosen->describe() + " " + *mismatch);
        refuse(client_seq_ + 1,
               {1105, "HY000", "The server changed its capabilities; please reconnect"});
        co_await send_refusal();
        co_return false;
    }

    PacketChannel backend_channel(*backend_, config_->max_packet_size,
                                  std::move(connection->received));
    std::uint8_t backend_seq = 1;  // the login's, when it went ahead of the greeting
    if (backend_tls) {
        const mysql::HandshakeResponse41 forward = backend_login(login, offer_, true);
        if (!(greeting.capabilities & cap::kSsl)) {
            report(spdlog::level::err, "auth_failed",
                   "backend " + chosen->describe() + " does not offer TLS");
            refuse(client_seq_ + 1, kTlsError);
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
            refuse(client_seq_ + 1, kTlsError);
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
        if (!relayable_to_client(login, p)) {
            report(spdlog::level::info, "auth_failed",
                   "the client lacks CLIENT_PLUGIN_AUTH and the account's plugin is not " +
                       std::string(kNativePassword));
            refuse(client_seq_ + 1, unsupported_plugin_error(greeting));
            co_await send_refusal();
            co_return false;
        }
        co_await client_channel_.write_packet(
            static_cast<std::uint8_t>(from_backend->sequence_id + offset), p);
        const auto first = p.empty() ? 0xFF : std::to_integer<std::uint8_t>(p[0]);
        if (first == mysql::header::kOk) break;
        if (first == mysql::header::kErr) {
            const auto err = mysql::decode_err(p);
            report(spdlog::level::info, "auth_failed",
                   "backend " + chosen->describe() + " refused the login: " +
                       (err ? std::to_string(err->error_code) + " " +
                                  protocol::text::log_literal(err->message)
                            : "malformed ERR"),
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
           fmt::format("allowed by {} -> backend {} (thread {}){}", rule_text(rule),
                       chosen->describe(), greeting.connection_id,
                       client_.tls() ? " TLS " + client_.tls_description() : ""),
           {.rule = rule_text(rule),
            .backend = chosen->config().name,
            .backend_id = greeting.connection_id,
            .tls = client_.tls()});
    co_return true;
}

}  // namespace hostgate
