#pragma once
// Admission before a session is served, so that a flood cannot exhaust the proxy or the backends:
// a connection rate per client address, and a cap on handshakes in flight.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>

#include "protocol/address.h"

namespace hostgate {

// Connections per second from one client address, as a token bucket: `rate` tokens a second,
// bursts of up to `rate`. Addresses idle long enough to have a full bucket are forgotten.
class ConnectRateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    // Whether a connection from `address` at `now` fits `rate` (0: no limit); takes a token if so.
    bool admit(const protocol::IpAddress& address, unsigned rate, Clock::time_point now);
    std::size_t tracked() const;

  private:
    struct Bucket {
        double tokens;
        Clock::time_point last;
    };
    void forget_full_buckets(unsigned rate, Clock::time_point now);

    mutable std::mutex mutex_;
    std::map<protocol::IpAddress, Bucket> buckets_;
    Clock::time_point last_sweep_{};
};

// A place among `limit` handshakes in flight, held until released or destroyed.
class HandshakeSlot {
  public:
    HandshakeSlot(std::atomic<unsigned>& in_flight, unsigned limit) : in_flight_(&in_flight) {
        if (in_flight.fetch_add(1, std::memory_order_relaxed) >= limit) release();
    }
    HandshakeSlot(const HandshakeSlot&) = delete;
    HandshakeSlot& operator=(const HandshakeSlot&) = delete;
    ~HandshakeSlot() { release(); }

    bool held() const { return in_flight_ != nullptr; }
    void release() {
        if (in_flight_) in_flight_->fetch_sub(1, std::memory_order_relaxed);
        in_flight_ = nullptr;
    }

  private:
    std::atomic<unsigned>* in_flight_;
};

}  // namespace hostgate
