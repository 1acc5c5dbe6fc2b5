// The command framer over golden client streams, each delivered whole and split at every byte:
// LOCAL INFILE data whose sequence ids wrap to 0 (with a COM_CHANGE_USER in its bytes there),
// commands of 16 MiB and more, authentication replies after COM_CHANGE_USER, empty packets.
#include <catch2/catch.hpp>

#include "protocol/mysql_command_framer.h"
#include "support/hex.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

namespace {

struct Seen {
    std::uint8_t command;  // 0xFF for an empty command packet
    Bytes packet;          // the whole packet as taken, for commands of up to 64 bytes
    bool operator==(const Seen&) const = default;
};

// A relay's use of the framer: commands of up to 64 bytes are held back whole and taken (as the
// relay holds COM_CHANGE_USER and short queries), longer ones pass. The stream arrives in pieces
// cut at `cuts`. Returns the commands seen; every byte must be passed or taken exactly once.
std::vector<Seen> relay(const Bytes& stream, const std::vector<std::size_t>& cuts) {
    CommandFramer framer;
    std::vector<Seen> seen;
    std::size_t pos = 0, passed = 0;
    std::size_t arrived = 0;
    auto deliveries = cuts;
    deliveries.push_back(stream.size());
    for (const std::size_t upto : deliveries) {
        arrived = std::max(arrived, std::min(upto, stream.size()));
        for (;;) {
            const ByteSpan available(stream.data() + pos, arrived - pos);
            const auto step = framer.next(available);
            if (step.kind == CommandFramer::Step::Kind::need_more) break;
            if (step.kind == CommandFramer::Step::Kind::pass) {
                REQUIRE(step.length > 0);
                REQUIRE(step.length <= available.size());
                pos += step.length;
                passed += step.length;
                continue;
            }
            const std::uint8_t command = step.command.value_or(0xFF);
            if (step.length <= 4 + 64) {
                if (available.size() < step.length) break;  // hold it back until whole
                seen.push_back({command, Bytes(available.begin(), available.begin() + static_cast<std::ptrdiff_t>(step.length))});
                framer.took_command();
                pos += step.length;
            } else {
                seen.push_back({command, {}});
                framer.pass_command();
            }
        }
    }
    CHECK(pos == stream.size());
    CHECK(passed + [&] {
        std::size_t taken = 0;
        for (const auto& s : seen) taken += s.packet.size();
        return taken;
    }() == stream.size());
    return seen;
}

Bytes packet(std::uint8_t seq, const Bytes& payload) {
    Bytes out;
    write_packet(out, seq, payload);
    return out;
}

Bytes frame(std::uint8_t seq, const Bytes& payload) {  // one frame, whatever its length
    Bytes out{std::byte(payload.size() & 0xFF), std::byte((payload.size() >> 8) & 0xFF),
              std::byte((payload.size() >> 16) & 0xFF), std::byte(seq)};
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

Bytes text(std::uint8_t first, std::string_view rest) {
    Bytes out{std::byte(first)};
    for (char c : rest) out.push_back(std::byte(static_cast<unsigned char>(c)));
    return out;
}

void append(Bytes& to, const Bytes& more) {
    to.insert(to.end(), more.begin(), more.end());
}

// Every split in two, and delivery one byte at a time, give what the whole stream gives.
void check_every_split(const Bytes& stream, const std::vector<Seen>& expected) {
    CHECK(relay(stream, {}) == expected);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        INFO("cut at " << cut);
        CHECK(relay(stream, {cut}) == expected);
    }
    std::vector<std::size_t> each(stream.size());
    for (std::size_t i = 0; i < each.size(); ++i) each[i] = i;
    CHECK(relay(stream, each) == expected);
}

const Bytes kChangeUserToAdmin = text(command::kChangeUser, std::string("admin\0\0\0", 8));

}  // namespace

TEST_CASE("command stream: queries and a ping") {
    Bytes s = packet(0, text(command::kQuery, "SELECT 1"));
    append(s, packet(0, text(command::kPing, "")));
    check_every_split(s, {{command::kQuery, packet(0, text(command::kQuery, "SELECT 1"))},
                          {command::kPing, packet(0, text(command::kPing, ""))}});
}

TEST_CASE("command stream: LOCAL INFILE data wraps to sequence id 0 and stays data") {
    const Bytes load = packet(0, text(command::kQuery, "LOAD DATA LOCAL INFILE 'f' INTO TABLE t"));
    Bytes s = load;
    // The file: 300 packets from sequence id 2; the one with id 0 (the 255th) holds bytes that
    // form a COM_CHANGE_USER, and the one with id 0 of the next lap a 0x11 alone.
    for (unsigned i = 0; i < 300; ++i) {
        const auto seq = static_cast<std::uint8_t>(2 + i);
        append(s, packet(seq, seq == 0 ? kChangeUserToAdmin : text('a', "bc,1\n")));
    }
    append(s, packet(static_cast<std::uint8_t>(2 + 300), {}));  // the empty packet: end of file
    const Bytes quit = packet(0, text(command::kQuit, ""));
    append(s, quit);
    std::vector<Seen> expected{{command::kQuery, load}, {command::kQuit, quit}};
    CHECK(relay(s, {}) == expected);
    for (std::size_t cut = 1; cut < s.size(); cut += 7) CHECK(relay(s, {cut}) == expected);
}

TEST_CASE("command stream: an empty LOCAL INFILE (the client refuses to send the file)") {
    const Bytes load = packet(0, text(command::kQuery, "LOAD DATA LOCAL INFILE 'f' INTO TABLE t"));
    Bytes s = load;
    append(s, packet(2, {}));
    const Bytes change = packet(0, kChangeUserToAdmin);
    append(s, change);
    check_every_split(s, {{command::kQuery, load}, {command::kChangeUser, change}});
}

TEST_CASE("command stream: authentication replies after COM_CHANGE_USER are not commands") {
    const Bytes change = packet(0, kChangeUserToAdmin);
    Bytes s = change;
    append(s, packet(2, text(0x00, std::string(19, 'x'))));  // the reply to the backend's switch
    append(s, packet(4, text(0x02, "")));                    // a caching_sha2 request for the key
    const Bytes query = packet(0, text(command::kQuery, "SELECT CURRENT_USER()"));
    append(s, query);
    check_every_split(s, {{command::kChangeUser, change}, {command::kQuery, query}});
}

TEST_CASE("command stream: packets sent out of turn are data, never commands") {
    // No 0xFB request was answered: the server refuses the first of these (out of order) and
    // closes; the framer must not have taken the 0x11 for a command meanwhile.
    const Bytes query = packet(0, text(command::kQuery, "SELECT 1"));
    Bytes s = query;
    for (unsigned seq = 2; seq <= 256; ++seq)
        append(s, packet(static_cast<std::uint8_t>(seq), seq == 256 ? kChangeUserToAdmin : text('x', "")));
    check_every_split(s, {{command::kQuery, query}});
}

TEST_CASE("command stream: an empty command packet, and one of 16 MiB and more") {
    const Bytes empty = packet(0, {});
    Bytes big_payload(kMaxFramePayload + 10, std::byte{'q'});
    big_payload[0] = std::byte{command::kQuery};
    // Its second frame has sequence id 1 and starts with 0x11: part of the query all the same.
    big_payload[kMaxFramePayload] = std::byte{command::kChangeUser};
    const Bytes big = packet(0, big_payload);
    Bytes s = empty;
    append(s, big);
    const Bytes ping = packet(0, text(command::kPing, ""));
    append(s, ping);
    const std::vector<Seen> expected{{0xFF, empty}, {command::kQuery, {}}, {command::kPing, ping}};
    for (const std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{6}, std::size_t{9},
                                  4 + 4 + kMaxFramePayload, 4 + 4 + kMaxFramePayload + 2,
                                  s.size() - ping.size(), s.size() - 3})
        CHECK(relay(s, cut ? std::vector{cut} : std::vector<std::size_t>{}) == expected);
}

TEST_CASE("command stream: a LOCAL INFILE packet of exactly 16 MiB ends with an empty frame") {
    const Bytes load = packet(0, text(command::kQuery, "LOAD DATA LOCAL INFILE 'f' INTO TABLE t"));
    Bytes s = load;
    append(s, frame(2, Bytes(kMaxFramePayload, std::byte{'d'})));
    append(s, frame(3, {}));  // not the end of the file: the end of a 16 MiB packet
    append(s, packet(4, kChangeUserToAdmin));  // more file data
    append(s, packet(5, {}));                  // the end of the file
    const Bytes quit = packet(0, text(command::kQuit, ""));
    append(s, quit);
    CHECK(relay(s, {}) == std::vector<Seen>{{command::kQuery, load}, {command::kQuit, quit}});
    CHECK(relay(s, {load.size() + 2, s.size() - 30}) ==
          std::vector<Seen>{{command::kQuery, load}, {command::kQuit, quit}});
}
