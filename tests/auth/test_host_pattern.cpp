// Host patterns: one account against one client, with MySQL's matching semantics.
#include <catch2/catch.hpp>

#include "auth/grant_table.h"
#include "auth/grants_file.h"

using namespace hostgate::auth;
using hostgate::protocol::parse_ip;

namespace {

enum class Expect { allow, deny_1045, deny_1130 };

struct Row {
    const char* account;   // one grants-file line
    const char* user;      // the user name the client logs in as
    const char* address;   // the client's real address
    const char* name;      // its resolved host name; nullptr when resolution is off
    Expect expected;
};

// (pattern, address, user, expected): literal, wildcard, netmask, CIDR, IPv6, v4-mapped,
// anonymous, '%' and '', localhost and host names.
const Row kRows[] = {
    // literal IPv4
    {"'test'@'192.168.122.1'", "test", "192.168.122.1", nullptr, Expect::allow},
    {"'test'@'192.168.122.1'", "test", "192.168.122.2", nullptr, Expect::deny_1130},
    {"'test'@'192.168.122.1'", "other", "192.168.122.1", nullptr, Expect::deny_1045},
    {"'test'@'192.168.122.1'", "Test", "192.168.122.1", nullptr, Expect::deny_1045},  // users are case-sensitive
    {"'test'@'192.168.122.1'", "test", "::ffff:192.168.122.1", nullptr, Expect::allow},  // v4-mapped client
    {"'test'@'192.168.122.1'", "test", "::1", nullptr, Expect::deny_1130},
    {"'test'@'192.168.122.1'", "test ", "192.168.122.1", nullptr, Expect::deny_1045},
    {"'test'@'192.168.122.1'", "", "192.168.122.1", nullptr, Expect::deny_1045},
    {"'test'@'::ffff:192.168.122.1'", "test", "192.168.122.1", nullptr, Expect::allow},
    // netmask
    {"'app'@'10.0.0.0/255.255.0.0'", "app", "10.0.255.255", nullptr, Expect::allow},
    {"'app'@'10.0.0.0/255.255.0.0'", "app", "10.0.0.0", nullptr, Expect::allow},
    {"'app'@'10.0.0.0/255.255.0.0'", "app", "10.1.0.0", nullptr, Expect::deny_1130},
    {"'app'@'10.0.0.0/255.255.0.0'", "app", "::ffff:10.0.3.4", nullptr, Expect::allow},
    {"'app'@'10.0.0.0/255.255.0.0'", "bob", "10.0.3.4", nullptr, Expect::deny_1045},
    {"'app'@'10.0.0.0/255.255.255.255'", "app", "10.0.0.0", nullptr, Expect::allow},
    {"'app'@'10.0.0.0/255.255.255.255'", "app", "10.0.0.1", nullptr, Expect::deny_1130},
    {"'app'@'0.0.0.0/0.0.0.0'", "app", "203.0.113.9", nullptr, Expect::allow},
    {"'app'@'0.0.0.0/0.0.0.0'", "app", "2001:db8::1", nullptr, Expect::deny_1130},
    // CIDR v4
    {"'report'@'10.2.0.0/16'", "report", "10.2.200.1", nullptr, Expect::allow},
    {"'report'@'10.2.0.0/16'", "report", "10.3.0.1", nullptr, Expect::deny_1130},
    {"'report'@'10.2.0.0/15'", "report", "10.3.0.1", nullptr, Expect::allow},
    {"'report'@'10.2.0.0/15'", "report", "10.4.0.1", nullptr, Expect::deny_1130},
    {"'report'@'10.2.3.4/32'", "report", "10.2.3.4", nullptr, Expect::allow},
    {"'report'@'0.0.0.0/0'", "report", "198.51.100.1", nullptr, Expect::allow},
    // wildcards
    {"'app'@'10.1.%'", "app", "10.1.2.3", nullptr, Expect::allow},
    {"'app'@'10.1.%'", "app", "10.10.2.3", nullptr, Expect::deny_1130},
    {"'app'@'10.1%'", "app", "10.10.2.3", nullptr, Expect::allow},  // % is textual
    {"'app'@'10.1.%'", "app", "::ffff:10.1.2.3", nullptr, Expect::allow},
    {"'app'@'192.168.1._'", "app", "192.168.1.7", nullptr, Expect::allow},
    {"'app'@'192.168.1._'", "app", "192.168.1.17", nullptr, Expect::deny_1130},
    {"'app'@'192.168.1.__'", "app", "192.168.1.17", nullptr, Expect::allow},
    {"'app'@'%.1.2.3'", "app", "10.1.2.3", nullptr, Expect::allow},
    {"'app'@'10.%.%.1'", "app", "10.200.3.1", nullptr, Expect::allow},
    {"'app'@'10.%.%.1'", "app", "10.200.3.2", nullptr, Expect::deny_1130},
    {"'app'@'10.1.%'", "app", "10.1.2.3", "10.1.evil.example", Expect::allow},
    {"'app'@'10.1.%'", "app", "10.9.9.9", "10.1.evil.example", Expect::deny_1130},  // IP patterns ignore names
    {"'app'@'192.168.1.\\_'", "app", "192.168.1.7", nullptr, Expect::deny_1130},  // escaped: a literal '_'
    // any host: '%' and ''
    {"'app'@'%'", "app", "203.0.113.9", nullptr, Expect::allow},
    {"'app'@'%'", "app", "2001:db8::9", nullptr, Expect::allow},
    {"'app'@'%'", "nobody", "203.0.113.9", nullptr, Expect::deny_1045},
    {"'app'@''", "app", "203.0.113.9", nullptr, Expect::allow},
    {"'app'", "app", "203.0.113.9", nullptr, Expect::allow},  // no @host means @'%'
    {"app@'%'", "app", "203.0.113.9", nullptr, Expect::allow},
    // anonymous user
    {"''@'10.9.9.9'", "anyone", "10.9.9.9", nullptr, Expect::allow},
    {"''@'10.9.9.9'", "", "10.9.9.9", nullptr, Expect::allow},
    {"''@'10.9.9.9'", "anyone", "10.9.9.8", nullptr, Expect::deny_1130},
    {"''@'%'", "x", "192.0.2.1", nullptr, Expect::allow},
    // IPv6
    {"'ops'@'2001:db8::/32'", "ops", "2001:db8:ffff::1", nullptr, Expect::allow},
    {"'ops'@'2001:db8::/32'", "ops", "2001:db9::1", nullptr, Expect::deny_1130},
    {"'ops'@'2001:db8::/32'", "ops", "10.0.0.1", nullptr, Expect::deny_1130},
    {"'ops'@'::1'", "ops", "::1", nullptr, Expect::allow},
    {"'ops'@'::1'", "ops", "127.0.0.1", nullptr, Expect::deny_1130},  // ::1 is not 127.0.0.1
    {"'ops'@'2001:DB8::1'", "ops", "2001:db8::1", nullptr, Expect::allow},
    {"'ops'@'2001:0db8:0:0::1'", "ops", "2001:db8::1", nullptr, Expect::allow},  // same address
    {"'ops'@'fe80::%'", "ops", "fe80::1:2", nullptr, Expect::allow},
    {"'ops'@'FE80::%'", "ops", "fe80::1:2", nullptr, Expect::allow},  // case-insensitive
    {"'ops'@'fe80::%'", "ops", "fe81::1", nullptr, Expect::deny_1130},
    {"'ops'@'2001:db8::1:%'", "ops", "2001:db8::1:5", nullptr, Expect::allow},
    {"'ops'@'::/0'", "ops", "2001:db8::5", nullptr, Expect::allow},
    {"'ops'@'::/0'", "ops", "10.0.0.5", nullptr, Expect::deny_1130},
    {"'ops'@'::ffff:0:0/96'", "ops", "10.0.0.5", nullptr, Expect::allow},  // all v4-mapped = all IPv4
    {"'ops'@'::ffff:10.0.0.0/104'", "ops", "10.0.0.5", nullptr, Expect::allow},
    {"'ops'@'::ffff:10.0.0.0/104'", "ops", "11.0.0.5", nullptr, Expect::deny_1130},
    // localhost never matches a TCP client, not even from loopback
    {"'root'@'localhost'", "root", "127.0.0.1", nullptr, Expect::deny_1130},
    {"'root'@'localhost'", "root", "::1", "localhost", Expect::deny_1130},
    {"'root'@'127.0.0.1'", "root", "127.0.0.1", nullptr, Expect::allow},
    // host names: only with name resolution on
    {"'web'@'app1.example.com'", "web", "192.0.2.10", nullptr, Expect::deny_1130},
    {"'web'@'app1.example.com'", "web", "192.0.2.10", "app1.example.com", Expect::allow},
    {"'web'@'app1.example.com'", "web", "192.0.2.10", "APP1.Example.COM", Expect::allow},
    {"'web'@'%.example.com'", "web", "192.0.2.10", "app7.example.com", Expect::allow},
    {"'web'@'%.example.com'", "web", "192.0.2.10", "example.com.evil.test", Expect::deny_1130},
    {"'web'@'%.example.com'", "web", "192.0.2.10", nullptr, Expect::deny_1130},
    {"'web'@'app_.example.com'", "web", "192.0.2.10", "app1.example.com", Expect::allow},
};

}  // namespace

TEST_CASE("one account against one client, MySQL semantics") {
    REQUIRE(std::size(kRows) >= 60);
    for (const Row& row : kRows) {
        INFO(row.account << " <- '" << row.user << "'@" << row.address
                         << (row.name ? std::string(" (") + row.name + ")" : std::string()));
        auto rules = parse_grants(row.account);
        REQUIRE(rules.has_value());
        GrantTable table(std::move(*rules));
        ClientHost client{parse_ip(row.address).value(),
                          row.name ? std::optional<std::string>(row.name) : std::nullopt};
        const Decision d = table.decide(row.user, client);
        switch (row.expected) {
            case Expect::allow: CHECK(d == Decision::allow(table.rules().front())); break;
            case Expect::deny_1045: CHECK(d == Decision::deny(DenyReason::no_rule_for_user)); break;
            case Expect::deny_1130: CHECK(d == Decision::deny(DenyReason::no_rule_for_host)); break;
        }
        CHECK(table.host_allowed(client) == (row.expected != Expect::deny_1130));
    }
}

TEST_CASE("host sort values follow MySQL's get_sort") {
    struct SortRow {
        const char* text;
        unsigned value;
    };
    const SortRow rows[] = {
        {"192.168.1.5", 128}, {"10.0.0.0/255.0.0.0", 128}, {"app1.example.com", 128},
        {"10.1.%", 6},        {"10.1%", 5},                {"%.example.com", 1},
        {"%", 1},             {"", 0},                     {"192.168.1.\\_", 128},
        {"fe80::%", 7},       {"a_b", 2},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        CHECK(mysql_sort_value(r.text) == r.value);
    }
    std::string long_prefix(200, 'a');
    CHECK(mysql_sort_value(long_prefix + "%") == 127);  // capped
}

TEST_CASE("wildcard matching") {
    CHECK(wildcard_match("%", ""));
    CHECK(wildcard_match("a%b%c", "axxbyyc"));
    CHECK_FALSE(wildcard_match("a%b%c", "axxbyy"));
    CHECK(wildcard_match("%%", "abc"));
    CHECK(wildcard_match("_", "x"));
    CHECK_FALSE(wildcard_match("_", ""));
    CHECK_FALSE(wildcard_match("_", "xy"));
    CHECK(wildcard_match("a\\%", "a%"));
    CHECK_FALSE(wildcard_match("a\\%", "ab"));
    CHECK(wildcard_match("%ab", "aab"));
    CHECK(wildcard_match("ABC", "abc"));
}

TEST_CASE("host pattern kinds and what they are called") {
    struct KindRow {
        const char* text;
        HostPattern::Kind kind;
        const char* description;
    };
    using K = HostPattern::Kind;
    const KindRow rows[] = {
        {"%", K::any, "any host"},
        {"", K::empty, "any host (empty host, ordered after '%')"},
        {"10.0.0.1", K::address, "IPv4 address 10.0.0.1"},
        {"::ffff:10.0.0.1", K::address, "IPv4 address 10.0.0.1"},
        {"2001:db8::1", K::address, "IPv6 address 2001:db8::1"},
        {"10.0.0.0/255.255.0.0", K::network, "IPv4 network 10.0.0.0/16 (netmask form)"},
        {"10.0.0.0/16", K::network, "IPv4 network 10.0.0.0/16"},
        {"2001:db8::/32", K::network, "IPv6 network 2001:db8::/32"},
        {"10.1.%", K::ip_wildcard, "IP address pattern, first wildcard at position 6"},
        {"localhost", K::localhost, "unix-socket clients only, never a TCP client"},
        {"LocalHost", K::localhost, "unix-socket clients only, never a TCP client"},
        {"db1.example.com", K::host_name, "host name (needs name resolution)"},
        {"%.example.com", K::host_name, "host name pattern (needs name resolution)"},
        {"db%", K::host_name, "host name pattern (needs name resolution)"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        auto p = HostPattern::parse(r.text);
        REQUIRE(p.has_value());
        CHECK(p->kind() == r.kind);
        CHECK(p->describe() == r.description);
    }
}

TEST_CASE("host patterns that can never be right are refused") {
    struct BadRow {
        const char* text;
        const char* message;
    };
    const BadRow rows[] = {
        {"10.0.0.300", "'10.0.0.300' is not a valid IP address"},
        {"10.0.0.01", "'10.0.0.01' is not a valid IP address"},
        {"1.2.3", "'1.2.3' is not a valid IP address"},
        {"2001:db8:::1", "'2001:db8:::1' is not a valid IP address"},
        {"10.0.0.1/255.0.255.0", "netmask 255.0.255.0 is not contiguous"},
        {"10.1.0.0/255.0.0.0", "'10.1.0.0/255.0.0.0' has address bits set outside its netmask mask; did you mean 10.0.0.0/8?"},
        {"10.1.2.3/16", "'10.1.2.3/16' has address bits set outside its CIDR mask; did you mean 10.1.0.0/16?"},
        {"10.0.0.0/33", "'/33' is not a prefix length for IPv4 (0-32)"},
        {"10.0.0.0/08", "'/08' is not a prefix length for IPv4 (0-32)"},
        {"2001:db8::/129", "'/129' is not a prefix length for IPv6 (0-128)"},
        {"2001:db8::/255.255.0.0", "'255.255.0.0' is not an IPv4 netmask"},
        {"10.%/8", "'10.%' before '/' is not an IP address"},
        {"db 1", "host 'db 1' contains white space or a control character"},
        {"fe80::1%eth0", "'fe80::1%eth0' is neither an IP address nor a host name"},
        {"db1;drop", "'db1;drop' is neither an IP address nor a host name"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        auto p = HostPattern::parse(r.text);
        REQUIRE_FALSE(p.has_value());
        CHECK(p.error().code == make_error_code(errc::bad_host));
        CHECK(p.error().message == r.message);
    }
}
