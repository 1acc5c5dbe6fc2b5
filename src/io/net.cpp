#include "src/io/net.h"

#include <spdlog/spdlog.h>

#include <cerrno>

namespace hostgate {

AcceptFailures::AcceptFailures(const tcp::acceptor& acceptor) {
    std::error_code ec;
    listener_ = to_endpoint(acceptor.local_endpoint(ec)).to_string();
}

awaitable<void> AcceptFailures::after(tcp::acceptor& acceptor, std::error_code ec) {
    const int e = ec.category() == asio::error::get_system_category() ? ec.value() : 0;
    const bool exhausted = e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
    const auto now = std::chrono::steady_clock::now();
    ++unlogged_;
    if (logged_ == std::chrono::steady_clock::time_point{} || now - logged_ >= kLogInterval) {
        spdlog::warn("accept on {}: {}{} ({} in the last {} s)", listener_, ec.message(),
                     exhausted ? "; pausing accepts 100 ms at a time" : "", unlogged_,
                     kLogInterval.count());
        logged_ = now;
        unlogged_ = 0;
    }
    if (!exhausted) co_return;
    asio::steady_timer pause(acceptor.get_executor(), kAcceptPause);
    co_await pause.async_wait(use_nothrow);
}

protocol::Endpoint to_endpoint(const tcp::endpoint& e) {
    protocol::Endpoint out;
    out.port = e.port();
    if (e.address().is_v4()) {
        out.address = protocol::IpAddress::v4(e.address().to_v4().to_bytes());
    } else {
        out.address = protocol::IpAddress::v6(e.address().to_v6().to_bytes());
    }
    return out;
}

std::error_code try_bind(const protocol::IpAddress& address) {
    asio::io_context io;
    tcp::socket socket(io);
    const tcp::endpoint at = to_asio({address, 0});
    std::error_code ec;
    socket.open(at.protocol(), ec);
    if (!ec) socket.bind(at, ec);
    return ec;
}

tcp::endpoint to_asio(const protocol::Endpoint& e) {
    const auto& raw = e.address.raw();
    if (e.address.is_v4()) return {asio::ip::address_v4({raw[0], raw[1], raw[2], raw[3]}), e.port};
    return {asio::ip::address_v6(raw), e.port};
}

}  // namespace hostgate
