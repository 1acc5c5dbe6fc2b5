#pragma once
// Live sessions by hostgate's connection id (the id in our greeting), so that
// KILL [QUERY|CONNECTION] <id> from a client can be routed to the right backend thread.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/host_pattern.h"
#include "src/io/event_loop.h"
#include "src/io/net.h"

namespace hostgate {

class Backend;

// What the relay updates as a session runs, read by SHOW PROCESSLIST.
struct SessionStats {
    std::atomic<std::uint8_t> command{0};                  // last command byte from the client
    std::atomic<std::int64_t> command_started_ns{0};       // steady clock
    std::atomic<std::int64_t> backend_active_ns{0};        // last bytes from the backend
    std::atomic<std::uint64_t> bytes_in{0}, bytes_out{0};  // client to backend, backend to client
};

struct SessionEntry {
    std::string user;
    std::string via;  // trusted proxy ip:port, empty if direct
    std::string db;
    std::string backend_name;
    std::chrono::steady_clock::time_point connected;
    std::shared_ptr<SessionStats> stats;
    auth::ClientHost client;
    std::uint16_t client_port = 0;
    auth::TlsFacts tls;  // the client's TLS: on or not, its certificate, its cipher
    const Backend* backend = nullptr;
    std::uint32_t backend_thread = 0;  // the backend's connection id for this session
    // Closes the session; call it only on `executor`, where the session runs.
    asio::any_io_executor executor;
    std::function<void()> terminate;
};

class SessionRegistry {
  public:
    void add(std::uint32_t id, SessionEntry entry) {
        std::lock_guard lock(mutex_);
        sessions_[id] = std::move(entry);
    }
    void remove(std::uint32_t id) {
        std::lock_guard lock(mutex_);
        sessions_.erase(id);
    }
    void set_user(std::uint32_t id, const std::string& user) {
        std::lock_guard lock(mutex_);
        if (auto it = sessions_.find(id); it != sessions_.end()) it->second.user = user;
    }
    // Asks the session to close, on its own thread; nothing happens if it has ended by then.
    void terminate(std::uint32_t id) {
        const auto entry = find(id);
        if (!entry) return;
        post_and_wake(entry->executor, [this, id] {
            // On the session's thread: it cannot end while this runs.
            std::function<void()> terminate;
            {
                std::lock_guard lock(mutex_);
                auto it = sessions_.find(id);
                if (it == sessions_.end()) return;
                terminate = it->second.terminate;
            }
            terminate();
        });
    }
    std::vector<std::pair<std::uint32_t, SessionEntry>> snapshot() const {
        std::lock_guard lock(mutex_);
        return {sessions_.begin(), sessions_.end()};
    }
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return sessions_.size();
    }
    std::optional<SessionEntry> find(std::uint32_t id) const {
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(id);
        return it == sessions_.end() ? std::nullopt : std::optional(it->second);
    }

  private:
    mutable std::mutex mutex_;
    std::unordered_map<std::uint32_t, SessionEntry> sessions_;
};

}  // namespace hostgate
