#pragma once
// MySQL framing: a 3-byte little-endian payload length and a sequence id before every frame.
// A payload of 0xFFFFFF bytes or more is split into frames of 0xFFFFFF, ended by a shorter frame
// (empty if need be); those frames make one logical packet.

#include <cstdint>

#include "protocol/byte_io.h"
#include "protocol/mysql_constants.h"
#include "protocol/mysql_error.h"
#include "protocol/parse_result.h"

namespace hostgate::protocol::mysql {

struct FrameHeader {
    std::uint32_t payload_length = 0;
    std::uint8_t sequence_id = 0;
    bool operator==(const FrameHeader&) const = default;
};

// The header at the start of the input: Complete with consumed = 4, or NeedMore{4}.
Parsed<FrameHeader> parse_frame_header(ByteSpan input);

struct Packet {
    std::uint8_t sequence_id = 0;       // of the first frame
    std::uint8_t last_sequence_id = 0;  // of the last frame: the next packet follows it
    Bytes payload;                      // the frames' payloads joined
    bool operator==(const Packet&) const = default;
};

// One logical packet at the start of the input.
// Complete: the packet, and consumed = every byte of its frames.
// NeedMore: min_total is the length the input must reach for the next frame to be whole.
// packet_too_large: the joined payload would exceed max_payload (checked before waiting for it).
// bad_sequence: a continuation frame's sequence id does not follow the previous one.
Parsed<Packet> read_packet(ByteSpan input, std::size_t max_payload);

// Appends the payload as one logical packet starting at sequence id `sequence_id`.
// Returns the sequence id that the next packet in this direction should use.
std::uint8_t write_packet(Bytes& out, std::uint8_t sequence_id, ByteSpan payload);

}  // namespace hostgate::protocol::mysql
