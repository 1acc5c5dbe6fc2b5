// The grant table's order and decisions with several rules: which account applies.
#include <catch2/catch.hpp>

#include "auth/grant_table.h"
#include "auth/grants_file.h"

using namespace hostgate::auth;
using hostgate::protocol::parse_ip;

namespace {

GrantTable table_of(const char* text) {
    auto rules = parse_grants(text);
    if (!rules) FAIL(rules.error().to_string());
    return GrantTable(std::move(*rules));
}

ClientHost at(const char* address) {
    return {parse_ip(address).value(), std::nullopt};
}

// The grants-file line of the rule that applies, 0 when denied.
std::size_t line_for(const GrantTable& t, const char* user, const char* address) {
    const Decision d = t.decide(user, at(address));
    return d.allowed() ? d.rule->line : 0;
}

std::vector<std::string> order(const GrantTable& t) {
    std::vector<std::string> out;
    for (const Rule& r : t.rules()) out.push_back(r.account());
    return out;
}

}  // namespace

TEST_CASE("rules sort into MySQL's order") {
    const GrantTable t = table_of(
        "''@'%'\n"                 // 1
        "'app'@''\n"               // 2
        "'app'@'%'\n"              // 3
        "'app'@'10.%'\n"           // 4
        "'app'@'10.1.%'\n"         // 5
        "''@'10.1.2.3'\n"          // 6
        "'app'@'10.0.0.0/8'\n"     // 7
        "'app'@'10.1.2.3'\n"       // 8
        "'app'@'10.1.0.0/16'\n");  // 9
    CHECK(order(t) == std::vector<std::string>{
                          "'app'@'10.1.2.3'",     // literal, /32
                          "'app'@'10.1.0.0/16'",  // network: same host specificity, narrower first
                          "'app'@'10.0.0.0/8'",
                          "''@'10.1.2.3'",   // anonymous after named users at the same host rank
                          "'app'@'10.1.%'",  // first wildcard at 6
                          "'app'@'10.%'",    // first wildcard at 4
                          "'app'@'%'", "''@'%'",
                          "'app'@''",  // '' after '%'
                      });
}

TEST_CASE("the most specific host wins, even over a named user (MySQL, not MariaDB 10.4+)") {
    // MySQL's classic case: an anonymous account on a specific host shadows 'joe'@'%'.
    const GrantTable t = table_of(
        "'joe'@'%'\n"
        "''@'10.0.0.5'\n");
    CHECK(line_for(t, "joe", "10.0.0.5") == 2);
    CHECK(line_for(t, "joe", "10.0.0.6") == 1);
    CHECK(line_for(t, "ann", "10.0.0.5") == 2);
    CHECK(t.decide("ann", at("10.0.0.6")) == Decision::deny(DenyReason::no_rule_for_user));
}

TEST_CASE("options come from the rule that applies") {
    const GrantTable t = table_of(
        "'app'@'10.1.%'         REQUIRE SSL\n"
        "'app'@'10.1.2.0/24'    BACKEND replicas MAX_USER_CONNECTIONS 20\n");
    const Decision narrow = t.decide("app", at("10.1.2.9"));
    REQUIRE(narrow.allowed());
    CHECK(narrow.rule->options == RuleOptions{.max_user_connections = 20, .backend = "replicas"});
    const Decision wide = t.decide("app", at("10.1.3.9"));
    REQUIRE(wide.allowed());
    CHECK(wide.rule->options == RuleOptions{.require = {TlsRequirement::Kind::ssl}});
}

TEST_CASE("the grants of the README's example decide as MySQL would") {
    const GrantTable t = table_of(
        "'test'@'192.168.122.1'\n"
        "'app'@'10.0.0.0/255.255.0.0'\n"
        "'app'@'10.1.%'            REQUIRE SSL\n"
        "'report'@'10.2.0.0/16'    MAX_USER_CONNECTIONS 20  BACKEND replicas\n"
        "''@'10.9.9.9'             # anonymous: any user from this address\n"
        "'ops'@'2001:db8::/32'\n");
    CHECK(line_for(t, "test", "192.168.122.1") == 1);
    CHECK(line_for(t, "app", "10.0.7.7") == 2);
    CHECK(line_for(t, "app", "10.1.7.7") == 3);
    CHECK(line_for(t, "report", "10.2.7.7") == 4);
    CHECK(line_for(t, "whoever", "10.9.9.9") == 5);
    CHECK(line_for(t, "ops", "2001:db8::7") == 6);
    CHECK(t.decide("app", at("10.2.7.7")) == Decision::deny(DenyReason::no_rule_for_user));
    CHECK(t.decide("app", at("10.3.7.7")) == Decision::deny(DenyReason::no_rule_for_host));
    CHECK(t.decide("test", at("192.168.122.2")) == Decision::deny(DenyReason::no_rule_for_host));
    CHECK(t.decide("ops", at("2001:db9::1")) == Decision::deny(DenyReason::no_rule_for_host));
}

TEST_CASE("an empty table allows nobody") {
    const GrantTable t;
    CHECK(t.decide("root", at("127.0.0.1")) == Decision::deny(DenyReason::no_rule_for_host));
    CHECK_FALSE(t.host_allowed(at("127.0.0.1")));
}

TEST_CASE("deny messages are MySQL's") {
    CHECK(deny_message(DenyReason::no_rule_for_host, "bob", at("10.0.0.1"), true) ==
          "Host '10.0.0.1' is not allowed to connect to this MySQL server");
    CHECK(deny_message(DenyReason::no_rule_for_user, "bob", at("::ffff:10.0.0.1"), true) ==
          "Access denied for user 'bob'@'10.0.0.1' (using password: YES)");
    CHECK(deny_message(DenyReason::no_rule_for_user, "bob", at("::1"), false) ==
          "Access denied for user 'bob'@'::1' (using password: NO)");
    CHECK(deny_error_code(DenyReason::no_rule_for_host) == 1130);
    CHECK(deny_error_code(DenyReason::no_rule_for_user) == 1045);
}

TEST_CASE("check_all reports every rule's verdict in match order") {
    const GrantTable t = table_of("'a'@'%'\n'b'@'10.0.0.1'\n");
    const auto checks = t.check_all("a", at("10.0.0.2"));
    REQUIRE(checks.size() == 2);
    CHECK(checks[0].rule->account() == "'b'@'10.0.0.1'");
    CHECK_FALSE(checks[0].host_matches);
    CHECK_FALSE(checks[0].user_matches);
    CHECK(checks[1].host_matches);
    CHECK(checks[1].user_matches);
}

TEST_CASE("ENDPOINT narrows a rule to clients that came through that endpoint") {
    // Two tenants behind a PrivateLink-style service, both at 10.0.0.5; ordering as without
    // ENDPOINT (ties: the rule defined first).
    const GrantTable t = table_of(
        "'app'@'10.0.0.5' ENDPOINT 'vpce-tenant-a' BACKEND a\n"  // 1
        "'app'@'10.0.0.5' ENDPOINT 'vpce-tenant-b' BACKEND b\n"  // 2
        "'app'@'10.0.0.%'\n"                                     // 3
        "'ops'@'10.9.9.9' ENDPOINT '4294967295'\n");             // 4
    auto through = [](const char* address, std::string endpoint) {
        ClientHost c = at(address);
        c.endpoint = std::move(endpoint);
        return c;
    };
    auto line = [&](const char* user, const ClientHost& c) {
        const Decision d = t.decide(user, c);
        return d.allowed() ? d.rule->line : 0;
    };
    CHECK(line("app", through("10.0.0.5", "vpce-tenant-a")) == 1);
    CHECK(line("app", through("10.0.0.5", "vpce-tenant-b")) == 2);
    CHECK(line("app", through("10.0.0.5", "vpce-tenant-c")) == 3);  // the rule without ENDPOINT
    CHECK(line("app", at("10.0.0.5")) == 3);                        // no endpoint: never 1 or 2
    CHECK(line("app", through("10.0.0.5", "VPCE-TENANT-A")) == 3);  // compared exactly

    // A rule with ENDPOINT never matches a client without one, not even for the host check.
    CHECK(t.host_allowed(through("10.9.9.9", "4294967295")));
    CHECK_FALSE(t.host_allowed(at("10.9.9.9")));
    CHECK_FALSE(t.host_allowed(through("10.9.9.9", "4294967294")));
    CHECK(t.decide("ops", at("10.9.9.9")) == Decision::deny(DenyReason::no_rule_for_host));

    const auto checks = t.check_all("app", through("10.0.0.5", "vpce-tenant-b"));
    REQUIRE(checks.size() == 4);
    CHECK((checks[0].host_matches && !checks[0].endpoint_matches));
    CHECK((checks[1].host_matches && checks[1].endpoint_matches && checks[1].user_matches));
    CHECK(checks[3].endpoint_matches);  // names none

    CHECK(t.rules()[0].key() == "'app'@'10.0.0.5' ENDPOINT 'vpce-tenant-a'");
    CHECK(t.rules()[0].account() == "'app'@'10.0.0.5'");
    CHECK(t.rules()[3].key() == "'app'@'10.0.0.%'");
}

TEST_CASE("REQUIRE is met as MySQL's acl_check_ssl meets it") {
    using Kind = TlsRequirement::Kind;
    const TlsFacts plaintext{};
    const TlsFacts tls_only{.tls = true, .cipher = "TLS_AES_256_GCM_SHA384"};
    const TlsFacts with_certificate{.tls = true,
                                    .verified_certificate = true,
                                    .subject = "/C=NL/O=Example/CN=app",
                                    .issuer = "/CN=Example CA",
                                    .cipher = "TLS_AES_256_GCM_SHA384"};
    TlsFacts unverified = with_certificate;
    unverified.verified_certificate = false;

    CHECK_FALSE(unmet({}, plaintext));
    CHECK(unmet({Kind::ssl}, plaintext) == "requires SSL; the client is not on TLS");
    CHECK_FALSE(unmet({Kind::ssl}, tls_only));
    CHECK(unmet({Kind::x509}, tls_only) ==
          "requires X509; the client presented no verified certificate");
    CHECK(unmet({Kind::x509}, unverified));
    CHECK_FALSE(unmet({Kind::x509}, with_certificate));

    const TlsRequirement subject{Kind::specified, "", "/C=NL/O=Example/CN=app", ""};
    CHECK_FALSE(unmet(subject, with_certificate));
    CHECK(unmet(subject, tls_only));
    TlsFacts other = with_certificate;
    other.subject = "/C=NL/O=Example/CN=app2";
    CHECK(unmet(subject, other) ==
          "requires SUBJECT '/C=NL/O=Example/CN=app'; the certificate's subject is "
          "'/C=NL/O=Example/CN=app2'");
    other.subject = "/c=NL/O=Example/CN=app";  // compared exactly, as MySQL does
    CHECK(unmet(subject, other));
    const TlsRequirement issuer{Kind::specified, "/CN=Example CA", "", ""};
    CHECK_FALSE(unmet(issuer, with_certificate));
    other = with_certificate;
    other.issuer = "/CN=Rogue CA";
    CHECK(unmet(issuer, other));
    // CIPHER alone needs TLS, not a certificate.
    const TlsRequirement cipher{Kind::specified, "", "", "TLS_AES_256_GCM_SHA384"};
    CHECK_FALSE(unmet(cipher, tls_only));
    CHECK(unmet({Kind::specified, "", "", "TLS_AES_128_GCM_SHA256"}, tls_only) ==
          "requires CIPHER 'TLS_AES_128_GCM_SHA256'; the cipher is TLS_AES_256_GCM_SHA384");
    CHECK(unmet(cipher, plaintext));
}

TEST_CASE("a certificate's names reach the refusal's reason as log literals") {
    // The subject is the client's bytes: a newline in it must not end the log line.
    TlsFacts facts{.tls = true, .verified_certificate = true, .subject = "/CN=app\nforged line"};
    const auto why = unmet({TlsRequirement::Kind::specified, "", "/CN=app", ""}, facts);
    REQUIRE(why);
    CHECK(why->find('\n') == std::string::npos);
    CHECK(why->ends_with("the certificate's subject is '/CN=app\\nforged line'"));
}
