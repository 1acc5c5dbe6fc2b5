// The response tracker over golden server streams, each delivered whole, split at every byte and
// with the bytes it may skip skipped: result sets (with rows that look like OK and EOF packets),
// several results, LOCAL INFILE, prepared statements, cursors, COM_FIELD_LIST, COM_STATISTICS,
// MariaDB's progress reports, packets of 16 MiB and more, and COM_CHANGE_USER answers.
#include <catch2/catch.hpp>

#include "protocol/mysql_response_tracker.h"
#include "protocol/mysql_resultset.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

namespace {

constexpr std::uint32_t kClassic = cap::kProtocol41 | cap::kSecureConnection | cap::kPluginAuth |
                                   cap::kMultiResults | cap::kMultiStatements;
constexpr std::uint32_t kDeprecateEof = kClassic | cap::kDeprecateEof;
constexpr std::uint8_t kStmtPrepare = 0x16, kStmtExecute = 0x17, kStmtFetch = 0x1C,
                       kFieldList = 0x04, kStatistics = 0x09, kStmtClose = 0x19, kBinlogDump = 0x12;
constexpr std::uint16_t kCursorExists = 0x40;

// A server's stream, packet by packet, with its sequence ids.
class Server {
  public:
    explicit Server(std::uint32_t caps) : caps_(caps) {}
    // A new response: sequence ids start at 1.
    Server& respond() {
        seq_ = 1;
        return *this;
    }
    Server& packet(const Bytes& payload) {
        seq_ = write_packet(bytes, seq_, payload);
        return *this;
    }
    Server& packet(std::string_view payload) {
        return packet(Bytes(as_bytes(payload).begin(), as_bytes(payload).end()));
    }
    Server& ok(std::uint16_t status = status::kAutocommit, std::uint8_t header = header::kOk) {
        Bytes p;
        encode_ok({.header = header,
                   .affected_rows = 300,
                   .last_insert_id = 70000,
                   .status_flags = status,
                   .info = "Records: 3"},
                  caps_, p);
        return packet(p);
    }
    Server& err(std::uint16_t code = 1045) {
        Bytes p;
        encode_err({code, "28000", "Access denied"}, p);
        return packet(p);
    }
    Server& eof(std::uint16_t status = status::kAutocommit) {
        if (caps_ & cap::kDeprecateEof) return ok(status, header::kEof);
        Bytes p{std::byte{0xFE}, std::byte{0}, std::byte{0}, std::byte(status & 0xFF),
                std::byte(status >> 8)};
        return packet(p);
    }
    Server& column_defs(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            Bytes p;
            encode_column_definition({.name = "c" + std::to_string(i)}, p);
            packet(p);
        }
        return *this;
    }
    // A result set of one column with these values, closed with `status`.
    Server& result(const std::vector<std::string>& values,
                   std::uint16_t status = status::kAutocommit) {
        Bytes p;
        ByteWriter(p).lenenc_int(1);
        packet(p);
        column_defs(1);
        if (!(caps_ & cap::kDeprecateEof)) eof();
        for (const auto& v : values) {
            p.clear();
            encode_text_row({v}, p);
            packet(p);
        }
        return eof(status);
    }
    Server& auth_switch() {
        return packet(
            std::string("\xFEmysql_native_password\0"
                        "abcdefghijklmnopqrst\0",
                        43));
    }
    // The client's packet in an exchange: not in the server's stream, but it takes a sequence id.
    Server& client_turn() {
        ++seq_;
        return *this;
    }

    Bytes bytes;

  private:
    std::uint32_t caps_;
    std::uint8_t seq_ = 1;
};

struct Verdict {
    std::size_t at;  // bytes of the stream read when it was given
    bool accepted;
    bool operator==(const Verdict&) const = default;
};

struct Outcome {
    std::vector<Verdict> verdicts;
    bool lost = false;
    bool idle = false;
    bool operator==(const Outcome&) const = default;
};

// Feeds `stream` in pieces ending at `cuts`; with `skip_unseen`, bytes the tracker does not need
// are skipped rather than read, as a relay that splices them does.
Outcome track(std::uint32_t caps, const std::vector<std::optional<std::uint8_t>>& commands,
              const Bytes& stream, const std::vector<std::size_t>& cuts, bool skip_unseen = false,
              std::uint32_t mariadb_caps = 0) {
    ResponseTracker tracker(caps, mariadb_caps);
    for (const auto& c : commands) tracker.expect(c);
    Outcome out;
    std::size_t pos = 0;
    auto deliveries = cuts;
    deliveries.push_back(stream.size());
    for (const std::size_t upto : deliveries) {
        while (pos < upto) {
            if (skip_unseen && tracker.skippable() > 0) {
                const std::size_t n = std::min(tracker.skippable(), upto - pos);
                tracker.skip(n);
                pos += n;
                continue;
            }
            const auto step = tracker.read(ByteSpan(stream.data() + pos, upto - pos));
            REQUIRE(step.length <= upto - pos);
            pos += step.length;
            if (step.change_user_accepted) {
                out.verdicts.push_back({pos, *step.change_user_accepted});
            } else {
                REQUIRE(pos == upto);  // a step ends early only on a verdict
            }
        }
    }
    out.lost = tracker.lost();
    out.idle = tracker.idle();
    return out;
}

// The outcome of the whole stream, checked to be the same however the stream is cut.
Outcome track_every_way(std::uint32_t caps,
                        const std::vector<std::optional<std::uint8_t>>& commands,
                        const Bytes& stream, std::uint32_t mariadb_caps = 0) {
    const Outcome whole = track(caps, commands, stream, {}, false, mariadb_caps);
    CHECK(track(caps, commands, stream, {}, true, mariadb_caps) == whole);
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        const Outcome split = track(caps, commands, stream, {cut}, cut % 2 == 0, mariadb_caps);
        if (!(split == whole)) FAIL("different outcome when cut at byte " << cut);
    }
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < stream.size(); ++i) every.push_back(i);
    CHECK(track(caps, commands, stream, every, false, mariadb_caps) == whole);
    return whole;
}

std::vector<std::optional<std::uint8_t>> commands(std::initializer_list<std::uint8_t> list) {
    return {list.begin(), list.end()};
}

}  // namespace

TEST_CASE("a change of user after result sets is judged by the server's own answer") {
    for (const std::uint32_t caps : {kClassic, kDeprecateEof}) {
        Server s(caps);
        // Rows whose bytes look like an OK, an ERR and an EOF packet: a client chose them.
        const std::string fake_ok("\x07\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00", 11);
        s.respond().result({"", std::string(1, '\0'), fake_ok, "\xFF\x15\x04", "\xFE"});
        s.respond().auth_switch().client_turn().ok();
        const auto out =
            track_every_way(caps, commands({command::kQuery, command::kChangeUser}), s.bytes);
        REQUIRE(out.verdicts.size() == 1);
        CHECK(out.verdicts[0].accepted);
        CHECK(out.verdicts[0].at == s.bytes.size());  // given before the client is sent the OK
        CHECK_FALSE(out.lost);
        CHECK(out.idle);
    }
}

TEST_CASE("a refused change of user is reported as refused") {
    Server s(kDeprecateEof);
    s.respond().auth_switch().client_turn().err();
    const auto out = track_every_way(kDeprecateEof, commands({command::kChangeUser}), s.bytes);
    REQUIRE(out.verdicts.size() == 1);
    CHECK_FALSE(out.verdicts[0].accepted);
    CHECK(out.idle);

    Server direct(kDeprecateEof);  // refused at once, with no switch
    direct.respond().err();
    CHECK(track_every_way(kDeprecateEof, commands({command::kChangeUser}), direct.bytes).verdicts ==
          std::vector<Verdict>{{direct.bytes.size(), false}});
}

TEST_CASE("several results, LOCAL INFILE and errors end where the server says") {
    for (const std::uint32_t caps : {kClassic, kDeprecateEof}) {
        Server s(caps);
        // CALL: a result with more to come, an OK with more to come, a final OK.
        s.respond().result({"1", "2"}, status::kMoreResultsExist | status::kAutocommit);
        s.ok(status::kMoreResultsExist).ok();
        s.respond().packet(std::string("\xFB/etc/passwd")).client_turn().client_turn().ok();
        s.respond().err();
        // An error in the middle of the rows (KILL QUERY).
        {
            Bytes p;
            ByteWriter(p).lenenc_int(1);
            s.respond().packet(p).column_defs(1);
            if (!(caps & cap::kDeprecateEof)) s.eof();
            s.packet(std::string("\x01"
                                 "a",
                                 2))
                .err(1317);
        }
        s.respond().auth_switch().client_turn().ok();
        const auto out =
            track_every_way(caps,
                            commands({command::kQuery, command::kQuery, command::kQuery,
                                      command::kQuery, command::kChangeUser}),
                            s.bytes);
        CHECK(out.verdicts == std::vector<Verdict>{{s.bytes.size(), true}});
        CHECK(out.idle);
    }
}

TEST_CASE("prepared statements: prepare, execute, a cursor and its fetch, close") {
    for (const std::uint32_t caps : {kClassic, kDeprecateEof}) {
        const bool classic = !(caps & cap::kDeprecateEof);
        Server s(caps);
        // COM_STMT_PREPARE: 2 parameters, 3 columns.
        s.respond().packet(Bytes{std::byte{0}, std::byte{1}, std::byte{0}, std::byte{0},
                                 std::byte{0}, std::byte{3}, std::byte{0}, std::byte{2},
                                 std::byte{0}, std::byte{0}, std::byte{0}, std::byte{0}});
        s.column_defs(2);
        if (classic) s.eof();
        s.column_defs(3);
        if (classic) s.eof();
        // COM_STMT_PREPARE of a statement with neither: the OK alone.
        s.respond().packet(Bytes(12, std::byte{0}));
        // COM_STMT_EXECUTE with a cursor: the definitions, then no rows.
        Bytes count;
        ByteWriter(count).lenenc_int(1);
        s.respond().packet(count).column_defs(1).eof(status::kAutocommit | kCursorExists);
        // COM_STMT_FETCH: binary rows (they start with 0x00), then the closing EOF.
        s.respond().packet(std::string("\x00\x00\x05hello", 8)).eof(kCursorExists | 0x80);
        // COM_STMT_EXECUTE without a cursor: an ordinary result.
        s.respond().result({"x"});
        s.respond().auth_switch().client_turn().ok();
        const auto out =
            track_every_way(caps,
                            commands({kStmtPrepare, kStmtPrepare, kStmtExecute, kStmtFetch,
                                      kStmtClose, kStmtExecute, command::kChangeUser}),
                            s.bytes);
        CHECK(out.verdicts == std::vector<Verdict>{{s.bytes.size(), true}});
        CHECK(out.idle);
        CHECK_FALSE(out.lost);
    }
}

TEST_CASE("COM_FIELD_LIST, COM_STATISTICS, one-packet commands and empty packets") {
    for (const std::uint32_t caps : {kClassic, kDeprecateEof}) {
        Server s(caps);
        s.respond().column_defs(4).eof();
        s.respond().packet(std::string("Uptime: 12  Threads: 1  Questions: 4"));
        s.respond().ok();       // COM_PING
        s.respond().err(1047);  // an empty packet: unknown command
        s.respond().ok();       // COM_RESET_CONNECTION
        s.respond().auth_switch().client_turn().ok();
        const auto out = track_every_way(caps,
                                         {kFieldList, kStatistics, command::kPing, std::nullopt,
                                          command::kResetConnection, command::kChangeUser},
                                         s.bytes);
        CHECK(out.verdicts == std::vector<Verdict>{{s.bytes.size(), true}});
    }
}

TEST_CASE("MariaDB's progress reports do not end a statement") {
    Server s(kDeprecateEof);
    Bytes progress;
    encode_err({0xFFFF, "", "\x01\x01\x02\x10\x00\x00\x05stage"}, progress);
    s.respond().packet(progress).packet(progress).ok();
    s.respond().auth_switch().client_turn().ok();
    const auto out =
        track_every_way(kDeprecateEof, commands({command::kQuery, command::kChangeUser}), s.bytes,
                        mariadb_cap::kProgress);
    CHECK(out.verdicts == std::vector<Verdict>{{s.bytes.size(), true}});
}

TEST_CASE("rows of 16 MiB and more are followed across their frames, and may be skipped") {
    Server s(kDeprecateEof);
    Bytes count;
    ByteWriter(count).lenenc_int(1);
    s.respond().packet(count).column_defs(1);
    // A row that starts with 0xFE (an 8-byte length) and spans two frames: not a closing packet.
    Bytes row;
    ByteWriter(row).lenenc_int(kMaxFramePayload + 100);
    row.resize(row.size() + kMaxFramePayload + 100, std::byte{0x00});
    s.packet(row).eof();
    s.respond().auth_switch().client_turn().ok();
    const std::vector<std::optional<std::uint8_t>> cmds{command::kQuery, command::kChangeUser};
    const Outcome whole = track(kDeprecateEof, cmds, s.bytes, {});
    CHECK(whole.verdicts == std::vector<Verdict>{{s.bytes.size(), true}});
    CHECK(track(kDeprecateEof, cmds, s.bytes, {}, true) == whole);
    for (const std::size_t cut : {std::size_t{100}, kMaxFramePayload, kMaxFramePayload + 6,
                                  kMaxFramePayload + 200, s.bytes.size() - 9})
        CHECK(track(kDeprecateEof, cmds, s.bytes, {cut}, true) == whole);

    // A skipping reader sees only the heads: the row's payload is skippable after its first bytes.
    ResponseTracker tracker(kDeprecateEof, 0);
    tracker.expect(command::kQuery);
    std::size_t pos = 0, skipped = 0;
    while (pos < s.bytes.size()) {
        if (tracker.skippable()) {
            skipped += tracker.skippable();
            pos += tracker.skippable();
            tracker.skip(tracker.skippable());
        } else {
            pos += tracker.read(ByteSpan(s.bytes.data() + pos, 1)).length;
        }
    }
    CHECK(skipped > row.size() - 100);
}

TEST_CASE("what cannot be followed makes the tracker lost, never wrong") {
    SECTION("a binlog dump") {
        ResponseTracker t(kDeprecateEof, 0);
        t.expect(kBinlogDump);
        CHECK(t.lost());
        t.expect(command::kChangeUser);
        Server s(kDeprecateEof);
        s.respond().auth_switch().client_turn().ok();
        const auto step = t.read(s.bytes);
        CHECK(step.length == s.bytes.size());
        CHECK_FALSE(step.change_user_accepted);
    }
    SECTION("a command no server knows") {
        ResponseTracker t(kDeprecateEof, 0);
        t.expect(0x42);
        CHECK(t.lost());
        CHECK(t.lost_reason().find("66") != std::string::npos);
    }
    SECTION("a packet while nothing was asked") {
        Server s(kDeprecateEof);
        s.respond().ok();
        CHECK(track_every_way(kDeprecateEof, {}, s.bytes).lost);
    }
    SECTION("a server's last ERR while nothing was asked is not") {
        Server s(kDeprecateEof);
        s.respond().err(4031);
        const auto out = track_every_way(kDeprecateEof, {}, s.bytes);
        CHECK_FALSE(out.lost);
        CHECK(out.idle);
    }
    SECTION("a COM_CHANGE_USER answer out of sequence") {
        Server s(kDeprecateEof);
        s.respond().client_turn().ok();  // sequence id 2
        const auto out = track_every_way(kDeprecateEof, commands({command::kChangeUser}), s.bytes);
        CHECK(out.lost);
        CHECK(out.verdicts.empty());
    }
    SECTION("a column count of 0, a definition that is none, a missing EOF") {
        Server zero(kClassic);
        zero.respond().packet(Bytes{std::byte{0xFC}, std::byte{0}, std::byte{0}});
        CHECK(track_every_way(kClassic, commands({command::kQuery}), zero.bytes).lost);
        Server s(kClassic);
        Bytes count;
        ByteWriter(count).lenenc_int(2);
        s.respond().packet(count).column_defs(1).packet(std::string("\x01x"));
        CHECK(track_every_way(kClassic, commands({command::kQuery}), s.bytes).lost);
        Server t(kClassic);
        t.respond().packet(count).column_defs(2).packet(std::string("\x01x"));
        CHECK(track_every_way(kClassic, commands({command::kQuery}), t.bytes).lost);
    }
    SECTION("COM_QUIT, COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA have no answer") {
        ResponseTracker t(kDeprecateEof, 0);
        t.expect(command::kQuit);
        t.expect(kStmtClose);
        t.expect(0x18);
        CHECK(t.idle());
        CHECK_FALSE(t.lost());
    }
}
