#include "src/server.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "src/session.h"

namespace hostgate {
namespace {

awaitable<void> accept_loop(Runtime& rt, tcp::acceptor& acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            spdlog::warn("accept on {}: {}", to_endpoint(acceptor.local_endpoint()).to_string(),
                         ec.message());
            continue;
        }
        const std::uint32_t id = rt.next_session_id();
        if (rt.active_sessions.load() >= rt.config.max_connections) {
            spdlog::warn("session {}: refused: max_connections ({}) reached", id,
                         rt.config.max_connections);
            protocol::Bytes err, framed;
            protocol::mysql::encode_err({1040, "", "Too many connections"}, err);
            protocol::mysql::write_packet(framed, 0, err);
            std::error_code ignored;
            asio::write(socket, asio::buffer(framed), ignored);
            continue;
        }
        asio::co_spawn(acceptor.get_executor(), run_session(rt, std::move(socket), id),
                       asio::detached);
    }
}

}  // namespace

int run_server(Runtime& rt) {
    const unsigned threads =
        rt.config.threads ? rt.config.threads : std::max(1u, std::thread::hardware_concurrency());
    std::vector<std::unique_ptr<asio::io_context>> loops;
    for (unsigned i = 0; i < threads; ++i) loops.push_back(std::make_unique<asio::io_context>(1));

    std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
    try {
        for (const auto& address : rt.config.listen) {
            for (auto& loop : loops) {
                auto acceptor = std::make_unique<tcp::acceptor>(*loop);
                const auto endpoint = to_asio(address);
                acceptor->open(endpoint.protocol());
                acceptor->set_option(tcp::acceptor::reuse_address(true));
                const int one = 1;
                ::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
                if (endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
                acceptor->bind(endpoint);
                acceptor->listen(asio::socket_base::max_listen_connections);
                acceptors.push_back(std::move(acceptor));
            }
            spdlog::info("listening on {}", address.to_string());
        }
    } catch (const std::system_error& e) {
        spdlog::critical("cannot listen: {}", e.what());
        return 1;
    }
    for (auto& acceptor : acceptors)
        asio::co_spawn(acceptor->get_executor(), accept_loop(rt, *acceptor), asio::detached);

    // Learn the backends' greetings before the first client arrives.
    for (Backend* b : rt.backends.all())
        asio::co_spawn(*loops.front(), probe_backend(*b, rt.config.connect_timeout),
                       asio::detached);

    asio::signal_set signals(*loops.front(), SIGTERM, SIGINT);
    signals.async_wait([&](std::error_code ec, int signal) {
        if (ec) return;
        spdlog::info("signal {}: stopping", signal);
        for (auto& loop : loops) loop->stop();
    });

    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back([&, i] { loops[i]->run(); });
    loops.front()->run();
    for (auto& loop : loops) loop->stop();
    for (auto& w : workers) w.join();
    return 0;
}

}  // namespace hostgate
