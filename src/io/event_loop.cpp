#include "src/io/event_loop.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <filesystem>
#include <mutex>
#include <set>
#include <shared_mutex>

namespace hostgate {
namespace {

thread_local EventLoop* running = nullptr;

// Forks so far, and the fence between a fork and closes (ForkFence).
std::shared_mutex fork_fence;
std::atomic<unsigned> forks{0};

// Every loop made, for post_and_wake(); loops are made at start-up and live until the end.
std::mutex loops_mutex;
std::vector<EventLoop*> all_loops;

constexpr std::uint32_t kWatched = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
constexpr std::size_t kEventsPerRound = 128;
// Tags in epoll_event::data for the loop's own descriptors; watches are pointers, never this low.
constexpr std::uint64_t kReactorTag = 1;
constexpr std::uint64_t kWakeTag = 2;

std::set<int> epoll_descriptors() {
    std::set<int> found;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        std::error_code link_error;
        const auto target = std::filesystem::read_symlink(entry.path(), link_error);
        if (!link_error && target == "anon_inode:[eventpoll]")
            found.insert(std::stoi(entry.path().filename().string()));
    }
    return found;
}

bool add(int epoll_fd, int fd, std::uint32_t events, std::uint64_t tag) {
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = tag;
    return ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0;
}

}  // namespace

// A waiter's completion handler, type-erased; and the cancellation slot it was given, if any.
class WatchWaiter {
  public:
    virtual ~WatchWaiter() = default;
    // Destroys this object, then runs the handler: here, or through the io_context if given.
    virtual void finish(std::error_code ec, asio::io_context* post_to) = 0;
    asio::cancellation_slot slot;
};

namespace {

template <class Handler>
class WaiterFor final : public WatchWaiter {
  public:
    explicit WaiterFor(Handler handler) : handler_(std::move(handler)) {}
    void finish(std::error_code ec, asio::io_context* post_to) override {
        Handler handler = std::move(handler_);
        this->~WaiterFor();  // the place is free for the next wait the handler may start
        if (post_to) {
            asio::post(*post_to,
                       [handler = std::move(handler), ec]() mutable { std::move(handler)(ec); });
        } else {
            std::move(handler)(ec);
        }
    }
    Handler& handler() { return handler_; }

  private:
    Handler handler_;
};

}  // namespace

struct WaitCancellation {
    Watch* watch;
    Watch::Side side;
    void operator()(asio::cancellation_type) {
        if (Watch* w = std::exchange(watch, nullptr))
            w->complete(side, asio::error::operation_aborted, Watch::Completion::cancelled);
    }
};

Watch::Watch(EventLoop& loop, int fd)
    : loop_(loop), fd_(fd), work_(loop.io().get_executor()), forks_(forks.load()) {}

Watch::~Watch() {
    for (WatchWaiter* waiter : waiters_)
        if (waiter) waiter->~WatchWaiter();
}

awaitable<std::tuple<std::error_code>> Watch::wait(Side side) {
    return asio::async_initiate<decltype(use_nothrow), void(std::error_code)>(
        [this, side](auto handler) { start_wait(side, std::move(handler)); }, use_nothrow);
}

template <class Handler>
void Watch::start_wait(Side side, Handler handler) {
    const int i = static_cast<int>(side);
    if (waiters_[i]) complete(side, asio::error::operation_aborted, Completion::posted);  // never
    static_assert(sizeof(WaiterFor<Handler>) <= kWaiterBytes);
    auto* waiter = new (waiter_storage_[i]) WaiterFor<Handler>(std::move(handler));
    waiters_[i] = waiter;
    ++loop_.waiting_;
    if (fd_ < 0 || (side == Side::read ? readable_ : writable_)) {
        complete(side, fd_ < 0 ? asio::error::operation_aborted : std::error_code{},
                 Completion::posted);
        return;
    }
    auto slot = asio::get_associated_cancellation_slot(waiter->handler());
    if (slot.is_connected()) {
        waiter->slot = slot;
        slot.template emplace<WaitCancellation>(WaitCancellation{this, side});
    }
}

void Watch::complete(Side side, std::error_code ec, Completion how) {
    WatchWaiter* waiter = std::exchange(waiters_[static_cast<int>(side)], nullptr);
    if (!waiter) return;
    // A cancellation handler is not cleared from within itself; the handler clears its slot when
    // it runs.
    if (how != Completion::cancelled && waiter->slot.is_connected()) waiter->slot.clear();
    if (how == Completion::now) {
        ++loop_.resumed_;
        waiter->finish(ec, nullptr);
        return;
    }
    loop_.posted_ = true;
    waiter->finish(ec, &loop_.io());
}

void Watch::on_events(std::uint32_t events) {
    const bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    failed_ = failed_ || failed;
    ended_ = ended_ || failed || (events & EPOLLRDHUP) != 0;
    if (fd_ >= 0 && (failed || (events & (EPOLLIN | EPOLLRDHUP)))) {
        readable_ = true;
        complete(Side::read, {}, Completion::now);
    }
    if (fd_ >= 0 && (failed || (events & EPOLLOUT))) {  // the reader may have closed it
        writable_ = true;
        complete(Side::write, {}, Completion::now);
    }
}

ForkFence::ForkFence() {
    fork_fence.lock();
    ++forks;
}

ForkFence::~ForkFence() {
    fork_fence.unlock();
}

void Watch::close() {
    if (fd_ < 0) return;
    {
        std::shared_lock fence(fork_fence);
        // A copy of the descriptor in a forked child would keep the socket in the set.
        if (forks.load() != forks_) ::epoll_ctl(loop_.epoll_fd_, EPOLL_CTL_DEL, fd_, nullptr);
        ::close(fd_);  // and out of the set with it
    }
    fd_ = -1;
    finish_all();
}

int Watch::release() {
    const int fd = std::exchange(fd_, -1);
    if (fd < 0) return fd;
    ::epoll_ctl(loop_.epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);  // it stays open
    finish_all();
    return fd;
}

void Watch::finish_all() {
    complete(Side::read, asio::error::operation_aborted, Completion::posted);
    complete(Side::write, asio::error::operation_aborted, Completion::posted);
    work_.reset();
    loop_.retire(this);
}

EventLoop::EventLoop() {
    const auto before = epoll_descriptors();
    io_ = std::make_unique<asio::io_context>(1);
    { tcp::socket probe(*io_); }  // asio makes its reactor, and its epoll set, for the first socket
    std::vector<int> made;
    for (int fd : epoll_descriptors())
        if (!before.contains(fd)) made.push_back(fd);
    {
        std::lock_guard lock(loops_mutex);
        all_loops.push_back(this);
    }
    if (made.size() != 1) {
        spdlog::warn(
            "event loop: {} epoll sets appeared with asio's reactor, not one: relayed sockets "
            "stay with asio",
            made.size());
        return;
    }
    epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epoll_fd_ < 0 || wake_fd_ < 0 || !add(epoll_fd_, made.front(), EPOLLIN, kReactorTag) ||
        !add(epoll_fd_, wake_fd_, EPOLLIN, kWakeTag)) {
        spdlog::warn("event loop: {}: relayed sockets stay with asio",
                     std::error_code(errno, std::system_category()).message());
        if (epoll_fd_ >= 0) ::close(epoll_fd_);
        if (wake_fd_ >= 0) ::close(wake_fd_);
        epoll_fd_ = wake_fd_ = -1;
        return;
    }
    reactor_fd_ = made.front();
}

EventLoop::~EventLoop() {
    {
        std::lock_guard lock(loops_mutex);
        std::erase(all_loops, this);
    }
    // Coroutines still waiting on a watch are destroyed with their waiters, as asio destroys
    // the operations it holds; their streams close their watches meanwhile.
    std::vector<Watch*> open;
    for (Watch* w = open_; w; w = w->open_next_) open.push_back(w);
    for (Watch* w : open) {
        for (WatchWaiter*& waiter : w->waiters_)
            if (WatchWaiter* destroyed = std::exchange(waiter, nullptr)) destroyed->~WatchWaiter();
    }
    io_.reset();  // what it still holds may close watches
    retired_.clear();
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    if (wake_fd_ >= 0) ::close(wake_fd_);
}

EventLoop* EventLoop::current() {
    return running;
}

EventLoop* EventLoop::of(const asio::execution_context& context) {
    std::lock_guard lock(loops_mutex);
    for (EventLoop* loop : all_loops)
        if (loop->io_.get() == &context) return loop;
    return nullptr;
}

void EventLoop::stop() {
    io_->stop();
    wake();
}

void EventLoop::wake() {
    if (wake_fd_ >= 0) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

Watch* EventLoop::watch(int fd) {
    auto watch = std::make_unique<Watch>(*this, fd);
    if (!add(epoll_fd_, fd, kWatched, reinterpret_cast<std::uintptr_t>(watch.get()))) {
        spdlog::warn("event loop: cannot watch a socket: {}",
                     std::error_code(errno, std::system_category()).message());
        ::close(fd);
        return nullptr;
    }
    watch->open_next_ = open_;
    if (open_) open_->open_prev_ = watch.get();
    open_ = watch.get();
    return watch.release();
}

void EventLoop::retire(Watch* watch) {
    if (watch->open_prev_) watch->open_prev_->open_next_ = watch->open_next_;
    if (watch->open_next_) watch->open_next_->open_prev_ = watch->open_prev_;
    if (open_ == watch) open_ = watch->open_next_;
    watch->open_prev_ = watch->open_next_ = nullptr;
    retired_.emplace_back(watch);
}

void EventLoop::run() {
    if (epoll_fd_ < 0) {
        io_->run();
        return;
    }
    running = this;
    // asio recycles the memory of coroutine frames and handlers through a cache it finds on the
    // thread's call stack, which io_context::run() sets up. The coroutines the loop resumes run
    // outside that: this gives them a cache of their own, under a key that is not the
    // io_context's (asio does not take them for handlers of its own, and posts go to its queue).
    asio::detail::thread_context key;
    asio::detail::thread_info_base memory;
    const asio::detail::call_stack<asio::detail::thread_context,
                                   asio::detail::thread_info_base>::context recycled(&key, memory);
    std::array<epoll_event, kEventsPerRound> events;
    io_->poll();  // what was posted before the loop ran
    while (!io_->stopped()) {
        retired_.clear();
        const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            spdlog::critical("event loop: epoll_wait: {}",
                             std::error_code(errno, std::system_category()).message());
            break;
        }
        bool poll = false;
        const std::uint64_t resumed = resumed_, waiting = waiting_;
        for (int i = 0; i < n; ++i) {
            const std::uint64_t tag = events[static_cast<std::size_t>(i)].data.u64;
            if (tag == kReactorTag) {
                poll = true;
            } else if (tag == kWakeTag) {
                std::uint64_t count;
                [[maybe_unused]] const auto r = ::read(wake_fd_, &count, sizeof count);
                poll = true;
            } else {
                reinterpret_cast<Watch*>(tag)->on_events(
                    events[static_cast<std::size_t>(i)].events);
            }
        }
        // A coroutine resumed here that did not go back to a watch went on through asio (a
        // relay ended, a turn given to others): what it posted runs now.
        if (poll || posted_ || resumed_ - resumed > waiting_ - waiting) {
            posted_ = false;
            io_->poll();
        }
    }
    running = nullptr;
}

}  // namespace hostgate
