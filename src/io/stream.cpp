#include "src/io/stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "src/io/event_loop.h"

namespace hostgate {

Stream::~Stream() {
    close();
}

std::error_code Stream::back_to_asio() {
    if (!watched_) return {};
    watched_ = false;
    if (!watch_) return asio::error::bad_descriptor;
    const int fd = std::exchange(watch_, nullptr)->release();
    int family = AF_INET;
    socklen_t length = sizeof family;
    ::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &length);
    std::error_code ec;
    plain_.assign(family == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
    if (ec) ::close(fd);
    return ec;
}

awaitable<std::error_code> Stream::start_tls_server(asio::ssl::context& context) {
    if (auto ec = back_to_asio()) co_return ec;
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::server, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::start_tls_client(asio::ssl::context& context) {
    if (auto ec = back_to_asio()) co_return ec;
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(plain_), context);
    auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
    co_return ec;
}

// On plain TCP, reads and writes are first tried on the spot: when the socket is ready (as it is
// after wait_readable, and for most writes) that saves a trip through the event loop.
namespace {

std::error_code last_error() {
    return {errno, asio::error::get_system_category()};  // as asio's own errors
}

bool make_non_blocking(tcp::socket& socket) {
    std::error_code ec;
    if (!socket.non_blocking()) socket.non_blocking(true, ec);
    return !ec;
}

}  // namespace

awaitable<std::error_code> Stream::connect(const tcp::endpoint& to,
                                           const std::optional<tcp::endpoint>& from) {
    EventLoop* loop = EventLoop::current();
    if (!loop) {
        std::error_code ec;
        if (from) {
            plain_.open(from->protocol(), ec);
            if (!ec) plain_.bind(*from, ec);
            if (ec) co_return ec;
        }
        auto [connect_error] = co_await plain_.async_connect(to, use_nothrow);
        if (!connect_error) plain_.set_option(tcp::no_delay(true), ec);
        co_return connect_error;
    }
    // socket, connect, and into the loop's set once the connection is under way: added before,
    // an unconnected socket would show as hung up.
    const int fd = ::socket(to.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) co_return last_error();
    const int one = 1;
    if ((from && ::bind(fd, from->data(), static_cast<socklen_t>(from->size())) != 0) ||
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        (::connect(fd, to.data(), static_cast<socklen_t>(to.size())) != 0 &&
         errno != EINPROGRESS)) {
        const auto ec = last_error();
        ::close(fd);
        co_return ec;
    }
    watched_ = true;
    watch_ = loop->watch(fd);
    if (!watch_) co_return asio::error::bad_descriptor;
    watch_->full();  // until the connection is made
    if (auto [ec] = co_await watch_->wait(Watch::Side::write); ec) co_return ec;
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(watch_->fd(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    co_return std::error_code(error, asio::error::get_system_category());
}

namespace {

template <class Name>
protocol::Endpoint endpoint_of(int fd, Name name) {
    tcp::endpoint e;
    socklen_t length = static_cast<socklen_t>(e.capacity());
    if (fd < 0 || name(fd, e.data(), &length) != 0) return {};
    e.resize(length);
    return to_endpoint(e);
}

}  // namespace

protocol::Endpoint Stream::local_endpoint() {
    return endpoint_of(native_handle(), ::getsockname);
}

protocol::Endpoint Stream::remote_endpoint() {
    if (peer_) return *peer_;
    return endpoint_of(native_handle(), ::getpeername);
}

void Stream::set_no_delay() {
    const int one = 1;
    ::setsockopt(native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

std::size_t Stream::available() {
    if (tls_) return 0;
    int n = 0;
    return ::ioctl(native_handle(), FIONREAD, &n) == 0 && n > 0 ? static_cast<std::size_t>(n) : 0;
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

std::optional<std::pair<std::error_code, std::size_t>> Stream::recv_now(
    asio::mutable_buffer buffer) {
    for (;;) {
        if (!watch_) return std::pair{std::error_code(asio::error::operation_aborted), 0};
        const ssize_t n = ::recv(watch_->fd(), buffer.data(), buffer.size(), 0);
        if (n > 0) {
            const auto read = static_cast<std::size_t>(n);
            if (read < buffer.size()) watch_->drained();
            return std::pair{std::error_code{}, read};
        }
        if (n == 0) return std::pair{std::error_code(asio::error::eof), 0};
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return std::pair{last_error(), 0};
        watch_->drained();
        return std::nullopt;
    }
}

std::error_code Stream::send_now(asio::const_buffer& buffer) {
    while (buffer.size() > 0) {
        if (!watch_) return asio::error::operation_aborted;
        const ssize_t n = ::send(watch_->fd(), buffer.data(), buffer.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            buffer += static_cast<std::size_t>(n);
            if (buffer.size() > 0) watch_->full();
            break;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return last_error();
        watch_->full();
        break;
    }
    return {};
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buffer) {
    if (watched_) co_return co_await read_ready(buffer);
    if (tls_) {
        auto [ec, n] = co_await tls_->async_read_some(buffer, use_nothrow);
        co_return std::pair{ec, n};
    }
    auto [ec, n] = co_await plain_.async_read_some(buffer, use_nothrow);
    co_return std::pair{ec, n};
}

awaitable<std::pair<std::error_code, std::size_t>> Stream::read_ready(asio::mutable_buffer buffer) {
    // On the event loop: a read that comes back short has drained the socket, and the next one
    // waits for an edge instead of finding EAGAIN.
    while (watched_) {
        if (!watch_) co_return std::pair{std::error_code(asio::error::operation_aborted), 0};
        if (watch_->readable())
            if (auto read = recv_now(buffer)) co_return *read;
        auto [ec] = co_await watch_->wait(Watch::Side::read);
        if (ec) co_return std::pair{ec, 0};
    }
    if (!tls_ && make_non_blocking(plain_)) {
        std::error_code ec;
        const std::size_t n = plain_.read_some(buffer, ec);
        if (ec != asio::error::would_block) co_return std::pair{ec, n};
    }
    co_return co_await read_some(buffer);
}

awaitable<std::error_code> Stream::wait_watched(int side) {
    if (!watch_) co_return asio::error::operation_aborted;
    const auto s = static_cast<Watch::Side>(side);
    if (s == Watch::Side::read ? watch_->readable() : watch_->writable())
        co_return std::error_code{};
    auto [ec] = co_await watch_->wait(s);
    co_return ec;
}

awaitable<std::error_code> Stream::wait_readable() {
    if (watched_) co_return co_await wait_watched(static_cast<int>(Watch::Side::read));
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_read, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::wait_writable() {
    if (watched_) co_return co_await wait_watched(static_cast<int>(Watch::Side::write));
    if (tls_) co_return std::error_code{};
    auto [ec] = co_await plain_.async_wait(tcp::socket::wait_write, use_nothrow);
    co_return ec;
}

awaitable<std::error_code> Stream::write(asio::const_buffer buffer) {
    // On the event loop: a write that leaves bytes over waits for room at once.
    while (watched_) {
        if (!watch_) co_return asio::error::operation_aborted;
        if (watch_->writable()) {
            if (auto ec = send_now(buffer)) co_return ec;
            if (buffer.size() == 0) co_return std::error_code{};
        }
        auto [ec] = co_await watch_->wait(Watch::Side::write);
        if (ec) co_return ec;
    }
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

void Stream::shutdown_send() {
    if (const int fd = native_handle(); fd >= 0) ::shutdown(fd, SHUT_WR);
}

void Stream::close() {
    if (watched_) {
        if (watch_) std::exchange(watch_, nullptr)->close();
        return;
    }
    std::error_code ignored;
    socket().close(ignored);
}

awaitable<void> accept_streams(tcp::acceptor& acceptor,
                               std::function<awaitable<void>(Stream)> serve) {
    EventLoop* loop = EventLoop::current();
    if (!loop) {
        co_await accept_each(
            acceptor, [&serve](tcp::socket socket) { return serve(Stream(std::move(socket))); });
        co_return;
    }
    // The listener stays with asio, which closes it (shutdown, upgrade); each wait re-arms it
    // once, for as many connections as are waiting then.
    constexpr int kAcceptsPerWait = 16;  // then the loop's sessions get a turn
    AcceptFailures failures(acceptor);
    const auto executor = acceptor.get_executor();
    for (;;) {
        auto [ec] = co_await acceptor.async_wait(tcp::acceptor::wait_read, use_nothrow);
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        for (int i = 0; !ec && i < kAcceptsPerWait; ++i) {
            tcp::endpoint peer;
            socklen_t length = static_cast<socklen_t>(peer.capacity());
            const int fd = ::accept4(acceptor.native_handle(), peer.data(), &length,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN) break;
                if (errno != EINTR && errno != ECONNABORTED) ec = last_error();
                continue;
            }
            peer.resize(length);
            if (Watch* watch = loop->watch(fd))
                asio::co_spawn(executor, serve(Stream(executor, watch, to_endpoint(peer))),
                               asio::detached);
        }
        if (ec) co_await failures.after(acceptor, ec);
    }
}

}  // namespace hostgate
