#include "src/stream.h"

namespace hostgate {

awaitable<std::error_code> Stream::start_tls_server(asio::ssl::context& context) {
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::start_tls_client(asio::ssl::context& context) {
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
    co_return ec;
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buffer) {
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, use_nothrow);
        co_return std::pair{ec, n};
    }
    auto [ec, n] = co_await plain_.async_read_some(buffer, use_nothrow);
    co_return std::pair{ec, n};
}

awaitable<std::error_code> Stream::write(asio::const_buffer buffer) {
    if (tls_) {
        auto [ec, n] = co_await asio::async_write(*tls_, buffer, use_nothrow);
        co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(plain_, buffer, use_nothrow);
    co_return ec;
}

std::string Stream::tls_description() const {
    if (!tls_) return {};
    SSL* ssl = const_cast<asio::ssl::stream<tcp::socket>&>(*tls_).native_handle();
    return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

void Stream::close() {
    std::error_code ignored;
    socket().shutdown(tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
}

}  // namespace hostgate
