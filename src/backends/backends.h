#pragma once
// The configured backends, grouped, with what their greetings said.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "protocol/mysql_messages.h"
#include "src/io/packet_channel.h"
#include "src/runtime/config.h"

namespace hostgate {

// What a backend's greeting tells about it; the client greeting is built from it.
struct ServerTraits {
    std::string server_version;
    std::uint32_t capabilities = 0;
    std::uint32_t mariadb_capabilities = 0;
    std::uint8_t character_set = 0;
    std::uint16_t status_flags = 0;
};

class Backend {
  public:
    explicit Backend(BackendConfig config) : config_(std::move(config)) {}
    const BackendConfig& config() const { return config_; }
    // "db1 (127.0.0.1:3307)"
    std::string describe() const { return config_.name + " (" + config_.address.to_string() + ")"; }

    void learn(const protocol::mysql::HandshakeV10& greeting);
    std::optional<ServerTraits> traits() const;

    // Sessions relayed to it now (past authentication): hostgate_backend_sessions.
    std::atomic<unsigned> sessions{0};

    // Whether the last connection attempt succeeded, and how many have failed.
    bool up() const { return up_.load(); }
    std::uint64_t connect_errors() const { return connect_errors_.load(); }
    void record_success() { up_ = true; }
    void record_failure(std::string why) {
        std::lock_guard lock(mutex_);
        last_failure_ = std::move(why);
        up_ = false;
        ++connect_errors_;
    }

    // The health monitor's verdict: sessions skip a backend it found down. Healthy until a check
    // says otherwise (and always, without [monitor]).
    bool healthy() const { return healthy_.load(); }
    std::string health_reason() const {
        std::lock_guard lock(mutex_);
        return health_reason_;
    }
    // Returns true when the verdict changed.
    bool set_health(bool healthy, std::string reason) {
        std::lock_guard lock(mutex_);
        health_reason_ = std::move(reason);
        return healthy_.exchange(healthy) != healthy;
    }

    // Why sessions cannot use the backend now: the health monitor's verdict, else the last
    // connection attempt's failure; nullopt while it is up. SHOW BACKENDS' Down_reason.
    std::optional<std::string> down_reason() const {
        std::lock_guard lock(mutex_);
        if (!healthy_) return health_reason_;
        if (!up_ && connect_errors_ > 0) return last_failure_;
        return std::nullopt;
    }

    // It does not take hostgate's PROXY header (`why`, with the fix): a misconfiguration of the
    // backend, logged at error level at most once a minute, whoever finds it (a session, the
    // start-up probe).
    void log_header_refusal(const std::string& why) const;

  private:
    BackendConfig config_;
    mutable std::mutex mutex_;
    mutable std::optional<std::chrono::steady_clock::time_point> header_refusal_logged_;  // mutex_
    std::optional<ServerTraits> traits_;
    std::atomic<bool> up_{false};
    std::atomic<bool> healthy_{true};
    std::string health_reason_;  // guarded by mutex_
    std::string last_failure_;   // guarded by mutex_
    std::atomic<std::uint64_t> connect_errors_{0};
};

class Backends {
  public:
    explicit Backends(const std::vector<BackendConfig>& configs);

    // The backends of a group in configuration order; empty for an unknown group.
    std::vector<Backend*> group(const std::string& name);
    std::vector<Backend*> all();

    // Traits to greet clients with: the intersection of every known backend's capabilities (a
    // client may be sent to any group), the first known version string. nullopt when no backend
    // has been seen yet.
    std::optional<ServerTraits> greeting_traits() const;

  private:
    std::vector<std::unique_ptr<Backend>> backends_;
    std::map<std::string, std::vector<Backend*>> groups_;
};

// A backend connection after its greeting.
struct BackendConnection {
    std::unique_ptr<Stream> stream;
    protocol::mysql::HandshakeV10 greeting;
    protocol::Bytes received;  // bytes read after the greeting (an answer to a pipelined login)
};

// Why a connection to a backend failed, for logs. `header_suspected`: the backend was reached and
// got hostgate's PROXY header, then closed, or sent no greeting in time: a server that does not
// take the header from hostgate's address does that (Percona checks it before its greeting).
struct ConnectFailure {
    std::string what;
    bool header_suspected = false;
};

// Connects to the backend, writes `opening` (the PROXY header, if the backend takes one, and
// possibly a login sent ahead of the greeting) and reads the greeting, all within `timeout`.
awaitable<Expected<BackendConnection, ConnectFailure>> connect_backend(
    Backend& backend, const protocol::Bytes& opening, std::chrono::milliseconds timeout,
    std::size_t max_packet);

// Whether the backend refuses hostgate's PROXY header, asked in plaintext on a connection of its
// own: `header`, the greeting, `ssl_request`, and the end of what hostgate sends. A backend that
// refuses the header answers the SSLRequest with its ERR (the ERR a TLS handshake cannot read);
// one that takes it waits for TLS, sees the end, and closes. Returns the ERR and hostgate's
// address on that connection.
struct HeaderRefusal {
    protocol::mysql::ErrPacket error;
    std::string from;
};
awaitable<std::optional<HeaderRefusal>> ask_whether_header_refused(
    Backend& backend, const protocol::Bytes& header, const protocol::Bytes& ssl_request,
    std::chrono::milliseconds timeout);

// The PROXY header a backend gets first, in the version its configuration names (empty with
// proxy_protocol = "off"): for a session, the real client as source and what it connected to as
// destination; without a client, LOCAL (v2) or UNKNOWN (v1), for hostgate's own connections
// (probes, health checks, reading the grants), which the backend then takes as coming from
// hostgate itself.
protocol::Bytes proxy_header_for(const BackendConfig& backend,
                                 const std::optional<protocol::Endpoint>& client = std::nullopt,
                                 const protocol::Endpoint& destination = {},
                                 std::vector<protocol::proxy::Tlv> tlvs = {});

// Connects once with a LOCAL header (v2) or UNKNOWN (v1) to learn the backend's greeting; then
// sends an SSLRequest, ends its side, and logs a refusal of the header, which it records.
awaitable<void> probe_backend(Backend& backend, std::chrono::milliseconds timeout);
// Probes the backends at once, not one after another: returns when every probe has ended, so
// within `timeout` whatever their number.
awaitable<void> probe_all(const std::vector<Backend*>& backends, std::chrono::milliseconds timeout);

}  // namespace hostgate
