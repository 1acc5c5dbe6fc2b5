#pragma once
// Runs an action (usually: close the sockets) if a deadline passes before the watchdog is
// disarmed or destroyed. Pending reads and writes then finish with an error, so a phase of the
// session can be bounded as a whole without a timeout on every operation.

#include <chrono>
#include <functional>
#include <memory>

#include "src/io/net.h"

namespace hostgate {

class Watchdog {
  public:
    template <class Executor>
    Watchdog(Executor executor, std::chrono::milliseconds timeout, std::function<void()> on_expire)
        : state_(std::make_shared<State>(std::move(on_expire))), timer_(executor, timeout) {
        timer_.async_wait([state = state_](std::error_code ec) {
            if (ec || !state->armed) return;
            state->fired = true;
            state->on_expire();
        });
    }
    ~Watchdog() { disarm(); }
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    void disarm() {
        state_->armed = false;
        timer_.cancel();
    }
    bool fired() const { return state_->fired; }

  private:
    struct State {
        explicit State(std::function<void()> f) : on_expire(std::move(f)) {}
        std::function<void()> on_expire;
        bool armed = true;
        bool fired = false;
    };
    std::shared_ptr<State> state_;
    asio::steady_timer timer_;
};

}  // namespace hostgate
