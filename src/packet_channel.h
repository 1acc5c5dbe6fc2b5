#pragma once
// Reads whole MySQL packets (and a PROXY header) from a Stream, and writes packets to it.
//
// Reads during the connection phase are exact: never a byte past the packet asked for, because
// what follows an SSLRequest is the TLS ClientHello, which belongs to the TLS layer.

#include <cstdint>

#include "protocol/expected.h"
#include "protocol/mysql_frame.h"
#include "protocol/proxy_protocol.h"
#include "src/stream.h"

namespace hostgate {

class PacketChannel {
  public:
    PacketChannel(Stream& stream, std::size_t max_packet)
        : stream_(stream), max_packet_(max_packet) {}

    // The next logical packet; an error from the network or the frame reader.
    awaitable<Expected<protocol::mysql::Packet, std::error_code>> read_packet();
    // Frames and writes one packet; returns the error, if any.
    awaitable<std::error_code> write_packet(std::uint8_t sequence_id, protocol::ByteSpan payload);
    // Writes bytes as they are (an already framed packet, a PROXY header).
    awaitable<std::error_code> write_raw(protocol::ByteSpan bytes);

    // A PROXY header at the start of the stream. May read past it: nothing may follow a header
    // before the server greets, so whatever did is kept for read_packet.
    awaitable<Expected<protocol::proxy::Header, std::error_code>> read_proxy_header(
        const protocol::proxy::ParseOptions& options);

    // The first n unconsumed bytes, reading exactly as many as are missing.
    awaitable<Expected<protocol::ByteSpan, std::error_code>> peek(std::size_t n);

    // Bytes received but not yet consumed (handed to the relay after the handshake).
    protocol::ByteSpan buffered() const { return {buffer_.data() + start_, end_ - start_}; }
    void consume(std::size_t n) { start_ += n; }
    Stream& stream() { return stream_; }

  private:
    // Reads until the buffer holds at least `total` unconsumed bytes; greedy reads may take more.
    awaitable<std::error_code> fill(std::size_t total, bool greedy);

    template <class T, class Parse>
    awaitable<Expected<T, std::error_code>> read(Parse parse, bool greedy);

    Stream& stream_;
    std::size_t max_packet_;
    protocol::Bytes buffer_;
    std::size_t start_ = 0, end_ = 0;
};

}  // namespace hostgate
