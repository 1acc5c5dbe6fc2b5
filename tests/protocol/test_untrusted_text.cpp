// Client-chosen bytes in log literals, display form and JSON: golden vectors, UTF-8 edge cases,
// the cut marker, and read-back of every form.
#include <catch2/catch.hpp>

#include "protocol/untrusted_text.h"
#include "support/text_reader.h"

using namespace hostgate::protocol::text;
using hostgate::test::FlatJsonReader;
using hostgate::test::from_hex;
using hostgate::test::JsonValue;
using hostgate::test::read_log_literal;
using hostgate::test::well_formed_utf8;

namespace {

struct Utf8Case {
    const char* name;
    std::string bytes;
    std::optional<CodePoint> first;
};

bool same(const std::optional<CodePoint>& a, const std::optional<CodePoint>& b) {
    if (!a || !b) return !a && !b;
    return a->value == b->value && a->length == b->length;
}

}  // namespace

TEST_CASE("decode_utf8: golden vectors") {
    const Utf8Case cases[] = {
        {"ascii", "a", CodePoint{'a', 1}},
        {"nul", std::string(1, '\0'), CodePoint{0, 1}},
        {"two_bytes_min", "\xC2\x80", CodePoint{0x80, 2}},
        {"two_bytes_max", "\xDF\xBF", CodePoint{0x7FF, 2}},
        {"three_bytes_min", "\xE0\xA0\x80", CodePoint{0x800, 3}},
        {"before_surrogates", "\xED\x9F\xBF", CodePoint{0xD7FF, 3}},
        {"after_surrogates", "\xEE\x80\x80", CodePoint{0xE000, 3}},
        {"bom", "\xEF\xBB\xBF", CodePoint{0xFEFF, 3}},
        {"four_bytes_min", "\xF0\x90\x80\x80", CodePoint{0x10000, 4}},
        {"last_code_point", "\xF4\x8F\xBF\xBF", CodePoint{0x10FFFF, 4}},
        {"overlong_nul", "\xC0\x80", std::nullopt},
        {"overlong_slash", "\xC1\xAF", std::nullopt},
        {"overlong_three", "\xE0\x9F\xBF", std::nullopt},
        {"overlong_four", "\xF0\x8F\xBF\xBF", std::nullopt},
        {"surrogate_high", "\xED\xA0\x80", std::nullopt},
        {"surrogate_low", "\xED\xBF\xBF", std::nullopt},
        {"past_10ffff", "\xF4\x90\x80\x80", std::nullopt},
        {"f5_lead", "\xF5\x80\x80\x80", std::nullopt},
        {"ff", "\xFF", std::nullopt},
        {"lone_continuation", "\x80", std::nullopt},
        {"bad_second", "\xC3\x28", std::nullopt},
        {"bad_third", "\xE2\x82\x28", std::nullopt},
        {"bad_fourth", "\xF0\x9F\x98\x28", std::nullopt},
        {"empty", "", std::nullopt},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        CHECK(same(decode_utf8(c.bytes), c.first));
        // With one more byte after it, a well-formed code point takes the same length.
        CHECK(same(decode_utf8(c.bytes + "z"), c.bytes.empty() ? decode_utf8("z") : c.first));
        // Cut short, no sequence of two bytes or more is complete.
        for (std::size_t n = 1; n < c.bytes.size(); ++n) CHECK_FALSE(decode_utf8(c.bytes.substr(0, n)));
    }
}

TEST_CASE("is_utf8 agrees with a decoder written from the definition") {
    for (int a = 0; a < 256; ++a)
        for (int b = 0; b < 256; b += 3) {
            std::string s{static_cast<char>(a), static_cast<char>(b), '\x80', '\x80'};
            for (std::size_t n = 1; n <= s.size(); ++n)
                CHECK(is_utf8(s.substr(0, n)) == well_formed_utf8(s.substr(0, n)));
        }
}

TEST_CASE("log_literal: golden vectors") {
    const std::pair<std::string, std::string> cases[] = {
        {"app", "'app'"},
        {"", "''"},
        {"o'brien", "'o\\'brien'"},
        {"DOMAIN\\user", "'DOMAIN\\\\user'"},
        {"bob\n2026-12-02T00:00:00.000000Z info forged", "'bob\\n2026-12-02T00:00:00.000000Z info forged'"},
        {"a\rb\tc", "'a\\rb\\tc'"},
        {"\x1b[2J", "'\\x1b[2J'"},
        {std::string("a\0b", 3), "'a\\x00b'"},
        {"\x7f", "'\\x7f'"},
        {"\xff\xfe" "evil", "'\\xff\\xfeevil'"},
        {"\xC0\x80", "'\\xc0\\x80'"},                    // overlong NUL: two bytes, each escaped
        {"\xC2\x85", "'\\u0085'"},                       // NEL, a C1 control
        {"\xE2\x80\xA8", "'\\u2028'"},                   // line separator
        {"adm\xE2\x80\x8Bin", "'adm\\u200bin'"},         // zero-width space
        {"\xE2\x80\xAEnimda", "'\\u202enimda'"},         // right-to-left override
        {"\xEF\xBB\xBF" "x", "'\\ufeffx'"},
        {"caf\xC3\xA9 \xF0\x9F\x98\x80", "'caf\xC3\xA9 \xF0\x9F\x98\x80'"},  // printable UTF-8 stays
    };
    for (const auto& [bytes, literal] : cases) {
        INFO(literal);
        CHECK(log_literal(bytes) == literal);
        const auto back = read_log_literal(log_literal(bytes));
        REQUIRE(back);
        CHECK(back->bytes == bytes);
        CHECK_FALSE(back->total);
    }
}

TEST_CASE("log_literal: a long name is cut at a character boundary, with its length") {
    const std::string name(65536, 'a');
    const std::string literal = log_literal(name);
    CHECK(literal == "'" + std::string(kLogNameLimit, 'a') + "'[cut, 65536 bytes in all]");

    // Escapes count toward the limit, and none is cut in half.
    const std::string lines(1000, '\n');
    const auto back = read_log_literal(log_literal(lines, 9));
    REQUIRE(back);
    CHECK(back->bytes == std::string(4, '\n'));
    CHECK(back->total == 1000u);

    // Nor is a multi-byte character.
    const auto smile = read_log_literal(log_literal("\xF0\x9F\x98\x80\xF0\x9F\x98\x80", 6));
    REQUIRE(smile);
    CHECK(smile->bytes == "\xF0\x9F\x98\x80");

    // Exactly at the limit: whole, no marker.
    CHECK(log_literal(std::string(kLogNameLimit, 'b')) == "'" + std::string(kLogNameLimit, 'b') + "'");
}

TEST_CASE("display: hidden characters escaped, backslashes and quotes kept") {
    CHECK(display("app") == "app");
    CHECK(display("DOMAIN\\user o'brien") == "DOMAIN\\user o'brien");
    CHECK(display("a\nb\x1b[31m\xff") == "a\\nb\\x1b[31m\\xff");
    CHECK(display("\xE2\x80\xAE" "abc") == "\\u202eabc");
    CHECK(display("caf\xC3\xA9") == "caf\xC3\xA9");
    for (int c = 0; c < 256; ++c) {
        const std::string out = display(std::string(1, static_cast<char>(c)) + "\xC2\x9B");
        CHECK(well_formed_utf8(out));
        for (char o : out) CHECK((static_cast<unsigned char>(o) >= 0x20 && o != 0x7F));
    }
}

TEST_CASE("json_string: valid UTF-8 JSON whatever the bytes") {
    CHECK(json_string("app") == "\"app\"");
    CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(json_string("a\nb\x01") == "\"a\\nb\\u0001\"");
    CHECK(json_string("\x7f\xC2\x85\xE2\x80\xA8") == "\"\\u007f\\u0085\\u2028\"");
    CHECK(json_string("\xff\xfe" "evil") == "\"\xEF\xBF\xBD\xEF\xBF\xBD" "evil\"");
    CHECK(json_string("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
}

TEST_CASE("JsonObject: a field that is not UTF-8 carries its exact bytes in <key>_hex") {
    JsonObject o;
    o.text("event", "denied_user");
    o.unsigned_number("session", 7);
    o.text("user", "\xff\xfe" "evil\n");
    o.boolean("tls", false);
    o.real("duration_s", 0.25);
    o.real("nan", std::nan(""));
    const std::string line = std::move(o).close();
    CHECK(line ==
          "{\"event\":\"denied_user\",\"session\":7,\"user\":\"\xEF\xBF\xBD\xEF\xBF\xBD" "evil\\n\","
          "\"user_hex\":\"fffe6576696c0a\",\"tls\":false,\"duration_s\":0.250000,\"nan\":null}");
    const auto fields = FlatJsonReader::read(line);
    REQUIRE(fields);
    REQUIRE(fields->size() == 7);
    CHECK((*fields)[3].first == "user_hex");
    CHECK(from_hex(std::get<std::string>((*fields)[3].second)) == "\xff\xfe" "evil\n");

    JsonObject valid;
    valid.text("user", "o'brien\t");
    const std::string valid_line = std::move(valid).close();
    CHECK(valid_line == "{\"user\":\"o'brien\\t\"}");
    CHECK(FlatJsonReader::read(valid_line)->front().second == JsonValue(std::string("o'brien\t")));
}

TEST_CASE("the test's own JSON reader refuses what strict parsers refuse") {
    CHECK_FALSE(FlatJsonReader::read("{\"a\":\"\xff\"}"));
    CHECK_FALSE(FlatJsonReader::read("{\"a\":\"x\ny\"}"));
    CHECK_FALSE(FlatJsonReader::read("{\"a\":\"\\x41\"}"));
    CHECK_FALSE(FlatJsonReader::read("{\"a\":\"\\udc00\"}"));
    CHECK_FALSE(FlatJsonReader::read("{\"a\":1} x"));
    CHECK(FlatJsonReader::read("{\"a\":\"\\ud83d\\ude00\",\"b\":-1.5e3,\"c\":null}"));
}

TEST_CASE("characters: code points, and one per stray byte") {
    CHECK(characters("") == 0);
    CHECK(characters("app") == 3);
    CHECK(characters("Jos\xC3\xA9 \xF0\x9F\x98\x80") == 6);
    CHECK(characters("\xff\xfe" "ab") == 4);
    CHECK(characters("\xE2\x82") == 2);  // a cut sequence: two stray bytes
    CHECK(first_characters("Jos\xC3\xA9 \xF0\x9F\x98\x80", 4) == "Jos\xC3\xA9");
    CHECK(first_characters("ab", 5) == "ab");
    CHECK(first_characters("\xff\xfe" "ab", 3) == "\xff\xfe" "a");
}

TEST_CASE("JsonObject: a long text is cut at a character boundary, with its whole length") {
    JsonObject o;
    o.text("user", std::string(5000, 'n'), 1024);
    o.text("db", std::string(1023, 'd') + "\xC3\xA9", 1024);  // the 2-byte character does not fit
    o.text("short", "abc", 1024);
    const std::string line = std::move(o).close();
    CHECK(line == "{\"user\":\"" + std::string(1024, 'n') + "\",\"user_bytes\":5000,\"db\":\"" +
                      std::string(1023, 'd') + "\",\"db_bytes\":1025,\"short\":\"abc\"}");
    CHECK(FlatJsonReader::read(line));
}
