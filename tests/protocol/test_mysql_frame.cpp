// MySQL framing: headers, continuation frames, sequence ids, limits.
#include <catch2/catch.hpp>

#include "protocol/mysql_frame.h"
#include "support/hex.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;
using hostgate::test::concat;
using hostgate::test::hex;
using hostgate::test::prefix;

TEST_CASE("frame header") {
    auto h = parse_frame_header(hex("64 00 00" "00"));  // 100 bytes, sequence 0
    REQUIRE(complete(h));
    CHECK(complete(h)->value == FrameHeader{100, 0});
    CHECK(complete(h)->consumed == 4);
    CHECK(complete(parse_frame_header(hex("ff ff ff 07")))->value == FrameHeader{0xFFFFFF, 7});
    for (std::size_t n = 0; n < 4; ++n) CHECK(need_more(parse_frame_header(prefix(hex("01 00 00 00"), n)))->min_total == 4);
}

TEST_CASE("one-frame packets, cut and extended") {
    const Bytes wire = hex("01 00 00" "00" "01");  // COM_QUIT, sequence 0
    auto p = read_packet(wire, 1024);
    REQUIRE(complete(p));
    CHECK(complete(p)->value == Packet{0, 0, hex("01")});
    CHECK(complete(p)->consumed == 5);
    for (std::size_t n = 0; n < wire.size(); ++n) {
        auto q = read_packet(prefix(wire, n), 1024);
        REQUIRE(need_more(q));
        CHECK(need_more(q)->min_total == (n < 4 ? 4u : 5u));
    }
    auto extra = read_packet(concat({wire, hex("07")}), 1024);
    CHECK(complete(extra)->consumed == 5);

    auto empty = read_packet(hex("00 00 00 05"), 1024);
    CHECK(complete(empty)->value == Packet{5, 5, {}});
}

TEST_CASE("a 16 MiB payload is two frames and one packet") {
    Bytes payload(kMaxFramePayload + 10);
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = std::byte(static_cast<unsigned char>(i * 7));
    Bytes wire;
    const std::uint8_t next = write_packet(wire, 3, payload);
    CHECK(next == 5);
    CHECK(wire.size() == payload.size() + 8);
    CHECK(hostgate::test::to_hex(prefix(wire, 4)) == "ff ff ff 03");

    auto p = read_packet(wire, 32 << 20);
    REQUIRE(complete(p));
    CHECK(complete(p)->consumed == wire.size());
    CHECK(complete(p)->value.sequence_id == 3);
    CHECK(complete(p)->value.last_sequence_id == 4);
    CHECK(complete(p)->value.payload == payload);

    // Waiting for the second frame asks for exactly its length.
    auto part = read_packet(prefix(wire, 4 + kMaxFramePayload + 2), 32 << 20);
    REQUIRE(need_more(part));
    CHECK(need_more(part)->min_total == 4 + kMaxFramePayload + 4);
    auto part2 = read_packet(prefix(wire, 4 + kMaxFramePayload + 4), 32 << 20);
    CHECK(need_more(part2)->min_total == wire.size());
}

TEST_CASE("exactly 0xFFFFFF bytes end with an empty frame") {
    Bytes payload(kMaxFramePayload, std::byte{'x'});
    Bytes wire;
    CHECK(write_packet(wire, 0, payload) == 2);
    CHECK(wire.size() == payload.size() + 8);
    CHECK(hostgate::test::to_hex(ByteSpan(wire).last(4)) == "00 00 00 01");
    auto p = read_packet(wire, kMaxFramePayload);
    REQUIRE(complete(p));
    CHECK(complete(p)->value.payload.size() == kMaxFramePayload);
}

TEST_CASE("limits and sequence errors") {
    // A header announcing more than the limit is refused before its payload arrives.
    CHECK(error(read_packet(hex("00 10 00 00"), 4095)) == make_error_code(errc::packet_too_large));
    CHECK(need_more(read_packet(hex("00 10 00 00"), 4096)));
    Bytes big(kMaxFramePayload, std::byte{0});
    Bytes wire;
    write_packet(wire, 0, big);
    CHECK(error(read_packet(wire, kMaxFramePayload - 1)) == make_error_code(errc::packet_too_large));
    // The continuation frame must carry the next sequence id.
    wire[4 + kMaxFramePayload + 3] = std::byte{9};
    CHECK(error(read_packet(wire, kMaxFramePayload)) == make_error_code(errc::bad_sequence));
}

TEST_CASE("sequence ids wrap at 256") {
    Bytes wire;
    CHECK(write_packet(wire, 255, hex("01")) == 0);
    CHECK(complete(read_packet(wire, 16))->value.sequence_id == 255);
}
