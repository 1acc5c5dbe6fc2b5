#include "protocol/mysql_frame.h"

namespace hostgate::protocol::mysql {

Parsed<FrameHeader> parse_frame_header(ByteSpan input) {
    if (input.size() < kFrameHeaderLength) return NeedMore{kFrameHeaderLength};
    ByteReader r(input);
    FrameHeader h;
    h.payload_length = r.le24();
    h.sequence_id = r.u8();
    return Complete<FrameHeader>{h, kFrameHeaderLength};
}

Parsed<Packet> read_packet(ByteSpan input, std::size_t max_payload) {
    Packet packet;
    std::size_t offset = 0;
    std::size_t total_payload = 0;
    // First pass: find the frames and check them; copy only once the packet is whole.
    for (bool first = true;; first = false) {
        auto header = parse_frame_header(input.subspan(offset));
        if (const auto* more = need_more(header)) return NeedMore{offset + more->min_total};
        const FrameHeader h = complete(header)->value;
        if (first) {
            packet.sequence_id = h.sequence_id;
        } else if (h.sequence_id != static_cast<std::uint8_t>(packet.last_sequence_id + 1)) {
            return make_error_code(errc::bad_sequence);
        }
        packet.last_sequence_id = h.sequence_id;
        total_payload += h.payload_length;
        if (total_payload > max_payload) return make_error_code(errc::packet_too_large);
        const std::size_t frame_end = offset + kFrameHeaderLength + h.payload_length;
        if (input.size() < frame_end) return NeedMore{frame_end};
        offset = frame_end;
        if (h.payload_length < kMaxFramePayload) break;
    }

    packet.payload.reserve(total_payload);
    for (std::size_t at = 0; at < offset;) {
        const auto length = complete(parse_frame_header(input.subspan(at)))->value.payload_length;
        const auto body = input.subspan(at + kFrameHeaderLength, length);
        packet.payload.insert(packet.payload.end(), body.begin(), body.end());
        at += kFrameHeaderLength + length;
    }
    return Complete<Packet>{std::move(packet), offset};
}

std::uint8_t write_packet(Bytes& out, std::uint8_t sequence_id, ByteSpan payload) {
    ByteWriter w(out);
    for (;;) {
        const std::size_t n = std::min(payload.size(), kMaxFramePayload);
        w.le24(static_cast<std::uint32_t>(n));
        w.u8(sequence_id++);
        w.bytes(payload.first(n));
        payload = payload.subspan(n);
        if (n < kMaxFramePayload) return sequence_id;
    }
}

}  // namespace hostgate::protocol::mysql
