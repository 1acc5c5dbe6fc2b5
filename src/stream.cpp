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

// On plain TCP, reads and writes are first tried on the spot: when the socket is ready (as it is
// after wait_readable, and for most writes) that saves a trip through the event loop.
namespace {

bool make_non_blocking(tcp::socket& socket) {
    std::error_code ec;
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
    return !ec;
}

}  // namespace

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buffer) {
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, use_nothrow);
        co_return std::pair{ec, n};
    }
    auto [ec, n] = co_await plain_.async_read_some(buffer, use_nothrow);
    co_return std::pair{ec, n};
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_ready(asio::mutable_buffer buffer) {
    if (!tls_ && make_non_blocking(plain_)) {
        std::error_code ec;
        const std::size_t n = plain_.read_some(buffer, ec);
        if (ec != asio::error::would_block) co_return std::pair{ec, n};
    }
    co_return co_await read_some(buffer);
}

awaitable<std::error_code> Stream::wait_readable() {
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_read, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::wait_writable() {
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_write, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::write(asio::const_buffer buffer) {
    if (tls_) {
        auto [ec, n] = co_await asio::async_write(*tls_, buffer, use_nothrow);
        co_return ec;
    }
    if (make_non_blocking(plain_)) {
        std::error_code ec;
        buffer += plain_.write_some(buffer, ec);  // 0 on an error
        if (ec != asio::error::would_block && (ec || buffer.size() == 0)) co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(plain_, buffer, use_nothrow);
    co_return ec;
}

std::string Stream::tls_description() const {
    if (!tls_) return {};
    SSL* ssl = const_cast<asio::ssl::stream<tcp::socket>&>(*tls_).native_handle();
    return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

ClientTls Stream::client_tls() const {
    ClientTls tls;
    if (!tls_) return tls;
    SSL* ssl = const_cast<asio::ssl::stream<tcp::socket>&>(*tls_).native_handle();
    tls.facts.tls = true;
    tls.facts.cipher = SSL_get_cipher_name(ssl);
    tls.version = SSL_get_version(ssl);
    if (const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) tls.server_name = sni;
    X509* certificate = SSL_get0_peer_certificate(ssl);
    if (!certificate) return tls;
    tls.facts.verified_certificate = SSL_get_verify_result(ssl) == X509_V_OK;
    take_certificate(tls, certificate);
    return tls;
}

void Stream::close() {
    std::error_code ignored;
    socket().close(ignored);
}

}  // namespace hostgate
