#pragma once
// The last session events, kept in memory whether or not the audit log is on, for the admin
// port's `events` table: a DBA asks what was refused, and why, without a file to grep.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <vector>

#include "src/operations/audit.h"

namespace hostgate {

class EventHistory {
  public:
    struct Entry {
        std::chrono::system_clock::time_point time;
        AuditEvent event;
    };

    // Keeps the last `kept` events (admin.events_kept); 0 keeps none.
    explicit EventHistory(std::size_t kept);

    // Keeps the event, in place of the oldest once `kept` are held.
    void record(AuditEvent event, std::chrono::system_clock::time_point time);
    // Whether it keeps any event at all.
    bool keeps() const { return kept_ > 0; }
    // The events held, oldest first.
    std::vector<Entry> snapshot() const;

  private:
    std::size_t kept_;
    mutable std::mutex mutex_;
    std::vector<Entry> ring_;  // grows to kept_, then the oldest is overwritten at next_
    std::size_t next_ = 0;
};

}  // namespace hostgate
