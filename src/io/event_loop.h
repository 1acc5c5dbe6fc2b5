#pragma once
// A thread's event loop: asio's io_context, and one epoll set of hostgate's own in which relayed
// sockets are watched edge-triggered, registered once for their whole life.
//
// Why: asio 1.22 re-arms a socket with EPOLL_CTL_MOD at every wait, and its reads learn that a
// socket is drained only from a failed recv: a relayed query paid one or the other on each leg.
// Here, as in HAProxy, a socket is added once with EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET; an
// edge marks it readable (or writable) until a read comes back short (or a write partial), and
// only then does a reader wait for the next edge.
//
// The contract:
// - run() blocks in epoll_wait on the loop's own set. It holds the watched sockets, asio's own
//   epoll set (nested, level-triggered) and an eventfd to wake the loop. When asio's set has
//   events the loop runs io_context::poll(): asio's handlers, timers, signals and sockets work as
//   under io_context::run().
// - A waiter on a watched socket (Watch::wait) is a coroutine suspended on an asio completion
//   handler. The loop invokes it directly when the edge comes, outside io_context::run(). A
//   coroutine so resumed that does not go back to waiting on a watch may have posted to the
//   io_context (a relay ending, a turn given to others): the loop then polls the io_context.
// - asio wakes a thread blocked in its own reactor when something is posted from elsewhere, not
//   one blocked here. Code that posts to another thread's loop calls post_and_wake(); stop()
//   wakes the loop itself.
// - A Watch belongs to one loop and is used on that loop's thread only. Closing it closes the
//   socket (which leaves the epoll set with it) and completes its waiters with
//   operation_aborted; its memory is kept until the loop has finished the events it read.
// - asio keeps its epoll set private: the loop finds it as the one epoll descriptor that creating
//   the io_context's reactor adds to the process (loops are made at start-up, one thread). Should
//   that fail, the loop logs why, run() is io_context::run(), and sockets stay with asio
//   (EventLoop::current() is null).

#include <sys/epoll.h>

#include <memory>
#include <system_error>
#include <vector>

#include "src/io/net.h"

namespace hostgate {

class EventLoop;
class WatchWaiter;

// A socket on an event loop: its descriptor, whether it is known readable and writable, and the
// coroutines waiting for either.
class Watch {
  public:
    enum class Side { read, write };

    int fd() const { return fd_; }  // -1 once closed
    // Known to have bytes (or an end) waiting: set by an edge, cleared by drained().
    bool readable() const { return readable_; }
    bool writable() const { return writable_; }
    // A read came back short, or with EAGAIN. Once the peer has ended its side (or the socket
    // failed) the socket stays readable: the end comes with the edge of the last bytes, and the
    // next read returns it, with no edge of its own.
    void drained() { readable_ = ended_; }
    // A write was partial, or EAGAIN; a failed socket stays writable (the write returns the error).
    void full() { writable_ = failed_; }

    // Until the next edge on that side, or the watch is closed (operation_aborted). Callers look
    // at readable() or writable() first: a side known ready completes through the io_context,
    // later. One waiter per side; cancellation (as `||` does to the losing branch) completes it
    // with operation_aborted.
    awaitable<std::tuple<std::error_code>> wait(Side side);

    // Closes the socket; waiters complete with operation_aborted.
    void close();
    // Takes the socket out of the loop's set, open, for the caller to own (and asio to watch);
    // waiters complete with operation_aborted.
    int release();

    Watch(EventLoop& loop, int fd);
    ~Watch();  // a waiter still there is destroyed, not run
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

  private:
    friend class EventLoop;
    friend struct WaitCancellation;
    enum class Completion { now, posted, cancelled };

    template <class Handler>
    void start_wait(Side side, Handler handler);
    void on_events(std::uint32_t events);
    void finish_all();  // after close or release: waiters aborted, the watch retired
    void complete(Side side, std::error_code ec, Completion how);

    EventLoop& loop_;
    int fd_;
    // Bytes already waiting when the socket is added make an edge at once, which sets readable_.
    bool readable_ = false;
    bool writable_ = true;
    bool ended_ = false;   // EPOLLRDHUP, EPOLLHUP or EPOLLERR seen
    bool failed_ = false;  // EPOLLHUP or EPOLLERR seen
    // The waiters, in storage of the watch's own (no allocation per wait).
    static constexpr std::size_t kWaiterBytes = 32;
    WatchWaiter* waiters_[2] = {nullptr, nullptr};
    alignas(std::max_align_t) std::byte waiter_storage_[2][kWaiterBytes];
    asio::executor_work_guard<asio::io_context::executor_type> work_;  // the loop runs meanwhile
    unsigned forks_ = 0;  // forks before the socket was added (see ForkFence)
    Watch* open_prev_ = nullptr;
    Watch* open_next_ = nullptr;
};

class EventLoop {
  public:
    EventLoop();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    asio::io_context& io() { return *io_; }

    // Until the io_context stops (it runs out of work, or stop() is called).
    void run();
    // From any thread.
    void stop();
    void wake();

    // The loop running on this thread, if it watches sockets.
    static EventLoop* current();
    // The loop of an io_context, if it is one of these.
    static EventLoop* of(const asio::execution_context& context);

    // Takes the descriptor (non-blocking, owned from now on) into the loop's set; nullptr and the
    // descriptor closed if epoll refuses it. The watch lives until Watch::close(), which whoever
    // holds it calls.
    Watch* watch(int fd);

  private:
    friend class Watch;
    void retire(Watch* watch);

    std::unique_ptr<asio::io_context> io_;
    int epoll_fd_ = -1;                            // ours; -1 when sockets stay with asio
    int reactor_fd_ = -1;                          // asio's, nested in ours
    int wake_fd_ = -1;                             // an eventfd
    std::vector<std::unique_ptr<Watch>> retired_;  // closed, freed once the round's events are done
    // Open watches, linked through Watch::open_prev_/open_next_: what a loop destroyed before its
    // sockets were closed still holds (a waiter owns its coroutine, whose stream owns the watch).
    Watch* open_ = nullptr;
    std::uint64_t resumed_ = 0;  // waiters invoked by the loop
    std::uint64_t waiting_ = 0;  // waits started
    bool posted_ = false;        // a waiter completion was posted to the io_context
};

// Held around fork() (an upgrade's). A socket open when a child is forked lives on in the child
// for a moment, and with it its place in the loop's epoll set: such a socket leaves the set
// explicitly before it is closed, since its events would otherwise name a freed watch. Other
// sockets need not (a system call less each); the fence keeps a close from slipping past a fork.
class ForkFence {
  public:
    ForkFence();
    ~ForkFence();
    ForkFence(const ForkFence&) = delete;
    ForkFence& operator=(const ForkFence&) = delete;
};

// asio::post to an executor that may belong to another thread's event loop, and wakes that loop.
template <class Executor, class Function>
void post_and_wake(const Executor& executor, Function function) {
    asio::post(executor, std::move(function));
    if (EventLoop* loop = EventLoop::of(asio::query(executor, asio::execution::context)))
        loop->wake();
}

}  // namespace hostgate
