#pragma once
// Admission before a session is served, so that a flood cannot exhaust the proxy or the backends:
// a connection rate per client address, and caps on what is open at once.

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

// Failed logins per source address, for the admin port: each failure makes the next refusal wait
// longer (kDelayStep more, up to kMaxDelay), and kLockoutFailures failures within kWindow lock the
// address out for kLockout. Other addresses are unaffected; a success forgets the address.
class LoginThrottle {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr unsigned kLockoutFailures = 10;
    static constexpr std::chrono::minutes kWindow{10};
    static constexpr std::chrono::minutes kLockout{5};
    static constexpr std::chrono::milliseconds kDelayStep{100}, kMaxDelay{2000};

    // Whether `address` is locked out at `now`.
    bool locked(const protocol::IpAddress& address, Clock::time_point now);
    // Counts a failure; returns how long to wait before refusing it.
    Clock::duration failed(const protocol::IpAddress& address, Clock::time_point now);
    void succeeded(const protocol::IpAddress& address);

  private:
    struct Failures {
        unsigned count = 0;
        Clock::time_point first{}, locked_until{};
    };
    std::mutex mutex_;
    std::map<protocol::IpAddress, Failures> failures_;
};

// A place among `limit` held at once (handshakes in flight, admin or metrics connections), held
// until released or destroyed. Not held when `limit` places were taken already.
class Slot {
  public:
    Slot(std::atomic<unsigned>& in_flight, unsigned limit) : in_flight_(&in_flight) {
        if (in_flight.fetch_add(1, std::memory_order_relaxed) >= limit) release();
    }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { release(); }

    bool held() const { return in_flight_ != nullptr; }
    void release() {
        if (in_flight_) in_flight_->fetch_sub(1, std::memory_order_relaxed);
        in_flight_ = nullptr;
    }

  private:
    std::atomic<unsigned>* in_flight_;
};

}  // namespace hostgate
