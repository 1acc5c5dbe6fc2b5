#include "src/runtime/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <thread>

#include "protocol/mysql_server_errors.h"
#include "src/backends/monitor.h"
#include "src/operations/admin.h"
#include "src/runtime/upgrade.h"
#include "src/session/session.h"
#include "src/session/watchdog.h"

namespace hostgate {
namespace {

using Loops = std::vector<std::unique_ptr<EventLoop>>;
// A client listener: the address it serves (as an upgrade names it) and its acceptor.
struct ClientAcceptor {
    std::string address;
    std::unique_ptr<tcp::acceptor> acceptor;
};
using Acceptors = std::vector<ClientAcceptor>;

// Over max_connections: ERR 1040 in place of the greeting, and closed.
awaitable<void> refuse_over_limit(Runtime& rt, Stream client, std::uint32_t id, unsigned limit) {
    spdlog::warn("session {}: refused: max_connections ({}) reached", id, limit);
    rt.metrics.count_event(SessionEvent::too_many_connections);
    rt.metrics.count_refusal(RefusalReason::max_connections);
    const auto error =
        protocol::mysql::server_error(protocol::mysql::ServerError::too_many_connections);
    const protocol::Bytes framed = protocol::mysql::Refusal::before_greeting(error).wire();
    co_await client.write(asio::buffer(framed));
}

awaitable<void> serve_clients(Runtime& rt, tcp::acceptor& acceptor) {
    co_await accept_streams(acceptor, [&rt](Stream client) {
        const std::uint32_t id = rt.next_session_id();
        const unsigned limit = rt.config()->max_connections;
        if (rt.active_sessions.load() >= limit)
            return refuse_over_limit(rt, std::move(client), id, limit);
        return run_session(rt, std::move(client), id);
    });
}

// Calls `handler` on every delivery of the set's signals until the set is cancelled.
void on_every(asio::signal_set& signals, std::function<void(int)> handler) {
    signals.async_wait(
        [&signals, handler = std::move(handler)](std::error_code ec, int signal) mutable {
            if (ec) return;
            handler(signal);
            on_every(signals, std::move(handler));
        });
}

// An acceptor bound to `endpoint`, with SO_REUSEPORT when `shared`.
std::unique_ptr<tcp::acceptor> bound(asio::io_context& loop, const tcp::endpoint& endpoint,
                                     bool shared) {
    auto acceptor = std::make_unique<tcp::acceptor>(loop);
    acceptor->open(endpoint.protocol());
    acceptor->set_option(tcp::acceptor::reuse_address(true));
    if (shared) {
        const int one = 1;
        ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    }
    if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
    acceptor->bind(endpoint);
    return acceptor;
}

// One acceptor per loop on each address, sharing it with SO_REUSEPORT so that the kernel spreads
// connections. SO_REUSEPORT would also let a second hostgate (or any process of this user) listen
// there and silently take a share of the clients, so an address something already listens on is
// refused first: a bind without SO_REUSEPORT fails on it. An address whose sockets an upgrade
// handed over (src/runtime/upgrade.h) is served on those very sockets, shared among the loops; a
// loop without one gets a socket of its own in their SO_REUSEPORT group. Throws std::system_error.
Acceptors listen(const Config& config, Loops& loops, Inheritance& inherited) {
    Acceptors acceptors;
    for (const auto& address : config.listen) {
        const auto endpoint = to_asio(address);
        try {
            const std::vector<int> handed = inherited.take(Listener::Kind::client, address);
            if (handed.empty()) bound(loops.front()->io(), endpoint, false);
            for (std::size_t i = 0; i < handed.size(); ++i)
                acceptors.push_back({address.to_string(), std::make_unique<tcp::acceptor>(
                                                              loops[i % loops.size()]->io(),
                                                              endpoint.protocol(), handed[i])});
            for (std::size_t i = handed.size(); i < loops.size(); ++i) {
                acceptors.push_back({address.to_string(), bound(loops[i]->io(), endpoint, true)});
                acceptors.back().acceptor->listen(asio::socket_base::max_listen_connections);
            }
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), "listen on " + address.to_string());
        }
        spdlog::info("listening on {}", address.to_string());
    }
    return acceptors;
}

// The admin or metrics listener: the one an upgrade handed over, or a new one.
std::unique_ptr<tcp::acceptor> single_listener(asio::io_context& loop, Listener::Kind kind,
                                               const protocol::Endpoint& address,
                                               Inheritance& inherited) {
    std::vector<int> handed = inherited.take(kind, address);
    if (handed.empty()) return std::make_unique<tcp::acceptor>(loop, to_asio(address));
    for (std::size_t i = 1; i < handed.size(); ++i) ::close(handed[i]);
    return std::make_unique<tcp::acceptor>(loop, to_asio(address).protocol(), handed.front());
}

// SIGTERM: /ready turns 503 at once; after drain_delay_ms stop accepting, let sessions finish
// for shutdown_grace_ms, close the rest, stop. After an upgrade handed the listeners over
// (`handed_over`), all of them, admin and metrics too, close at once: the new process serves them.
awaitable<void> shut_down(Runtime& rt, std::vector<tcp::acceptor*> to_close, Loops& loops,
                          bool handed_over) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    if (rt.draining.exchange(true)) co_return;  // a shutdown is under way already
    if (const auto delay = rt.config()->drain_delay; delay.count() > 0 && !handed_over) {
        spdlog::info("draining: /ready answers 503; the listeners close in {} ms", delay.count());
        spdlog::default_logger()->flush();
        timer.expires_after(delay);
        co_await timer.async_wait(use_nothrow);
    }
    // Each acceptor is closed on its own loop's thread; wait until all are. In a process that
    // handed its listeners over this closes only its own descriptors: the sockets, and the
    // connections waiting in their backlogs, stay with the new process.
    auto open = std::make_shared<std::atomic<std::size_t>>(to_close.size());
    for (tcp::acceptor* acceptor : to_close)
        post_and_wake(acceptor->get_executor(), [a = acceptor, open] {
            std::error_code ignored;
            a->close(ignored);
            --*open;
        });
    while (*open > 0) {
        timer.expires_after(std::chrono::milliseconds(5));
        co_await timer.async_wait(use_nothrow);
    }
    const auto grace = rt.config()->shutdown_grace;
    spdlog::info("stopped accepting; {} sessions may finish within {} ms",
                 rt.active_sessions.load(), grace.count());
    auto wait_for_sessions = [&](std::chrono::steady_clock::time_point until) -> awaitable<void> {
        while (rt.active_sessions.load() > 0 && std::chrono::steady_clock::now() < until) {
            timer.expires_after(std::chrono::milliseconds(20));
            co_await timer.async_wait(use_nothrow);
        }
    };
    co_await wait_for_sessions(std::chrono::steady_clock::now() + grace);
    if (rt.active_sessions.load() > 0) {
        spdlog::info("closing {} sessions still open", rt.active_sessions.load());
        for (const auto& [id, entry] : rt.sessions.snapshot()) rt.sessions.terminate(id);
        co_await wait_for_sessions(std::chrono::steady_clock::now() + std::chrono::seconds(2));
    }
    spdlog::info("stopped");
    for (auto& loop : loops) loop->stop();
}

// Waits for the process an upgrade started: "ready" on its pipe, or the end of the pipe (it
// failed), or nothing within kSuccessorTimeout (it is stopped). Returns whether it serves.
constexpr auto kSuccessorTimeout = std::chrono::seconds(60);

awaitable<bool> successor_ready(Successor successor) {
    auto executor = co_await asio::this_coro::executor;
    asio::posix::stream_descriptor pipe(executor, successor.ready_fd);
    Watchdog deadline(executor, kSuccessorTimeout, [&pipe] {
        std::error_code ignored;
        pipe.close(ignored);
    });
    std::string said;
    std::array<char, 16> chunk;
    for (;;) {
        auto [ec, n] = co_await pipe.async_read_some(asio::buffer(chunk), use_nothrow);
        if (ec) break;
        said.append(chunk.data(), n);
        if (said.find('\n') != std::string::npos) break;
    }
    if (said == "ready\n") co_return true;
    if (deadline.fired()) {
        spdlog::error("upgrade: process {} did not say it was ready within {} s; stopping it",
                      successor.pid, kSuccessorTimeout.count());
        ::kill(successor.pid, SIGTERM);
    }
    // Reap it: it has exited, or will within moments.
    asio::steady_timer timer(executor);
    int status = 0;
    for (int i = 0; i < 250 && ::waitpid(successor.pid, &status, WNOHANG) == 0; ++i) {
        timer.expires_after(std::chrono::milliseconds(20));
        co_await timer.async_wait(use_nothrow);
    }
    spdlog::error(
        "upgrade failed: process {} exited ({}) before it served; this process keeps "
        "serving",
        successor.pid,
        WIFEXITED(status)     ? "status " + std::to_string(WEXITSTATUS(status))
        : WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                              : std::string("still running"));
    co_return false;
}

// Raises the soft descriptor limit to the hard one: each session takes two descriptors, and a
// shell's default of 1,024 holds few. Warns when even that cannot hold max_connections.
void raise_descriptor_limit(unsigned max_connections) {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    constexpr rlim_t kMargin = 64;  // listeners, backends' probes, the audit file, pipes
    const rlim_t needed = 2 * static_cast<rlim_t>(max_connections) + kMargin;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed)
        spdlog::warn(
            "the descriptor limit is {}, below the {} that max_connections ({}) needs at two per "
            "session; raise LimitNOFILE (systemd) or ulimit -n, or lower server.max_connections",
            limit.rlim_cur, needed, max_connections);
}

}  // namespace

int run_server(Runtime& rt, Inheritance& inherited, const Command& command) {
    const auto config = rt.config();
    raise_descriptor_limit(config->max_connections);
    const unsigned threads =
        config->threads ? config->threads : std::max(1u, std::thread::hardware_concurrency());
    Loops loops;
    for (unsigned i = 0; i < threads; ++i) loops.push_back(std::make_unique<EventLoop>());

    // The admin port has a thread of its own: its SQL may take a while (admin_sql.h bounds it)
    // and must not hold up the sessions of an event loop.
    asio::io_context admin_io;
    Acceptors acceptors;
    std::unique_ptr<tcp::acceptor> metrics_acceptor, admin_acceptor;
    try {
        if (!config->audit_file.empty()) rt.audit = std::make_unique<AuditLog>(config->audit_file);
        acceptors = listen(*config, loops, inherited);
        if (config->admin_listen) {
            admin_acceptor =
                single_listener(admin_io, Listener::Kind::admin, *config->admin_listen, inherited);
            spdlog::info("admin port on {}", config->admin_listen->to_string());
        }
        if (config->metrics_listen) {
            metrics_acceptor = single_listener(loops.front()->io(), Listener::Kind::metrics,
                                               *config->metrics_listen, inherited);
            spdlog::info("metrics on http://{}/metrics", config->metrics_listen->to_string());
        }
    } catch (const std::system_error& e) {
        spdlog::critical("cannot start: {}", e.what());
        return 1;
    }
    spdlog::default_logger()->flush();  // the start-up lines, at once
    for (auto& [address, acceptor] : acceptors)
        asio::co_spawn(acceptor->get_executor(), serve_clients(rt, *acceptor), asio::detached);
    if (metrics_acceptor)
        asio::co_spawn(loops.front()->io(), serve_metrics(rt, *metrics_acceptor), asio::detached);
    if (admin_acceptor) asio::co_spawn(admin_io, serve_admin(rt, *admin_acceptor), asio::detached);

    asio::co_spawn(loops.front()->io(), run_monitor(rt), asio::detached);
    // Learn the backends' greetings before the first client arrives; the monitor's first round
    // does that when it runs (and, logging in, leaves no aborted connection on the backend).
    if (!config->monitor_enabled)
        for (Backend* b : rt.backends.all())
            asio::co_spawn(loops.front()->io(), probe_backend(*b, config->connect_timeout),
                           asio::detached);

    for (const std::string& gone : inherited.close_untaken())
        spdlog::warn("upgrade: the {} listener is no longer configured; closed", gone);
    // What an upgrade hands over, and what it closes here once the new process serves.
    std::vector<Listener> listeners;
    std::vector<tcp::acceptor*> client_acceptors, all_acceptors;
    for (auto& [address, acceptor] : acceptors) {
        listeners.push_back({Listener::Kind::client, address, acceptor->native_handle()});
        client_acceptors.push_back(acceptor.get());
    }
    all_acceptors = client_acceptors;
    if (admin_acceptor) {
        listeners.push_back({Listener::Kind::admin, config->admin_listen->to_string(),
                             admin_acceptor->native_handle()});
        all_acceptors.push_back(admin_acceptor.get());
    }
    if (metrics_acceptor) {
        listeners.push_back({Listener::Kind::metrics, config->metrics_listen->to_string(),
                             metrics_acceptor->native_handle()});
        all_acceptors.push_back(metrics_acceptor.get());
    }
    if (inherited.upgrade()) {
        spdlog::info("upgrade: serving the listeners handed over; telling the old process");
        inherited.report_ready();
    } else {
        notify_systemd("READY=1");
    }

    asio::signal_set stop_signals(loops.front()->io(), SIGTERM, SIGINT);
    on_every(stop_signals, [&](int signal) {
        spdlog::info("signal {}: shutting down", signal);
        asio::co_spawn(loops.front()->io(), shut_down(rt, client_acceptors, loops, false),
                       asio::detached);
    });
    // SIGUSR2: a new process of the binary at its path takes the listeners over.
    bool upgrading = false;  // on loops.front() only
    asio::signal_set upgrade_signal(loops.front()->io(), SIGUSR2);
    on_every(upgrade_signal, [&](int) {
        if (upgrading || rt.draining) {
            spdlog::warn("SIGUSR2: an upgrade or a shutdown is under way; ignored");
            return;
        }
        auto successor = start_successor(command, listeners);
        if (!successor) {
            spdlog::error("upgrade: cannot start {}: {}", command.path, successor.error());
            return;
        }
        upgrading = true;
        spdlog::info("upgrade: started {} as process {}; serving until it is ready", command.path,
                     successor->pid);
        spdlog::default_logger()->flush();
        asio::co_spawn(
            loops.front()->io(),
            [&rt, &loops, &upgrading, &all_acceptors, successor = *successor]() -> awaitable<void> {
                if (!co_await successor_ready(successor)) {
                    upgrading = false;
                    co_return;
                }
                notify_systemd("MAINPID=" + std::to_string(successor.pid));
                spdlog::info(
                    "upgrade: process {} is serving; this one stops accepting and "
                    "drains",
                    successor.pid);
                co_await shut_down(rt, all_acceptors, loops, true);
            },
            asio::detached);
    });
    asio::signal_set reload_signal(loops.front()->io(), SIGHUP);
    on_every(reload_signal, [&](int) {
        auto result = rt.reload();
        rt.metrics.count_reload(result.has_value());
        if (result) {
            spdlog::info("reloaded {}: {}", rt.config()->source.string(), *result);
        } else {
            spdlog::error("reload failed, the previous configuration and grants stay in force: {}",
                          result.error());
        }
        spdlog::default_logger()->flush();
    });
    asio::signal_set reopen_signal(loops.front()->io(), SIGUSR1);
    on_every(reopen_signal, [&](int) {
        if (rt.audit) rt.audit->reopen();
    });

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&, i] { loops[i]->run(); });
    auto admin_work = asio::make_work_guard(admin_io);
    std::thread admin_thread;
    if (admin_acceptor)
        admin_thread = std::thread([&] {
            ::pthread_setname_np(::pthread_self(), "hostgate-admin");  // as top -H shows it
            admin_io.run();
        });
    loops.front()->run();
    for (auto& loop : loops) loop->stop();
    for (auto& w : workers) w.join();
    admin_io.stop();
    if (admin_thread.joinable()) admin_thread.join();
    rt.audit.reset();  // writes what is queued
    return 0;
}

}  // namespace hostgate
