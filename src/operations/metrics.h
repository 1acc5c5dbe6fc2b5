#pragma once
// Counters for Prometheus, and the HTTP endpoint that serves them at /metrics.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/io/net.h"
#include "src/session/session_event.h"

namespace hostgate {

class Runtime;

class Metrics {
  public:
    // Counts a session event (the audit log's names); unknown names are ignored.
    void count_event(SessionEvent event);
    // Counts a refusal by its reason (its event is counted apart, with count_event).
    void count_refusal(RefusalReason reason);
    void add_bytes(std::uint64_t in, std::uint64_t out);
    // Backend-to-client bytes moved with splice(2), never copied to user space.
    void add_spliced(std::uint64_t n) { spliced_.fetch_add(n, std::memory_order_relaxed); }
    // Time from accept to the backend's OK.
    void observe_handshake(std::chrono::steady_clock::duration d);
    void count_reload(bool ok);

    // The Prometheus text exposition (format 0.0.4).
    std::string render(Runtime& runtime) const;

    static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                        0.05,  0.1,    0.25,  0.5,  1.0};

  private:
    std::array<std::atomic<std::uint64_t>, kSessionEvents.size()> events_{};
    std::array<std::atomic<std::uint64_t>, kRefusalReasons.size()> refusals_{};
    std::atomic<std::uint64_t> bytes_in_{0}, bytes_out_{0}, spliced_{0};
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> handshake_buckets_{};  // last: +Inf
    std::atomic<std::uint64_t> handshake_count_{0};
    std::atomic<std::uint64_t> handshake_micros_{0};
    std::atomic<std::uint64_t> reloads_ok_{0}, reloads_failed_{0};
};

// Serves GET /metrics on the acceptor until it is closed.
awaitable<void> serve_metrics(Runtime& runtime, tcp::acceptor& acceptor);

}  // namespace hostgate
