#include "src/session/admission.h"

#include <algorithm>

namespace hostgate {

bool ConnectRateLimiter::admit(const protocol::IpAddress& address, unsigned rate,
                               Clock::time_point now) {
    if (rate == 0) return true;
    std::lock_guard lock(mutex_);
    if (now - last_sweep_ > std::chrono::seconds(10)) forget_full_buckets(rate, now);
    auto [it, fresh] = buckets_.try_emplace(address, Bucket{static_cast<double>(rate), now});
    Bucket& b = it->second;
    if (!fresh) {
        const double elapsed = std::chrono::duration<double>(now - b.last).count();
        b.tokens = std::min<double>(rate, b.tokens + elapsed * rate);
        b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
}

std::size_t ConnectRateLimiter::tracked() const {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

void ConnectRateLimiter::forget_full_buckets(unsigned rate, Clock::time_point now) {
    last_sweep_ = now;
    std::erase_if(buckets_, [&](const auto& entry) {
        const Bucket& b = entry.second;
        return b.tokens + std::chrono::duration<double>(now - b.last).count() * rate >= rate;
    });
}

bool LoginThrottle::locked(const protocol::IpAddress& address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = failures_.find(address);
    return it != failures_.end() && now < it->second.locked_until;
}

LoginThrottle::Clock::duration LoginThrottle::failed(const protocol::IpAddress& address,
                                                     Clock::time_point now) {
    std::lock_guard lock(mutex_);
    // Forget addresses whose window has passed and that are not locked, so that the map stays
    // as small as the set of addresses guessing now.
    std::erase_if(failures_, [&](const auto& entry) {
        return now - entry.second.first > kWindow && now >= entry.second.locked_until;
    });
    Failures& f = failures_[address];
    if (f.count == 0 || now - f.first > kWindow) f = {0, now, f.locked_until};
    ++f.count;
    if (f.count >= kLockoutFailures) {
        f.locked_until = now + kLockout;
        f.count = 0;
        f.first = now;
    }
    return std::min<Clock::duration>(kDelayStep * std::max(f.count, 1u), kMaxDelay);
}

void LoginThrottle::succeeded(const protocol::IpAddress& address) {
    std::lock_guard lock(mutex_);
    failures_.erase(address);
}

}  // namespace hostgate
