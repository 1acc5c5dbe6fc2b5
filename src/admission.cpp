#include "src/admission.h"

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

}  // namespace hostgate
