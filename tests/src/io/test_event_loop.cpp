// The event loop's contract (src/event_loop.h): a watch wakes its waiter on an edge and only then,
// close and cancellation complete a waiter with operation_aborted, asio's own timers and posts
// still run, and a loop blocked in its epoll_wait is woken by post_and_wake() and stop().
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "src/io/event_loop.h"
#include "src/io/stream.h"

namespace {

using hostgate::EventLoop;
using hostgate::tcp;
using hostgate::Watch;
using namespace std::chrono_literals;

// Two connected non-blocking stream sockets.
std::pair<int, int> socket_pair() {
    int fds[2];
    REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) == 0);
    return {fds[0], fds[1]};
}

// Runs `body` as a coroutine on the loop until it returns, and returns what it returned.
template <class T>
T run_on(EventLoop& loop, hostgate::awaitable<T> body) {
    std::optional<T> result;
    asio::co_spawn(loop.io(), std::move(body), [&](std::exception_ptr e, T value) {
        if (e) std::rethrow_exception(e);
        result = std::move(value);
    });
    loop.run();
    REQUIRE(result);
    return *result;
}

}  // namespace

TEST_CASE("the loop finds asio's epoll set and runs coroutines on it") {
    EventLoop loop;
    const bool watching = run_on(loop, []() -> hostgate::awaitable<bool> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 5ms);
        co_await timer.async_wait(asio::use_awaitable);  // asio's timers work under the loop
        co_return EventLoop::current() != nullptr;
    }());
    CHECK(watching);
    CHECK(EventLoop::current() == nullptr);  // only while it runs
}

TEST_CASE("a waiter wakes on an edge, and waits again after the socket is drained") {
    EventLoop loop;
    auto [ours, peer] = socket_pair();
    Watch* watch = loop.watch(ours);
    REQUIRE(watch);
    const auto events = run_on(loop, [&, peer = peer]() -> hostgate::awaitable<std::string> {
        std::string seen;
        auto executor = co_await asio::this_coro::executor;
        // Bytes written later, from a timer: the waiter must still be waiting then.
        asio::steady_timer later(executor, 20ms);
        later.async_wait([peer](std::error_code) { REQUIRE(::write(peer, "ab", 2) == 2); });
        watch->drained();  // as after a short read
        CHECK(!watch->readable());
        if (auto [ec] = co_await watch->wait(Watch::Side::read); !ec) seen += "woken;";
        char buffer[16];
        const auto n = ::read(watch->fd(), buffer, sizeof buffer);
        seen += std::string(buffer, static_cast<std::size_t>(n)) + ";";
        watch->drained();
        // Nothing more comes: the next wait lasts until the watch is closed.
        asio::steady_timer closing(executor, 20ms);
        closing.async_wait([watch](std::error_code) { watch->close(); });
        const auto [ec] = co_await watch->wait(Watch::Side::read);
        seen += ec == asio::error::operation_aborted ? "aborted" : "woken again: " + ec.message();
        co_return seen;
    }());
    CHECK(events == "woken;ab;aborted");
    ::close(peer);
}

TEST_CASE("an end that came with the last bytes is read without another edge") {
    EventLoop loop;
    auto [ours, peer] = socket_pair();
    REQUIRE(::write(peer, "ab", 2) == 2);
    REQUIRE(::shutdown(peer, SHUT_WR) == 0);  // the end comes with the bytes, one edge for both
    Watch* watch = loop.watch(ours);
    REQUIRE(watch);
    const auto read_after_end = run_on(loop, [&]() -> hostgate::awaitable<long> {
        if (auto [ec] = co_await watch->wait(Watch::Side::read); ec) co_return -2;
        char buffer[16];
        CHECK(::read(watch->fd(), buffer, sizeof buffer) == 2);
        watch->drained();                      // a short read: no bytes left, but the end is
        if (!watch->readable()) co_return -1;  // a wait now would never end
        const long n = ::read(watch->fd(), buffer, sizeof buffer);
        watch->close();
        co_return n;
    }());
    CHECK(read_after_end == 0);
    ::close(peer);
}

TEST_CASE("a wait cancelled by || ends, and the watch can be waited on again") {
    EventLoop loop;
    auto [ours, peer] = socket_pair();
    Watch* watch = loop.watch(ours);
    REQUIRE(watch);
    const auto outcome = run_on(loop, [&, peer = peer]() -> hostgate::awaitable<int> {
        using namespace asio::experimental::awaitable_operators;
        auto executor = co_await asio::this_coro::executor;
        watch->drained();
        asio::steady_timer timer(executor, 10ms);
        auto first =
            co_await (watch->wait(Watch::Side::read) || timer.async_wait(asio::use_awaitable));
        const int winner = static_cast<int>(first.index());  // 1: the timer
        REQUIRE(::write(peer, "x", 1) == 1);
        const auto [ec] = co_await watch->wait(Watch::Side::read);
        watch->close();
        co_return ec ? -1 : winner;
    }());
    CHECK(outcome == 1);
    ::close(peer);
}

TEST_CASE("post_and_wake and stop reach a loop blocked in its own epoll_wait") {
    EventLoop loop;
    auto [ours, peer] = socket_pair();
    Watch* watch = loop.watch(ours);  // holds work: the loop runs until it is closed
    REQUIRE(watch);
    std::atomic<bool> ran{false};
    std::thread thread([&] { loop.run(); });
    std::this_thread::sleep_for(50ms);  // long enough for the loop to block (not needed to pass)
    hostgate::post_and_wake(loop.io().get_executor(), [&] {
        ran = true;
        watch->close();  // the loop's last work: run() returns
    });
    thread.join();  // hangs if the post did not wake the loop
    CHECK(ran);

    EventLoop second;
    auto [other, other_peer] = socket_pair();
    Watch* held = second.watch(other);
    REQUIRE(held);
    std::thread stopped([&] { second.run(); });
    std::this_thread::sleep_for(50ms);
    second.stop();
    stopped.join();  // hangs if stop() did not wake the loop
    held->close();
    ::close(peer);
    ::close(other_peer);
}

TEST_CASE("a stream connects on the loop, and reads and writes there") {
    EventLoop loop;
    tcp::acceptor acceptor(loop.io(), {asio::ip::make_address("127.0.0.1"), 0});
    const auto echoed = run_on(loop, [&]() -> hostgate::awaitable<std::string> {
        auto executor = co_await asio::this_coro::executor;
        asio::co_spawn(
            executor,
            [&]() -> hostgate::awaitable<void> {  // echoes one message
                auto socket = co_await acceptor.async_accept(asio::use_awaitable);
                char buffer[64];
                const auto n =
                    co_await socket.async_read_some(asio::buffer(buffer), asio::use_awaitable);
                co_await asio::async_write(socket, asio::buffer(buffer, n), asio::use_awaitable);
            },
            asio::detached);
        hostgate::Stream stream{tcp::socket(executor)};
        if (auto ec = co_await stream.connect(acceptor.local_endpoint(), std::nullopt))
            co_return "connect: " + ec.message();
        CHECK(stream.native_handle() >= 0);
        CHECK(stream.local_endpoint().address.to_string() == "127.0.0.1");
        if (auto ec = co_await stream.write(asio::buffer(std::string_view("hello"))))
            co_return "write: " + ec.message();
        char buffer[64];
        auto [ec, n] = co_await stream.read_some(asio::buffer(buffer));
        if (ec) co_return "read: " + ec.message();
        std::string got(buffer, n);
        stream.close();
        CHECK(stream.native_handle() == -1);
        co_return got;
    }());
    CHECK(echoed == "hello");
}
