#include "src/backends/backends.h"

#include <spdlog/spdlog.h>

#include "protocol/mysql_resultset.h"
#include "protocol/untrusted_text.h"
#include "src/io/packet_channel.h"
#include "src/session/backend_login.h"
#include "src/session/watchdog.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace proxy = protocol::proxy;

void Backend::learn(const mysql::HandshakeV10& g) {
    ServerTraits t{g.server_version, g.capabilities, g.mariadb_capabilities, g.character_set,
                   g.status_flags};
    std::lock_guard lock(mutex_);
    traits_ = std::move(t);
}

void Backend::log_header_refusal(const std::string& why) const {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (header_refusal_logged_ && now - *header_refusal_logged_ < std::chrono::minutes(1))
            return;
        header_refusal_logged_ = now;
    }
    spdlog::error("backend {} {}", describe(), why);
}

std::optional<ServerTraits> Backend::traits() const {
    std::lock_guard lock(mutex_);
    return traits_;
}

Backends::Backends(const std::vector<BackendConfig>& configs) {
    for (const auto& c : configs) {
        backends_.push_back(std::make_unique<Backend>(c));
        groups_[c.group].push_back(backends_.back().get());
    }
}

std::vector<Backend*> Backends::group(const std::string& name) {
    auto it = groups_.find(name);
    return it == groups_.end() ? std::vector<Backend*>{} : it->second;
}

std::vector<Backend*> Backends::all() {
    std::vector<Backend*> out;
    for (auto& b : backends_) out.push_back(b.get());
    return out;
}

std::optional<ServerTraits> Backends::greeting_traits() const {
    std::optional<ServerTraits> out;
    for (const auto& b : backends_) {
        const auto t = b->traits();
        if (!t) continue;
        if (!out) {
            out = t;
            continue;
        }
        out->capabilities &= t->capabilities;
        out->mariadb_capabilities &= t->mariadb_capabilities;
    }
    return out;
}

protocol::Bytes proxy_header_for(const BackendConfig& backend,
                                 const std::optional<protocol::Endpoint>& client,
                                 const protocol::Endpoint& destination,
                                 std::vector<protocol::proxy::Tlv> tlvs) {
    protocol::Bytes out;
    if (backend.proxy_protocol == BackendProxyProtocol::off) return out;
    proxy::Header header =
        client ? proxy::Header::tcp(*client, destination) : proxy::Header::local();
    header.version = backend.proxy_protocol == BackendProxyProtocol::v1 ? 1 : 2;
    if (client) header.tlvs = std::move(tlvs);  // v1 leaves them out; the config refuses that
    proxy::encode(header, out);
    return out;
}

namespace {

// No greeting came (`ec`): after a PROXY header, the header is suspected. `from`: hostgate's
// address on that connection.
ConnectFailure no_greeting(const Backend& backend, std::error_code ec, bool timed_out,
                           const std::string& from) {
    if (backend.config().proxy_protocol == BackendProxyProtocol::off)
        return {"greeting: " + (timed_out ? std::string("timed out") : ec.message())};
    return {(timed_out ? std::string("no greeting within connect_timeout_ms after hostgate's PROXY "
                                     "header")
                       : "closed after hostgate's PROXY header, before its greeting (" +
                             ec.message() + ")") +
                ": if it does not accept the header, add " + from +
                " to proxy_protocol_networks on the backend",
            true};
}

// connect_backend() without its bookkeeping.
awaitable<Expected<BackendConnection, ConnectFailure>> open_backend_connection(
    const Backend& backend, const protocol::Bytes& opening, std::chrono::milliseconds timeout,
    std::size_t max_packet) {
    auto executor = co_await asio::this_coro::executor;
    auto stream = std::make_unique<Stream>(tcp::socket(executor));
    Stream* raw = stream.get();
    // Our address toward the backend, for the advice when it refuses the header: asked when
    // that advice is given, or before the watchdog closes the socket.
    std::string from_before_timeout;
    Watchdog deadline(executor, timeout, [raw, &from_before_timeout] {
        from_before_timeout = raw->local_endpoint().address.to_string();
        raw->close();
    });

    auto failure = [&](const std::string& what, std::error_code ec) {
        return ConnectFailure{what + ": " +
                              (deadline.fired() ? std::string("timed out") : ec.message())};
    };
    auto fail = [&](const std::string& what, std::error_code ec) {
        return Unexpected(failure(what, ec));
    };
    std::optional<tcp::endpoint> from_source;
    if (const auto& source = backend.config().source) from_source = to_asio({*source, 0});
    if (auto ec = co_await stream->connect(to_asio(backend.config().address), from_source)) {
        if (from_source && ec.value() == EADDRNOTAVAIL)
            co_return fail("binding source " + backend.config().source->to_string(), ec);
        co_return fail("connect", ec);
    }
    if (!opening.empty()) {
        if (auto ec = co_await stream->write(asio::buffer(opening)))
            co_return fail("first write", ec);
    }
    PacketChannel channel(*stream, max_packet);
    auto packet = co_await channel.read_packet();
    if (!packet) {
        const std::string from =
            deadline.fired() ? from_before_timeout : stream->local_endpoint().address.to_string();
        co_return Unexpected(no_greeting(backend, packet.error(), deadline.fired(), from));
    }
    auto greeting = mysql::decode_handshake_v10(packet->payload);
    if (!greeting) {
        if (auto err = mysql::decode_err(packet->payload))
            co_return Unexpected(ConnectFailure{"refused: ERROR " +
                                                std::to_string(err->error_code) + " " +
                                                protocol::text::log_literal(err->message)});
        co_return Unexpected(ConnectFailure{"greeting: " + greeting.error().message()});
    }
    deadline.disarm();
    co_return BackendConnection{std::move(stream), std::move(*greeting), channel.take_buffered()};
}

}  // namespace

awaitable<Expected<BackendConnection, ConnectFailure>> connect_backend(
    Backend& backend, const protocol::Bytes& opening, std::chrono::milliseconds timeout,
    std::size_t max_packet) {
    auto connection = co_await open_backend_connection(backend, opening, timeout, max_packet);
    if (connection) {
        backend.record_success();
        backend.learn(connection->greeting);
    } else {
        backend.record_failure(connection.error().what);
    }
    co_return connection;
}

namespace {

// Sends `first_packet` after the greeting, ends hostgate's side, and reads the answer: a backend
// that does not take the header refuses it when it reads that packet.
awaitable<std::optional<HeaderRefusal>> refusal_after_greeting(BackendConnection& connection,
                                                               const protocol::Bytes& first_packet,
                                                               std::chrono::milliseconds timeout) {
    Stream& stream = *connection.stream;
    Watchdog deadline(co_await asio::this_coro::executor, timeout, [&stream] { stream.close(); });
    const std::string from = stream.local_endpoint().address.to_string();
    PacketChannel channel(stream, 1 << 16, std::move(connection.received));
    // A backend that read the header with the greeting may have answered already, and closed: the
    // write can fail while its ERR waits to be read.
    if (channel.buffered().empty() && !co_await channel.write_packet(1, first_packet))
        stream.shutdown_send();
    auto answer = co_await channel.read_packet();
    stream.close();
    if (!answer) co_return std::nullopt;
    auto err = mysql::decode_err(answer->payload);
    if (!err || !refuses_proxy_header(*err)) co_return std::nullopt;
    co_return HeaderRefusal{std::move(*err), from};
}

}  // namespace

awaitable<std::optional<HeaderRefusal>> ask_whether_header_refused(
    Backend& backend, const protocol::Bytes& header, const protocol::Bytes& ssl_request,
    std::chrono::milliseconds timeout) {
    auto connection = co_await connect_backend(backend, header, timeout, 1 << 16);
    if (!connection) co_return std::nullopt;
    co_return co_await refusal_after_greeting(*connection, ssl_request, timeout);
}

awaitable<void> probe_backend(Backend& backend, std::chrono::milliseconds timeout) {
    const protocol::Bytes header = proxy_header_for(backend.config());
    auto connection = co_await connect_backend(backend, header, timeout, 1 << 16);
    if (!connection) {
        spdlog::warn("backend {}: probe failed: {}", backend.describe(), connection.error().what);
        co_return;
    }
    const mysql::HandshakeV10& greeting = connection->greeting;
    spdlog::info("backend {}: {} (capabilities {:#x}, MariaDB {:#x})", backend.describe(),
                 greeting.server_version, greeting.capabilities, greeting.mariadb_capabilities);
    if (header.empty()) {
        connection->stream->close();
        co_return;
    }
    // An SSLRequest, then nothing: the backend judges the header when it reads it. The connection
    // ends unauthenticated, as a probe that only read the greeting did.
    protocol::Bytes ssl_request;
    mysql::encode_ssl_request({greeting.capabilities & (mysql::cap::kProtocol41 | mysql::cap::kSsl |
                                                        mysql::cap::kSecureConnection),
                               1 << 24, mysql::kUtf8GeneralCi, 0},
                              ssl_request);
    if (auto refusal = co_await refusal_after_greeting(*connection, ssl_request, timeout)) {
        const std::string why = proxy_header_refusal(refusal->error, refusal->from);
        backend.record_failure(why);
        backend.log_header_refusal(why);
    }
}

namespace {

// Probes running at once, and a timer that wakes the one waiting for all of them.
struct ProbeRound {
    explicit ProbeRound(asio::any_io_executor executor, std::size_t n)
        : left(n), all_done(executor, asio::steady_timer::time_point::max()) {}
    std::size_t left;  // touched on the round's own executor only
    asio::steady_timer all_done;
};

awaitable<void> probe_in_round(Backend& backend, std::chrono::milliseconds timeout,
                               std::shared_ptr<ProbeRound> round) {
    co_await probe_backend(backend, timeout);
    if (--round->left == 0) round->all_done.cancel();
}

}  // namespace

awaitable<void> probe_all(const std::vector<Backend*>& backends,
                          std::chrono::milliseconds timeout) {
    if (backends.empty()) co_return;
    auto executor = co_await asio::this_coro::executor;
    auto round = std::make_shared<ProbeRound>(executor, backends.size());
    for (Backend* b : backends)
        asio::co_spawn(executor, probe_in_round(*b, timeout, round), asio::detached);
    co_await round->all_done.async_wait(use_nothrow);
}

}  // namespace hostgate
