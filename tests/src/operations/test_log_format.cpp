// The log formatter: whatever a message holds, one event is one line of valid UTF-8 that starts
// with hostgate's own timestamp and level.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <regex>
#include <sstream>

#include "protocol/untrusted_text.h"
#include "src/operations/log_format.h"
#include "support/text_reader.h"

namespace {

std::string logged(const std::string& message) {
    std::ostringstream out;
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(out);
    spdlog::logger logger("", sink);
    logger.set_formatter(hostgate::make_log_formatter());
    logger.info("session 1 127.0.0.5:4000 user {}: {}",
                hostgate::protocol::text::log_literal(message), message);
    return out.str();
}

}  // namespace

TEST_CASE("a forged line stays inside the line that carries it") {
    const std::string forged =
        "bob\n2026-12-02T00:00:00.000000Z info session 99 10.0.0.1:1 user 'admin': allowed by "
        "'admin'@'%' (line 1)";
    const std::string out = logged(forged);
    REQUIRE(out.back() == '\n');
    CHECK(out.find('\n') == out.size() - 1);
    const std::regex line(
        R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z info session 1 127\.0\.0\.5:4000 user 'bob\\n2026-12-02T00:00:00\.000000Z info .*'\: bob\\n2026.*\n)");
    CHECK(std::regex_match(out, line));
}

TEST_CASE("every byte value in a message gives one valid UTF-8 line") {
    for (int c = 0; c < 256; ++c) {
        const std::string message = std::string("a") + static_cast<char>(c) + "\xE2\x80\xA8" + "z";
        const std::string out = logged(message);
        INFO(c);
        CHECK(out.find('\n') == out.size() - 1);
        CHECK(out.find('\r') == std::string::npos);
        CHECK(out.find('\x1b') == std::string::npos);
        CHECK(hostgate::test::well_formed_utf8(out));
    }
}
