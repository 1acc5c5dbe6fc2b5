#pragma once
// The Session class behind run_session(), shared by its two source files: session.cpp (the client
// side: PROXY header, checks, greeting, grants, relay) and session_backend.cpp (the backend login
// and the authentication passed through). Nothing else includes it.

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "auth/grant_table.h"
#include "protocol/address.h"
#include "protocol/mysql_messages.h"
#include "src/audit.h"
#include "src/backend_login.h"
#include "src/backends.h"
#include "src/net.h"
#include "src/packet_channel.h"
#include "src/runtime.h"
#include "src/stream.h"

namespace hostgate {

class Session {
  public:
    Session(Runtime& runtime, tcp::socket socket, std::uint32_t id)
        : rt_(runtime),
          config_(runtime.config()),
          id_(id),
          client_(std::move(socket)),
          client_channel_(client_, kMaxLoginPacket) {}

    ~Session();
    awaitable<void> run();

  private:
    using Login = protocol::mysql::HandshakeResponse41;

    // The phases, in order; each returns false (or nothing) when the session is over.
    awaitable<bool> recover_client_address();
    // The connect event, max_connect_rate_per_ip and the host check (1130), for the real client;
    // `greeted`: after the greeting, when a late PROXY header gave the client.
    awaitable<bool> admit(bool greeted);
    awaitable<bool> greet();
    awaitable<bool> sniff_late_proxy_header();
    awaitable<std::optional<Login>> read_login();
    // The client's next connection-phase packet, which must carry `expected_sequence`.
    awaitable<std::optional<protocol::mysql::Packet>> read_handshake_packet(
        std::uint8_t expected_sequence, PacketChannel::ReadAhead read_ahead);
    awaitable<std::optional<auth::Rule>> check_grants(const Login& login);
    // session_backend.cpp: a backend of the rule's group, then the authentication relayed.
    awaitable<std::optional<BackendConnection>> connect_to_backend(const Login& login,
                                                                   const auth::Rule& rule);
    awaitable<bool> authenticate(const Login& login, const auth::Rule& rule);
    awaitable<void> relay(const Login& login);

    // Refusing a client takes two statements: refuse() builds the ERR packet, then
    // `co_await send_refusal()` sends it and closes the client. g++ 12 destroys temporaries twice
    // when they stand in a co_await expression, so none may be built there.
    void refuse(std::uint8_t seq, const protocol::mysql::ErrPacket& e, bool with_sql_state = true);
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
    auth::ClientHost client_host() const {
        return {client_addr_.address.normalized(), std::nullopt};
    }
    // Whether the client's first packet may be read together with what follows it: not when TLS
    // is offered, since an SSLRequest is followed by the TLS ClientHello.
    PacketChannel::ReadAhead first_packet_read_ahead() const {
        return rt_.client_tls ? PacketChannel::ReadAhead::never : PacketChannel::ReadAhead::allowed;
    }
    bool tls_to(const Backend& b) const {
        return b.config().tls == BackendTls::required ||
               (b.config().tls == BackendTls::mirror && client_.tls());
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
    Offer offer_;                  // what our greeting offered
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

}  // namespace hostgate
