// Text result sets: a column definition and row captured from MariaDB 10.11 answering PyMySQL's
// SELECT 1, and result sets written in both EOF styles.
#include <catch2/catch.hpp>

#include "protocol/mysql_frame.h"
#include "protocol/mysql_resultset.h"
#include "support/hex.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;
using hostgate::test::hex;
using hostgate::test::prefix;
using hostgate::test::to_hex;

namespace {

const Bytes kSelectOneColumn =
    hex("03 646566"  // catalog "def"
        "00"         // schema
        "00"         // table
        "00"         // org_table
        "01 31"      // name "1"
        "00"         // org_name
        "0c"         // length of the fixed fields
        "3f00"       // binary
        "01000000"   // column length 1
        "03"         // LONG
        "8100"       // NOT_NULL | BINARY
        "00"         // decimals
        "0000");     // filler

}  // namespace

TEST_CASE("mariadb_10_11_column_definition for SELECT 1") {
    const ColumnDefinition expected{"def", "", "", "", "1", "", kBinary, 1, column_type::kLong,
                                    0x81,  0};
    auto c = decode_column_definition(kSelectOneColumn);
    REQUIRE(c.has_value());
    CHECK(*c == expected);
    Bytes out;
    encode_column_definition(expected, out);
    CHECK(to_hex(out) == to_hex(kSelectOneColumn));
    for (std::size_t n = 0; n < kSelectOneColumn.size(); ++n) {
        INFO("cut at " << n);
        CHECK_FALSE(decode_column_definition(prefix(kSelectOneColumn, n)).has_value());
    }
    Bytes longer = kSelectOneColumn;
    longer.push_back(std::byte{0});
    CHECK(decode_column_definition(longer).error() == make_error_code(errc::trailing_bytes));
}

TEST_CASE("text rows with NULL") {
    const TextRow row{std::string("1"), std::nullopt, std::string(300, 'x'), std::string()};
    Bytes out;
    encode_text_row(row, out);
    CHECK(to_hex(prefix(out, 4)) == "01 31 fb fc");
    auto back = decode_text_row(out, 4);
    REQUIRE(back.has_value());
    CHECK(*back == row);
    CHECK(to_hex(hex("01 31")) == "01 31");
    CHECK(*decode_text_row(hex("01 31"), 1) ==
          TextRow{std::string("1")});  // mariadb_10_11 SELECT 1 row
    CHECK_FALSE(decode_text_row(hex("01 31"), 2).has_value());
}

TEST_CASE("result sets in both EOF styles") {
    const std::vector<ColumnDefinition> columns{{.name = "Id", .type = column_type::kLongLong},
                                                {.name = "Host"}};
    const std::vector<TextRow> rows{{std::string("1"), std::string("10.0.0.1:5")}};
    for (const bool deprecate_eof : {false, true}) {
        INFO("CLIENT_DEPRECATE_EOF " << deprecate_eof);
        Bytes out;
        const std::uint32_t caps = cap::kProtocol41 | (deprecate_eof ? cap::kDeprecateEof : 0);
        const std::uint8_t next = write_result_set(out, 1, caps, columns, rows);
        std::vector<Packet> packets;
        for (ByteSpan rest(out); !rest.empty();) {
            auto p = read_packet(rest, 1 << 20);
            REQUIRE(complete(p));
            packets.push_back(complete(p)->value);
            rest = rest.subspan(complete(p)->consumed);
        }
        REQUIRE(packets.size() == (deprecate_eof ? 5u : 6u));
        for (std::size_t i = 0; i < packets.size(); ++i) CHECK(packets[i].sequence_id == i + 1);
        CHECK(next == packets.size() + 1);
        CHECK(to_hex(packets[0].payload) == "02");
        CHECK(decode_column_definition(packets[1].payload)->name == "Id");
        const std::size_t first_row = deprecate_eof ? 3 : 4;
        CHECK(*decode_text_row(packets[first_row].payload, 2) == rows[0]);
        const auto& last = packets.back().payload;
        if (deprecate_eof) {
            CHECK(decode_ok(last, caps)->header == header::kEof);
        } else {
            CHECK(to_hex(last) == "fe 00 00 02 00");  // as MariaDB writes it
            CHECK(to_hex(packets[3].payload) == "fe 00 00 02 00");
        }
    }
}

TEST_CASE("a row that does not fit its columns is refused before anything is written") {
    // SHOW BACKENDS once sent 8 values under 9 columns: every cell after the gap was shifted.
    const std::vector<ColumnDefinition> columns{
        {.name = "Name"}, {.name = "Up"}, {.name = "Version"}};
    for (const TextRow& row :
         {TextRow{std::string("db1"), std::string("Yes")},
          TextRow{std::string("db1"), std::string("Yes"), std::nullopt, std::string("x")}}) {
        Bytes out;
        CHECK_THROWS_AS(write_result_set(out, 1, cap::kProtocol41, columns, {row}),
                        std::invalid_argument);
        CHECK(out.empty());
    }
}
