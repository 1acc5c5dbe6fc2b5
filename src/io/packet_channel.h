#pragma once
// Reads whole MySQL packets (and a PROXY header) from a Stream, and writes packets to it.
//
// Reads take whatever has arrived, so that a packet usually costs one read. The exception is a
// client's first packet when TLS was offered: what follows an SSLRequest is the TLS ClientHello,
// which belongs to the TLS layer, so that packet is read exactly.

#include <cstdint>
#include <memory>
#include <vector>

#include "protocol/expected.h"
#include "protocol/mysql_frame.h"
#include "protocol/mysql_messages.h"
#include "protocol/proxy_protocol.h"
#include "src/io/stream.h"

namespace hostgate {

class PacketChannel {
  public:
    // `received`: bytes already read from the stream, to be read first.
    PacketChannel(Stream& stream, std::size_t max_packet, protocol::Bytes received = {})
        : stream_(stream), max_packet_(max_packet), buffer_(received.begin(), received.end()) {
        end_ = buffer_.size();
    }

    enum class ReadAhead { allowed, never };

    // The next logical packet; an error from the network or the frame reader.
    awaitable<Expected<protocol::mysql::Packet, std::error_code>> read_packet(
        ReadAhead read_ahead = ReadAhead::allowed);
    // Frames and writes one packet; returns the error, if any.
    awaitable<std::error_code> write_packet(std::uint8_t sequence_id, protocol::ByteSpan payload);
    // Writes bytes as they are (an already framed packet, a PROXY header).
    awaitable<std::error_code> write_raw(protocol::ByteSpan bytes);

    // A PROXY header at the start of the stream. With read-ahead it may read past it (whatever
    // follows is kept for read_packet); without, it reads exactly the header, in a few reads.
    awaitable<Expected<protocol::proxy::Header, std::error_code>> read_proxy_header(
        const protocol::proxy::ParseOptions& options, ReadAhead read_ahead = ReadAhead::allowed);

    // The first n unconsumed bytes. The span points into the channel's buffer: the next read
    // (fill(), read_packet(), another peek()) may move it, so use it before reading again.
    awaitable<Expected<protocol::ByteSpan, std::error_code>> peek(std::size_t n,
                                                                  ReadAhead read_ahead);

    // Bytes received but not yet consumed (handed to the relay after the handshake).
    protocol::ByteSpan buffered() const { return {buffer_.data() + start_, end_ - start_}; }
    void consume(std::size_t n) { start_ += n; }
    // The unconsumed bytes, moved out; the channel's buffer is freed.
    protocol::Bytes take_buffered();
    Stream& stream() { return stream_; }

    // The largest packet read_packet takes from now on.
    void set_max_packet(std::size_t max_packet) { max_packet_ = max_packet; }

  private:
    static constexpr std::size_t kFirstChunk = 16 * 1024, kMaxChunk = 64 * 1024;
    enum class Reads { one, until_total };
    // Reads toward `total` unconsumed bytes (at most that many without read-ahead): once, or until
    // the buffer holds them.
    awaitable<std::error_code> fill(std::size_t total, ReadAhead read_ahead,
                                    Reads reads = Reads::until_total);

    template <class T, class Parse>
    awaitable<Expected<T, std::error_code>> read(Parse parse, ReadAhead read_ahead);

    // Bytes whose room is not zeroed first: a read fills it, and only what it filled is used.
    template <class T>
    struct Uninitialized : std::allocator<T> {
        template <class U>
        struct rebind {
            using other = Uninitialized<U>;
        };
        template <class U>
        void construct(U* p) {
            ::new (static_cast<void*>(p)) U;
        }
        template <class U, class... Args>
        void construct(U* p, Args&&... args) {
            ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
        }
    };

    Stream& stream_;
    std::size_t max_packet_;
    std::vector<std::byte, Uninitialized<std::byte>> buffer_;
    std::size_t start_ = 0, end_ = 0;
};

// Sends `error` in place of the greeting (sequence id 0, as a server refuses a connection before
// it greets) on a socket no session has taken yet, and leaves it to close. Pass a named ErrPacket:
// g++ 12 destroys temporaries twice when they stand in a co_await expression.
awaitable<void> refuse_before_greeting(tcp::socket& socket,
                                       const protocol::mysql::ErrPacket& error);

}  // namespace hostgate
