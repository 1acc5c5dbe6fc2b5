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
#include "src/config.h"
#include "src/packet_channel.h"

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

    // Whether the last connection attempt succeeded, and how many have failed.
    bool up() const { return up_.load(); }
    std::uint64_t connect_errors() const { return connect_errors_.load(); }
    void record_attempt(bool ok) {
        up_ = ok;
        if (!ok) ++connect_errors_;
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

    // Whether a refusal of hostgate's PROXY header is to be logged now: at most once a minute.
    bool header_refusal_log_due(std::chrono::steady_clock::time_point now) const {
        std::lock_guard lock(mutex_);
        if (header_refusal_logged_ && now - *header_refusal_logged_ < std::chrono::minutes(1))
            return false;
        header_refusal_logged_ = now;
        return true;
    }

  private:
    BackendConfig config_;
    mutable std::mutex mutex_;
    mutable std::optional<std::chrono::steady_clock::time_point> header_refusal_logged_;  // mutex_
    std::optional<ServerTraits> traits_;
    std::atomic<bool> up_{false};
    std::atomic<bool> healthy_{true};
    std::string health_reason_;  // guarded by mutex_
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

// Connects to the backend, writes `opening` (the PROXY header, if the backend takes one, and
// possibly a login sent ahead of the greeting) and reads the greeting, all within `timeout`. The
// error says what failed, for logs.
awaitable<Expected<BackendConnection, std::string>> connect_backend(
    Backend& backend, const protocol::Bytes& opening, std::chrono::milliseconds timeout,
    std::size_t max_packet);

// The PROXY header a backend gets first, in the version its configuration names (empty with
// proxy_protocol = "off"): for a session, the real client as source and what it connected to as
// destination; without a client, LOCAL (v2) or UNKNOWN (v1), for hostgate's own connections
// (probes, health checks, reading the grants), which the backend then takes as coming from
// hostgate itself.
protocol::Bytes proxy_header_for(const BackendConfig& backend,
                                 const std::optional<protocol::Endpoint>& client = std::nullopt,
                                 const protocol::Endpoint& destination = {});

// Connects once with a LOCAL header (v2) or UNKNOWN (v1) to learn the backend's greeting.
awaitable<void> probe_backend(Backend& backend, std::chrono::milliseconds timeout);
// Probes the backends at once, not one after another: returns when every probe has ended, so
// within `timeout` whatever their number.
awaitable<void> probe_all(const std::vector<Backend*>& backends, std::chrono::milliseconds timeout);

}  // namespace hostgate
