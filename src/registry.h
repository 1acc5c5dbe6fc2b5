#pragma once
// Live sessions by hostgate's connection id (the id in our greeting), so that
// KILL [QUERY|CONNECTION] <id> from a client can be routed to the right backend thread.

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace hostgate {

class Backend;

struct SessionEntry {
    std::string user;
    const Backend* backend = nullptr;
    std::uint32_t backend_thread = 0;  // the backend's connection id for this session
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
