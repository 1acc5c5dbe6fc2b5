#include <catch2/catch.hpp>

#include "src/session/admission.h"

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

TEST_CASE("failed admin logins: a growing delay, then a lockout for that address only") {
    using hostgate::LoginThrottle;
    LoginThrottle throttle;
    const auto guesser = *hostgate::protocol::parse_ip("127.0.0.9");
    const auto other = *hostgate::protocol::parse_ip("127.0.0.1");
    auto t = LoginThrottle::Clock::time_point{} + std::chrono::hours(1);
    std::vector<LoginThrottle::Clock::duration> delays;
    for (unsigned i = 0; i + 1 < LoginThrottle::kLockoutFailures; ++i) {
        CHECK_FALSE(throttle.locked(guesser, t));
        delays.push_back(throttle.failed(guesser, t));
        t += std::chrono::seconds(1);
    }
    CHECK(delays.front() == LoginThrottle::kDelayStep);
    CHECK(std::is_sorted(delays.begin(), delays.end()));
    CHECK(delays.back() <= LoginThrottle::kMaxDelay);
    CHECK_FALSE(throttle.locked(guesser, t));
    throttle.failed(guesser, t);  // the tenth
    CHECK(throttle.locked(guesser, t));
    CHECK(throttle.locked(guesser, t + LoginThrottle::kLockout - std::chrono::seconds(1)));
    CHECK_FALSE(throttle.locked(guesser, t + LoginThrottle::kLockout));
    CHECK_FALSE(throttle.locked(other, t));

    // Failures spread wider than the window never add up to a lockout.
    LoginThrottle slow;
    for (unsigned i = 0; i < 3 * LoginThrottle::kLockoutFailures; ++i) {
        slow.failed(guesser, t);
        CHECK_FALSE(slow.locked(guesser, t));
        t += std::chrono::seconds(LoginThrottle::kWindow) / (LoginThrottle::kLockoutFailures - 1) +
             std::chrono::seconds(1);
    }

    // A success forgets the address.
    LoginThrottle forgiving;
    for (unsigned i = 0; i + 1 < LoginThrottle::kLockoutFailures; ++i) forgiving.failed(guesser, t);
    forgiving.succeeded(guesser);
    forgiving.failed(guesser, t);
    CHECK_FALSE(forgiving.locked(guesser, t));
}
