#include "src/server.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <thread>

#include "protocol/mysql_server_errors.h"
#include "src/admin.h"
#include "src/monitor.h"
#include "src/session.h"

namespace hostgate {
namespace {

using Loops = std::vector<std::unique_ptr<asio::io_context>>;
using Acceptors = std::vector<std::unique_ptr<tcp::acceptor>>;

// Over max_connections: ERR 1040 in place of the greeting, and closed.
awaitable<void> refuse_over_limit(Runtime& rt, tcp::socket socket, std::uint32_t id,
                                  unsigned limit) {
    spdlog::warn("session {}: refused: max_connections ({}) reached", id, limit);
    rt.metrics.count_event(SessionEvent::too_many_connections);
    const auto error =
        protocol::mysql::server_error(protocol::mysql::ServerError::too_many_connections);
    co_await refuse_before_greeting(socket, error);
}

awaitable<void> serve_clients(Runtime& rt, tcp::acceptor& acceptor) {
    co_await accept_each(acceptor, [&rt](tcp::socket socket) {
        const std::uint32_t id = rt.next_session_id();
        const unsigned limit = rt.config()->max_connections;
        if (rt.active_sessions.load() >= limit)
            return refuse_over_limit(rt, std::move(socket), id, limit);
        return run_session(rt, std::move(socket), id);
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
// refused first: a bind without SO_REUSEPORT fails on it. Throws std::system_error.
Acceptors listen(const Config& config, Loops& loops) {
    Acceptors acceptors;
    for (const auto& address : config.listen) {
        const auto endpoint = to_asio(address);
        try {
            bound(*loops.front(), endpoint, false);
            for (auto& loop : loops) {
                acceptors.push_back(bound(*loop, endpoint, true));
                acceptors.back()->listen(asio::socket_base::max_listen_connections);
            }
        } catch (const std::system_error& e) {
            throw std::system_error(e.code(), "listen on " + address.to_string());
        }
        spdlog::info("listening on {}", address.to_string());
    }
    return acceptors;
}

// SIGTERM: stop accepting, let sessions finish for shutdown_grace_ms, close the rest, stop.
awaitable<void> shut_down(Runtime& rt, Acceptors& acceptors, Loops& loops) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    // Each acceptor is closed on its own loop's thread; wait until all are.
    auto open = std::make_shared<std::atomic<std::size_t>>(acceptors.size());
    for (auto& acceptor : acceptors)
        asio::post(acceptor->get_executor(), [a = acceptor.get(), open] {
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

int run_server(Runtime& rt) {
    const auto config = rt.config();
    raise_descriptor_limit(config->max_connections);
    const unsigned threads =
        config->threads ? config->threads : std::max(1u, std::thread::hardware_concurrency());
    Loops loops;
    for (unsigned i = 0; i < threads; ++i) loops.push_back(std::make_unique<asio::io_context>(1));

    Acceptors acceptors;
    std::unique_ptr<tcp::acceptor> metrics_acceptor, admin_acceptor;
    try {
        if (!config->audit_file.empty()) rt.audit = std::make_unique<AuditLog>(config->audit_file);
        acceptors = listen(*config, loops);
        if (config->admin_listen) {
            admin_acceptor =
                std::make_unique<tcp::acceptor>(*loops.front(), to_asio(*config->admin_listen));
            spdlog::info("admin port on {}", config->admin_listen->to_string());
        }
        if (config->metrics_listen) {
            metrics_acceptor =
                std::make_unique<tcp::acceptor>(*loops.front(), to_asio(*config->metrics_listen));
            spdlog::info("metrics on http://{}/metrics", config->metrics_listen->to_string());
        }
    } catch (const std::system_error& e) {
        spdlog::critical("cannot start: {}", e.what());
        return 1;
    }
    spdlog::default_logger()->flush();  // the start-up lines, at once
    for (auto& acceptor : acceptors)
        asio::co_spawn(acceptor->get_executor(), serve_clients(rt, *acceptor), asio::detached);
    if (metrics_acceptor)
        asio::co_spawn(*loops.front(), serve_metrics(rt, *metrics_acceptor), asio::detached);
    if (admin_acceptor)
        asio::co_spawn(*loops.front(), serve_admin(rt, *admin_acceptor), asio::detached);

    asio::co_spawn(*loops.front(), run_monitor(rt), asio::detached);
    // Learn the backends' greetings before the first client arrives; the monitor's first round
    // does that when it runs (and, logging in, leaves no aborted connection on the backend).
    if (!config->monitor_enabled)
        for (Backend* b : rt.backends.all())
            asio::co_spawn(*loops.front(), probe_backend(*b, config->connect_timeout),
                           asio::detached);

    asio::signal_set stop_signals(*loops.front(), SIGTERM, SIGINT);
    stop_signals.async_wait([&](std::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("signal {}: shutting down", signal);
        asio::co_spawn(*loops.front(), shut_down(rt, acceptors, loops), asio::detached);
    });
    asio::signal_set reload_signal(*loops.front(), SIGHUP);
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
    asio::signal_set reopen_signal(*loops.front(), SIGUSR1);
    on_every(reopen_signal, [&](int) {
        if (rt.audit) rt.audit->reopen();
    });

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&, i] { loops[i]->run(); });
    loops.front()->run();
    for (auto& loop : loops) loop->stop();
    for (auto& w : workers) w.join();
    rt.audit.reset();  // writes what is queued
    return 0;
}

}  // namespace hostgate
