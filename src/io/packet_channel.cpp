#include "src/io/packet_channel.h"

#include <algorithm>

#include "protocol/mysql_server_errors.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace proxy = protocol::proxy;

awaitable<std::error_code> PacketChannel::fill(std::size_t total, ReadAhead read_ahead,
                                               Reads reads) {
    if (start_ == end_) start_ = end_ = 0;
    for (bool first = true; end_ - start_ < total && (first || reads == Reads::until_total);
         first = false) {
        // The buffer grows with what arrives, never to a length a frame header only announces:
        // a read takes at most as much again as is buffered (from kFirstChunk up to kMaxChunk), so
        // bytes a peer never sends cost no memory.
        const std::size_t have = end_ - start_;
        const std::size_t missing = total - have;
        const std::size_t chunk = std::clamp(have, kFirstChunk, kMaxChunk);
        const std::size_t wanted = std::min(
            read_ahead == ReadAhead::allowed ? std::max<std::size_t>(missing, 4096) : missing,
            chunk);
        if (buffer_.size() - end_ < wanted) {
            // Move unconsumed bytes to the front, then grow if that is not enough.
            std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(start_),
                      buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
            end_ -= start_;
            start_ = 0;
            if (buffer_.size() - end_ < wanted) buffer_.resize(end_ + wanted);
        }
        auto [ec, n] = co_await stream_.read_some(asio::buffer(buffer_.data() + end_, wanted));
        if (ec) co_return ec;
        end_ += n;
    }
    co_return std::error_code{};
}

template <class T, class Parse>
awaitable<Expected<T, std::error_code>> PacketChannel::read(Parse parse, ReadAhead read_ahead) {
    for (;;) {
        auto parsed = parse(buffered());
        if (auto* c = protocol::complete(parsed)) {
            T value = std::move(c->value);
            consume(c->consumed);
            co_return value;
        }
        if (auto e = protocol::error(parsed)) co_return Unexpected(e);
        // One read, then parse again: with a parser's lower bound, what arrived may already
        // settle it (a malformed header ends before the bound).
        if (auto ec = co_await fill(protocol::need_more(parsed)->min_total, read_ahead, Reads::one))
            co_return Unexpected(ec);
    }
}

awaitable<Expected<mysql::Packet, std::error_code>> PacketChannel::read_packet(
    ReadAhead read_ahead) {
    co_return co_await read<mysql::Packet>(
        [this](protocol::ByteSpan in) { return mysql::read_packet(in, max_packet_); }, read_ahead);
}

awaitable<Expected<proxy::Header, std::error_code>> PacketChannel::read_proxy_header(
    const proxy::ParseOptions& options, ReadAhead read_ahead) {
    co_return co_await read<proxy::Header>(
        [&](protocol::ByteSpan in) { return proxy::parse(in, options); }, read_ahead);
}

awaitable<Expected<protocol::ByteSpan, std::error_code>> PacketChannel::peek(std::size_t n,
                                                                             ReadAhead read_ahead) {
    if (auto ec = co_await fill(n, read_ahead)) co_return Unexpected(ec);
    co_return buffered().first(n);
}

protocol::Bytes PacketChannel::take_buffered() {
    protocol::Bytes rest(buffered().begin(), buffered().end());
    buffer_ = {};
    start_ = end_ = 0;
    return rest;
}

awaitable<std::error_code> PacketChannel::write_packet(std::uint8_t sequence_id,
                                                       protocol::ByteSpan payload) {
    protocol::Bytes out;
    out.reserve(payload.size() + mysql::kFrameHeaderLength);
    mysql::write_packet(out, sequence_id, payload);
    co_return co_await stream_.write(asio::buffer(out));
}

awaitable<std::error_code> PacketChannel::write_raw(protocol::ByteSpan bytes) {
    co_return co_await stream_.write(asio::buffer(bytes.data(), bytes.size()));
}

awaitable<void> refuse_before_greeting(tcp::socket& socket, const mysql::ErrPacket& error) {
    const protocol::Bytes framed = mysql::Refusal::before_greeting(error).wire();
    co_await asio::async_write(socket, asio::buffer(framed), use_nothrow);
}

}  // namespace hostgate
