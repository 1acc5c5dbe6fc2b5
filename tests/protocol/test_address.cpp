#include <catch2/catch.hpp>

#include "protocol/address.h"

using namespace hostgate::protocol;

TEST_CASE("ipv4 text: strict dotted quad") {
    struct Row {
        const char* text;
        bool valid;
    };
    const Row rows[] = {
        {"0.0.0.0", true},          {"255.255.255.255", true}, {"192.0.2.1", true},
        {"127.0.0.5", true},        {"256.0.0.1", false},      {"01.2.3.4", false},
        {"1.2.3.04", false},        {"1.2.3", false},          {"1.2.3.4.5", false},
        {"1..3.4", false},          {"1.2.3.4 ", false},       {" 1.2.3.4", false},
        {"+1.2.3.4", false},        {"1.2.3.-4", false},       {"1.2.3.4.", false},
        {"", false},                {"1.2.3.4444", false},     {"0x1.2.3.4", false},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        CHECK(parse_ipv4(row.text).has_value() == row.valid);
        if (row.valid) CHECK(parse_ipv4(row.text)->to_string() == row.text);
    }
}

TEST_CASE("ipv6 text: RFC 4291 forms, printed as inet_ntop does") {
    struct Row {
        const char* text;
        const char* printed;  // nullptr: invalid
    };
    const Row rows[] = {
        {"::", "::"},
        {"::1", "::1"},
        {"2001:db8::1", "2001:db8::1"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"},    // longest zero run compressed
        {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},  // first of two equal runs
        {"2001:db8:1:1:1:1:0:1", "2001:db8:1:1:1:1:0:1"},  // a single zero word is not compressed
        {"fe80::", "fe80::"},
        {"::ffff:192.0.2.1", "::ffff:192.0.2.1"},
        {"::ffff:c000:0201", "::ffff:192.0.2.1"},
        {"::192.0.2.1", "::192.0.2.1"},
        {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
        {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
        {"0001:0002::", "1:2::"},
        {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
        {"1:2:3:4:5:6:7:8:9", nullptr},
        {"1::2::3", nullptr},
        {":1::", nullptr},
        {"1:", nullptr},
        {"12345::", nullptr},
        {"fe80::1%eth0", nullptr},
        {"::ffff:1.2.3", nullptr},
        {"::ffff:01.2.3.4", nullptr},
        {"1:2:3:4:5:6:7:1.2.3.4", nullptr},
        {"g::", nullptr},
        {":::", nullptr},
        {"", nullptr},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        auto a = parse_ipv6(row.text);
        REQUIRE(a.has_value() == (row.printed != nullptr));
        if (a) CHECK(a->to_string() == row.printed);
    }
}

TEST_CASE("v4-mapped addresses unmap to IPv4") {
    auto mapped = parse_ipv6("::ffff:10.1.2.3").value();
    CHECK(mapped.is_v4_mapped());
    CHECK(mapped.unmapped() == parse_ipv4("10.1.2.3").value());
    CHECK(mapped.normalized() == parse_ipv4("10.1.2.3").value());
    auto compatible = parse_ipv6("::10.1.2.3").value();
    CHECK_FALSE(compatible.is_v4_mapped());
    CHECK(compatible.unmapped() == compatible);
}

TEST_CASE("normalized: v4-mapped and v4-compatible addresses are IPv4, as MySQL sees clients") {
    const std::pair<const char*, const char*> rows[] = {
        {"::ffff:10.1.2.3", "10.1.2.3"},
        {"::127.0.0.7", "127.0.0.7"},
        {"::10.1.2.3", "10.1.2.3"},
        {"::0.0.0.2", "0.0.0.2"},  // the smallest v4-compatible address
        {"::0.1.0.0", "0.1.0.0"},
        {"::", "::"},              // unspecified: IN6_IS_ADDR_V4COMPAT leaves it out
        {"::1", "::1"},            // loopback: left out too
        {"::1:0:0", "::1:0:0"},    // bits set before the last 32
        {"2001:db8::1", "2001:db8::1"},
        {"10.1.2.3", "10.1.2.3"},
    };
    for (const auto& [text, normal] : rows) {
        INFO(text);
        CHECK(parse_ip(text)->normalized().to_string() == normal);
    }
}

TEST_CASE("ports: decimal 0-65535 without leading zeros") {
    CHECK(parse_port("0") == std::uint16_t{0});
    CHECK(parse_port("65535") == std::uint16_t{65535});
    CHECK_FALSE(parse_port("65536"));
    CHECK_FALSE(parse_port("080"));
    CHECK_FALSE(parse_port(""));
    CHECK_FALSE(parse_port("-1"));
    CHECK_FALSE(parse_port("123456"));
}

TEST_CASE("endpoints") {
    CHECK(parse_endpoint("127.0.0.1:3306")->to_string() == "127.0.0.1:3306");
    CHECK(parse_endpoint("[::1]:3306")->to_string() == "[::1]:3306");
    CHECK_FALSE(parse_endpoint("::1:3306"));
    CHECK_FALSE(parse_endpoint("127.0.0.1"));
    CHECK_FALSE(parse_endpoint("[::1]"));
    CHECK_FALSE(parse_endpoint("localhost:3306"));
}

TEST_CASE("networks contain their own family only") {
    auto net = make_network(parse_ip("10.1.2.3").value(), 16).value();
    CHECK(net.to_string() == "10.1.0.0/16");
    CHECK(net.contains(parse_ip("10.1.255.255").value()));
    CHECK_FALSE(net.contains(parse_ip("10.2.0.0").value()));
    CHECK_FALSE(net.contains(parse_ip("::ffff:10.1.0.1").value()));  // callers unmap first

    auto odd = make_network(parse_ip("10.1.2.3").value(), 13).value();
    CHECK(odd.to_string() == "10.0.0.0/13");
    CHECK(odd.contains(parse_ip("10.7.255.255").value()));
    CHECK_FALSE(odd.contains(parse_ip("10.8.0.0").value()));

    auto v6 = make_network(parse_ip("2001:db8::").value(), 32).value();
    CHECK(v6.contains(parse_ip("2001:db8:ffff::1").value()));
    CHECK_FALSE(v6.contains(parse_ip("2001:db9::1").value()));

    auto all = make_network(parse_ip("0.0.0.0").value(), 0).value();
    CHECK(all.contains(parse_ip("255.1.2.3").value()));
    CHECK_FALSE(make_network(parse_ip("1.2.3.4").value(), 33));
    CHECK(host_bits_zero(parse_ip("10.0.0.0").value(), 8));
    CHECK_FALSE(host_bits_zero(parse_ip("10.0.0.1").value(), 8));
}
