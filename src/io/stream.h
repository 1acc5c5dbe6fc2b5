#pragma once
// A TCP connection that may switch to TLS part way, as MySQL connections do after an SSLRequest.

#include <functional>
#include <memory>
#include <optional>
#include <system_error>

#include "src/io/net.h"
#include "src/session/client_tls.h"

namespace hostgate {

class Watch;

class Stream {
  public:
    explicit Stream(tcp::socket socket) : plain_(std::move(socket)) {}
    // A connection already on the executor's event loop, from `peer` (see accept_streams()).
    Stream(const asio::any_io_executor& executor, Watch* watch, protocol::Endpoint peer)
        : plain_(executor), watched_(true), watch_(watch), peer_(peer) {}
    Stream(Stream&& other) noexcept
        : plain_(std::move(other.plain_)),
          tls_(std::move(other.tls_)),
          watched_(other.watched_),
          watch_(std::exchange(other.watch_, nullptr)),
          peer_(other.peer_) {}
    Stream& operator=(Stream&&) = delete;
    ~Stream();

    // Connects to `to`, from `from` if set. On an event loop the socket is made non-blocking and
    // watched there from the start (src/event_loop.h); elsewhere asio connects it.
    awaitable<std::error_code> connect(const tcp::endpoint& to,
                                       const std::optional<tcp::endpoint>& from);

    // Server side TLS on this connection (after the client's SSLRequest).
    awaitable<std::error_code> start_tls_server(asio::ssl::context& context);
    // Client side TLS (after our SSLRequest to a backend).
    awaitable<std::error_code> start_tls_client(asio::ssl::context& context);

    // Some bytes into `buffer`: how many, or an error (eof when the peer closed).
    awaitable<std::pair<std::error_code, std::size_t>> read_some(asio::mutable_buffer buffer);
    // Until there is something to read (bytes, end of stream or an error), without a buffer, so
    // that an idle connection holds none. Returns at once on TLS, where decrypted bytes can wait
    // inside the TLS layer while the socket shows nothing.
    awaitable<std::error_code> wait_readable();
    // Until the socket can take more bytes (or has failed); at once on TLS.
    awaitable<std::error_code> wait_writable();
    // Like read_some, for use after wait_readable: on plain TCP the read happens on the spot.
    awaitable<std::pair<std::error_code, std::size_t>> read_ready(asio::mutable_buffer buffer);
    // All of `buffer`.
    awaitable<std::error_code> write(asio::const_buffer buffer);

    tcp::socket& socket() { return tls_ ? tls_->next_layer() : plain_; }
    // The descriptor, for system calls of the caller's own (splice); -1 once closed.
    int native_handle();
    // Our end and the peer's, as the socket has them (the default endpoint on an error).
    protocol::Endpoint local_endpoint();
    protocol::Endpoint remote_endpoint();
    // Turns Nagle's algorithm off (TCP_NODELAY): MySQL packets go out as written.
    void set_no_delay();
    // Bytes that can be read now without waiting (FIONREAD); 0 on TLS, or on an error.
    std::size_t available();
    // After such a call of the caller's own found nothing to read (EAGAIN), or no room to write:
    // the next wait_readable() (wait_writable()) waits for the socket to say otherwise.
    void drained();
    void full();
    bool tls() const { return tls_ != nullptr; }
    // The negotiated protocol and cipher, "TLSv1.3 TLS_AES_256_GCM_SHA384"; empty without TLS.
    std::string tls_description() const;
    // The peer's TLS as a server sees it: what REQUIRE looks at (TLS, the client's certificate,
    // verified or not, its subject and issuer in OpenSSL's one-line form, the cipher suite), the
    // protocol version, the certificate's CN and DER, the SNI.
    ClientTls client_tls() const;
    // Ends our side of the TCP connection (shutdown(SHUT_WR)); reads go on.
    void shutdown_send();
    // Closes the TCP connection; pending operations finish with operation_aborted.
    void close();

  private:
    // A watched socket goes back to asio, which TLS works on.
    std::error_code back_to_asio();
    // On the event loop: one read, or nullopt when it would block (the socket is then known
    // drained); writes until done or it would block, leaving `buffer` what is left (the socket is
    // then known full).
    std::optional<std::pair<std::error_code, std::size_t>> recv_now(asio::mutable_buffer buffer);
    std::error_code send_now(asio::const_buffer& buffer);
    // On the event loop: until the side is ready.
    awaitable<std::error_code> wait_watched(int side);

    tcp::socket plain_;
    std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
    bool watched_ = false;                    // moved to the event loop
    Watch* watch_ = nullptr;                  // while watched and open
    std::optional<protocol::Endpoint> peer_;  // as accept4 gave it
};

// Accepts connections until the acceptor is closed, spawning `serve(stream)` for each on the
// acceptor's executor. On an event loop each is taken with accept4 (non-blocking from the start)
// straight into the loop's set: it is never registered with asio's reactor, nor handed over
// later. Elsewhere asio accepts (accept_each()).
awaitable<void> accept_streams(tcp::acceptor& acceptor,
                               std::function<awaitable<void>(Stream)> serve);

}  // namespace hostgate
