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
#include "protocol/expected.h"
#include "protocol/mysql_messages.h"
#include "protocol/mysql_server_errors.h"
#include "protocol/proxy_protocol.h"
#include "src/backends/backends.h"
#include "src/io/net.h"
#include "src/io/packet_channel.h"
#include "src/io/stream.h"
#include "src/operations/audit.h"
#include "src/runtime/runtime.h"
#include "src/session/admission.h"
#include "src/session/backend_login.h"

namespace hostgate {

class Session {
  public:
    Session(Runtime& runtime, Stream client, std::uint32_t id)
        : rt_(runtime),
          config_(runtime.config()),
          id_(id),
          client_(std::move(client)),
          client_channel_(client_, kMaxLoginPacket) {}

    ~Session();
    awaitable<void> run();

  private:
    using Login = protocol::mysql::HandshakeResponse41;

    using Refusal = protocol::mysql::Refusal;
    // How a phase ends the session before the relay: with a refusal sent to the client, or with
    // none (the client went away, a TLS handshake failed, the backend refused the login and said
    // so itself). run() sends the refusal, in one place.
    struct Ended {
        std::optional<Refusal> refusal;
    };
    template <class T = void>
    using Phase = awaitable<Expected<T, Ended>>;
    // Ends the session with an error answering the client's last packet.
    Unexpected<Ended> refuse(protocol::mysql::ErrPacket e) const {
        return Unexpected(Ended{Refusal::answering(client_seq_, std::move(e))});
    }
    static Unexpected<Ended> end_with(Refusal r) { return Unexpected(Ended{std::move(r)}); }
    static Unexpected<Ended> end_quietly() { return Unexpected(Ended{}); }
    static Expected<void, Ended> proceed() { return {}; }

    // The phases before the relay, in order.
    Phase<> recover_client_address();
    // The connect event, max_connect_rate_per_ip and the host check (1130), for the real client;
    // `greeted`: after the greeting, when a late PROXY header gave the client. Then a refusal
    // waits in refusal_for_login_ for the login it answers.
    Phase<> admit(bool greeted);
    Phase<> greet();
    Phase<> sniff_late_proxy_header();
    Phase<> take_proxy_header(bool greeted);
    Phase<Login> read_login();
    // The client's next connection-phase packet, which must carry `expected_sequence`.
    Phase<protocol::mysql::Packet> read_handshake_packet(std::uint8_t expected_sequence,
                                                         PacketChannel::ReadAhead read_ahead);
    Phase<auth::Rule> check_grants(const Login& login);
    // check_grants(), then authenticate().
    Phase<> authorize_and_authenticate(const Login& login);
    // check_grants() without the coroutine (g++ 12 warns falsely on the frame of a longer one).
    Expected<auth::Rule, Ended> grant(const Login& login);
    // Who the session is once the login has come: user, database, what its TLS shows.
    void note_login(const Login& login);
    // The TLVs of the v2 header to this backend, as its proxy_protocol_tlvs asks.
    std::vector<protocol::proxy::Tlv> header_tlvs(const BackendConfig& backend) const;
    // The process-list entry of the relayed session.
    SessionEntry registry_entry(std::shared_ptr<SessionStats> stats,
                                asio::any_io_executor executor);
    // session_backend.cpp: a backend of the rule's group, then the authentication relayed.
    Phase<BackendConnection> connect_to_backend(const Login& login, const auth::Rule& rule);
    Phase<> authenticate(const Login& login, const auth::Rule& rule);
    Phase<> start_backend_tls(const Login& login, const protocol::mysql::HandshakeV10& greeting,
                              PacketChannel& backend_channel, std::uint8_t& backend_seq);
    // The backend does not take hostgate's PROXY header: `why` for the log, a clear ERR for the
    // client. header_refused(): the backend of this session said so, and it is recorded.
    Unexpected<Ended> header_not_accepted(const Backend& backend, const std::string& why);
    Unexpected<Ended> header_refused(const HeaderRefusal& refusal);
    Phase<> relay_authentication(const Login& login, const auth::Rule& rule,
                                 const protocol::mysql::HandshakeV10& greeting,
                                 PacketChannel& backend_channel, std::uint8_t backend_seq);
    // The client's address, the checks by address, and the greeting.
    Phase<> admit_and_greet();
    // All of the above: the client's login, authenticated by a backend.
    Phase<Login> handshake();
    // The command phase; the session ends with its refusal, if any.
    awaitable<Ended> relay(const Login& login);

    // Sends the refusal, if any, and closes both legs. Pass a named Ended: g++ 12 destroys
    // temporaries twice when they stand in a co_await expression. For the same reason phases
    // build their errors in co_return statements, never inside a co_await.
    awaitable<void> end(const Ended& ended);
    std::string who() const;
    // One connection event: a log line "<who>: <reason>", an entry of the admin port's events
    // table and, with [audit], a JSON line.
    void report(spdlog::level::level_enum level, SessionEvent event, const std::string& reason,
                AuditEvent details = {});
    // A refusal's event, counted by its reason too.
    void report(spdlog::level::level_enum level, RefusalReason why, const std::string& reason,
                AuditEvent details = {});
    // The session's own fields (session, client, via, user, db) added to an event.
    AuditEvent with_session_fields(AuditEvent e) const;
    static std::string rule_text(const auth::Rule& r) {
        return r.account() + (r.line ? " (line " + std::to_string(r.line) + ")" : "");
    }
    auth::ClientHost client_host() const {
        return {client_addr_.address.normalized(), std::nullopt, endpoint_};
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
    std::optional<protocol::mysql::ErrPacket> refusal_for_login_;  // see admit()
    // The client's TLS as REQUIRE sees it, once the login has come: hostgate's own TLS session,
    // or with server.accept_proxy_tls what a trusted proxy's PP2_TYPE_SSL TLV said.
    ClientTls client_tls_;
    std::optional<ClientTls> proxy_tls_;                // what that TLV said, counted or not
    std::optional<protocol::proxy::Tlv> endpoint_tlv_;  // the cloud endpoint TLV as received
    std::string endpoint_;  // the cloud endpoint a trusted balancer's header named; empty if none
    bool header_seen_ = false;
    Offer offer_;                  // what our greeting offered
    std::uint8_t client_seq_ = 0;  // sequence id of the client's last packet
    std::string user_;
    Backend* backend_info_ = nullptr;
    std::string db_;
    std::uint64_t bytes_in_ = 0, bytes_out_ = 0;
    const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::optional<std::string> counted_rule_;  // the rule whose MAX_USER_CONNECTIONS place we hold
    std::uint32_t backend_thread_ = 0;
};

}  // namespace hostgate
