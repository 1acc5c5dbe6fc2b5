#pragma once
// asio names used across the daemon, in one place.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <string>

#include "protocol/address.h"

namespace hostgate {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// A completion token that returns (error_code, results...) instead of throwing.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// What an accept loop does after a failed accept. When the process or the system is out of
// descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) the pending connection stays in the
// backlog and the next accept would fail at once: the loop pauses for kAcceptPause instead of
// spinning, and the failure is logged at most once per interval, with how many there were.
class AcceptFailures {
  public:
    static constexpr std::chrono::milliseconds kAcceptPause{100};
    static constexpr std::chrono::seconds kLogInterval{10};

    explicit AcceptFailures(const tcp::acceptor& acceptor);
    awaitable<void> after(tcp::acceptor& acceptor, std::error_code ec);

  private:
    std::string listener_;
    std::chrono::steady_clock::time_point logged_{};
    unsigned unlogged_ = 0;
};

// Accepts connections until the acceptor is closed, spawning `serve(socket)` for each on the
// acceptor's executor. `serve` must return an awaitable<void> and never throw.
template <class Serve>
awaitable<void> accept_each(tcp::acceptor& acceptor, Serve serve) {
    AcceptFailures failures(acceptor);
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (ec) {
            co_await failures.after(acceptor, ec);
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
}

// Whether this machine has `address`, so that sockets can be bound to it: an error (EADDRNOTAVAIL)
// when it has not.
std::error_code try_bind(const protocol::IpAddress& address);

// asio endpoint <-> protocol::Endpoint.
protocol::Endpoint to_endpoint(const tcp::endpoint& e);
tcp::endpoint to_asio(const protocol::Endpoint& e);

}  // namespace hostgate
