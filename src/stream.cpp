#include "src/stream.h"

#include <sys/socket.h>

#include <cerrno>

#include "src/event_loop.h"

namespace hostgate {

Stream::~Stream() {
    close();
}

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

bool Stream::move_to_event_loop() {
    EventLoop* loop = EventLoop::current();
    if (!loop || tls_ || watched_ || !plain_.is_open() || !make_non_blocking(plain_)) return false;
    std::error_code ec;
    const int fd = plain_.release(ec);
    if (ec) return false;
    watched_ = true;
    watch_ = loop->watch(fd);  // on failure the stream is closed, as after an error
    return true;
}

int Stream::native_handle() {
    if (watched_) return watch_ ? watch_->fd() : -1;
    return socket().native_handle();
}

void Stream::drained() {
    if (watch_) watch_->drained();
}

void Stream::full() {
    if (watch_) watch_->full();
}

namespace {

std::error_code last_error() {
    return {errno, std::system_category()};
}

}  // namespace

// On the event loop a read that comes back short has drained the socket: the next one waits for
// an edge instead of finding EAGAIN. A write that leaves bytes over waits for room at once.
awaitable<std::pair<std::error_code, std::size_t>> Stream::read_watched(
    asio::mutable_buffer buffer) {
    for (;;) {
        if (!watch_) co_return std::pair{std::error_code(asio::error::operation_aborted), 0};
        const ssize_t n = ::recv(watch_->fd(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            const auto read = static_cast<std::size_t>(n);
            if (read < buffer.size()) watch_->drained();
            co_return std::pair{std::error_code{}, read};
        }
        if (n == 0) co_return std::pair{std::error_code(asio::error::eof), 0};
        if (errno == EINTR) continue;
        if (errno != EAGAIN) co_return std::pair{last_error(), 0};
        watch_->drained();
        if (auto ec = co_await watch_->wait(Watch::Side::read)) co_return std::pair{ec, 0};
    }
}

awaitable<std::error_code> Stream::write_watched(asio::const_buffer buffer) {
    while (buffer.size() > 0) {
        if (!watch_) co_return asio::error::operation_aborted;
        const ssize_t n = ::send(watch_->fd(), buffer.data(), buffer.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            buffer += static_cast<std::size_t>(n);
            if (buffer.size() == 0) break;
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN) {
            co_return last_error();
        }
        watch_->full();
        if (auto ec = co_await watch_->wait(Watch::Side::write)) co_return ec;
    }
    co_return std::error_code{};
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buffer) {
    if (watched_) co_return co_await read_watched(buffer);
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, use_nothrow);
        co_return std::pair{ec, n};
    }
    auto [ec, n] = co_await plain_.async_read_some(buffer, use_nothrow);
    co_return std::pair{ec, n};
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_ready(asio::mutable_buffer buffer) {
    if (watched_) co_return co_await read_watched(buffer);
    if (!tls_ && make_non_blocking(plain_)) {
        std::error_code ec;
        const std::size_t n = plain_.read_some(buffer, ec);
        if (ec != asio::error::would_block) co_return std::pair{ec, n};
    }
    co_return co_await read_some(buffer);
}

awaitable<std::error_code> Stream::wait_readable() {
    if (watched_) {
        if (!watch_) co_return asio::error::operation_aborted;
        co_return co_await watch_->wait(Watch::Side::read);
    }
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_read, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::wait_writable() {
    if (watched_) {
        if (!watch_) co_return asio::error::operation_aborted;
        co_return co_await watch_->wait(Watch::Side::write);
    }
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_write, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::write(asio::const_buffer buffer) {
    if (watched_) co_return co_await write_watched(buffer);
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
    if (watched_) {
        if (watch_) std::exchange(watch_, nullptr)->close();
        return;
    }
    std::error_code ignored;
    socket().close(ignored);
}

}  // namespace hostgate
