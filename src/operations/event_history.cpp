#include "src/operations/event_history.h"

namespace hostgate {

EventHistory::EventHistory(std::size_t kept) : kept_(kept) {}

void EventHistory::record(AuditEvent event, std::chrono::system_clock::time_point time) {
    if (kept_ == 0) return;
    std::lock_guard lock(mutex_);
    if (ring_.size() < kept_) {
        ring_.push_back({time, std::move(event)});
        return;
    }
    ring_[next_] = {time, std::move(event)};
    next_ = (next_ + 1) % kept_;
}

std::vector<EventHistory::Entry> EventHistory::snapshot() const {
    std::lock_guard lock(mutex_);
    std::vector<Entry> out;
    out.reserve(ring_.size());
    out.insert(out.end(), ring_.begin() + static_cast<std::ptrdiff_t>(next_), ring_.end());
    out.insert(out.end(), ring_.begin(), ring_.begin() + static_cast<std::ptrdiff_t>(next_));
    return out;
}

}  // namespace hostgate
