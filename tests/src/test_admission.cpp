#include <catch2/catch.hpp>

#include "src/admission.h"

using hostgate::ConnectRateLimiter;
using hostgate::Slot;
using namespace std::chrono_literals;

namespace {
hostgate::protocol::IpAddress ip(const char* text) {
    return *hostgate::protocol::parse_ip(text);
}
}  // namespace

TEST_CASE("connect rate per address: a burst of `rate`, then `rate` a second") {
    ConnectRateLimiter limiter;
    const auto t0 = ConnectRateLimiter::Clock::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) CHECK(limiter.admit(ip("10.0.0.1"), 5, t0));
    CHECK_FALSE(limiter.admit(ip("10.0.0.1"), 5, t0));
    CHECK(limiter.admit(ip("10.0.0.2"), 5, t0));  // another address has its own bucket
    CHECK_FALSE(limiter.admit(ip("10.0.0.1"), 5, t0 + 100ms));  // half a token back
    CHECK(limiter.admit(ip("10.0.0.1"), 5, t0 + 200ms));        // one token back
    CHECK_FALSE(limiter.admit(ip("10.0.0.1"), 5, t0 + 200ms));
    // A long pause refills the bucket only up to the burst.
    for (int i = 0; i < 5; ++i) CHECK(limiter.admit(ip("10.0.0.1"), 5, t0 + 1h));
    CHECK_FALSE(limiter.admit(ip("10.0.0.1"), 5, t0 + 1h));
}

TEST_CASE("connect rate 0 admits everything and tracks nothing") {
    ConnectRateLimiter limiter;
    for (int i = 0; i < 1000; ++i) CHECK(limiter.admit(ip("10.0.0.1"), 0, {}));
    CHECK(limiter.tracked() == 0);
}

TEST_CASE("connect rate forgets addresses whose bucket is full again") {
    ConnectRateLimiter limiter;
    const auto t0 = ConnectRateLimiter::Clock::time_point{} + 1h;
    for (int i = 0; i < 100; ++i) {
        const std::string address = "10.1.0." + std::to_string(i);
        CHECK(limiter.admit(*hostgate::protocol::parse_ip(address), 10, t0));
    }
    CHECK(limiter.tracked() == 100);
    CHECK(limiter.admit(ip("10.2.0.1"), 10, t0 + 11s));  // a sweep runs first
    CHECK(limiter.tracked() == 1);
}

TEST_CASE("handshake slots: at most `limit` held at once") {
    std::atomic<unsigned> in_flight{0};
    {
        Slot a(in_flight, 2), b(in_flight, 2);
        CHECK(a.held());
        CHECK(b.held());
        Slot c(in_flight, 2);
        CHECK_FALSE(c.held());
        CHECK(in_flight == 2);
        a.release();
        CHECK(in_flight == 1);
        Slot d(in_flight, 2);
        CHECK(d.held());
    }
    CHECK(in_flight == 0);
}
