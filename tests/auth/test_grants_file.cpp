// The grants file parser: accepted forms, and errors with line and column.
#include <catch2/catch.hpp>

#include "auth/grants_file.h"
#include "auth/trusted_networks.h"

using namespace hostgate::auth;

TEST_CASE("grants file: accepted forms") {
    auto rules = parse_grants(
        "# comment line\n"
        "\n"
        "   'a'@'%'\n"
        "\"b\"@\"10.%\"\t# double quotes, tab before the comment\n"
        "`c`@`10.0.0.1` require ssl\n"
        "d@'%' MAX_USER_CONNECTIONS 0 Backend db-group.2\n"
        "'it''s'@'%'\n"
        "'back\\\\slash'@'%'\n"
        "'e'@'192.168.1.\\_' REQUIRE NONE\r\n"
        "'f'\n");
    REQUIRE(rules.has_value());
    REQUIRE(rules->size() == 8);
    const auto& r = *rules;
    CHECK(r[0].user == "a");
    CHECK(r[0].line == 3);
    CHECK(r[1].user == "b");
    CHECK(r[1].host.text() == "10.%");
    CHECK(r[2].user == "c");
    CHECK(r[2].options.require.kind == TlsRequirement::Kind::ssl);
    CHECK(r[3].user == "d");
    CHECK(r[3].options == RuleOptions{.backend = "db-group.2"});
    CHECK(r[4].user == "it's");
    CHECK(r[4].account() == "'it''s'@'%'");
    CHECK(r[5].user == "back\\slash");
    CHECK(r[6].host.text() == "192.168.1.\\_");
    CHECK(r[6].options.require.kind == TlsRequirement::Kind::none);
    CHECK(r[7].user == "f");
    CHECK(r[7].host.text() == "%");
}

TEST_CASE("grants file: REQUIRE as in CREATE USER") {
    using Kind = TlsRequirement::Kind;
    auto rules = parse_grants(
        "'a'@'%' REQUIRE X509\n"
        "'b'@'%' require subject '/C=NL/O=Example/CN=b' and issuer \"/CN=Example CA\"\n"
        "'c'@'%' REQUIRE CIPHER 'TLS_AES_256_GCM_SHA384' SUBJECT '/CN=c' BACKEND g\n"
        "'d'@'%' REQUIRE ISSUER '/CN=it''s'  MAX_USER_CONNECTIONS 2\n"
        "'e'@'%' REQUIRE NONE\n");
    REQUIRE(rules.has_value());
    const auto& r = *rules;
    CHECK(r[0].options.require == TlsRequirement{Kind::x509});
    CHECK(r[1].options.require ==
          TlsRequirement{Kind::specified, "/CN=Example CA", "/C=NL/O=Example/CN=b", ""});
    CHECK(r[2].options.require ==
          TlsRequirement{Kind::specified, "", "/CN=c", "TLS_AES_256_GCM_SHA384"});
    CHECK(r[2].options.backend == "g");
    CHECK(r[3].options.require == TlsRequirement{Kind::specified, "/CN=it's", "", ""});
    CHECK(r[3].options.max_user_connections == 2);
    CHECK(r[4].options.require == TlsRequirement{});
    CHECK(format_rule(r[1]) ==
          "'b'@'%'  REQUIRE ISSUER '/CN=Example CA' AND SUBJECT '/C=NL/O=Example/CN=b'");
    CHECK(format_rule(r[2]) ==
          "'c'@'%'  REQUIRE SUBJECT '/CN=c' AND CIPHER 'TLS_AES_256_GCM_SHA384' BACKEND g");
}

TEST_CASE("grants file: ENDPOINT") {
    auto rules = parse_grants(
        "'app'@'10.0.0.5' ENDPOINT 'vpce-0a1b2c3d4e5f67890' BACKEND a\n"
        "'app'@'10.0.0.5' endpoint \"2018915346\"\n"  // another endpoint: another rule
        "'app'@'10.0.0.5'\n"                          // and the account without one
        "'x'@'%' ENDPOINT 'it''s'\n");
    REQUIRE(rules.has_value());
    REQUIRE(rules->size() == 4);
    CHECK((*rules)[0].options == RuleOptions{.backend = "a", .endpoint = "vpce-0a1b2c3d4e5f67890"});
    CHECK((*rules)[1].options.endpoint == "2018915346");
    CHECK((*rules)[2].options.endpoint.empty());
    CHECK((*rules)[3].options.endpoint == "it's");
    CHECK(format_rule((*rules)[0]) ==
          "'app'@'10.0.0.5'  BACKEND a ENDPOINT 'vpce-0a1b2c3d4e5f67890'");
    CHECK(format_rule((*rules)[3]) == "'x'@'%'  ENDPOINT 'it''s'");
}

TEST_CASE("grants file: errors name line and column") {
    struct Row {
        const char* name;
        const char* text;
        errc code;
        std::size_t line, column;
        const char* message;
    };
    const Row rows[] = {
        {"unknown_option", "'a'@'%'\n'b'@'%' REQUIRE_SSL\n", errc::unknown_option, 2, 9,
         "unknown option 'REQUIRE_SSL' (expected REQUIRE, MAX_USER_CONNECTIONS, BACKEND or "
         "ENDPOINT)"},
        {"require_what", "'a'@'%' REQUIRE X510", errc::bad_value, 1, 17,
         "REQUIRE takes NONE, SSL, X509, or ISSUER, SUBJECT and CIPHER with quoted values"},
        {"require_nothing", "'a'@'%' REQUIRE", errc::bad_value, 1, 16,
         "REQUIRE takes NONE, SSL, X509, or ISSUER, SUBJECT and CIPHER with quoted values"},
        {"require_subject_unquoted", "'a'@'%' REQUIRE SUBJECT /CN=a", errc::bad_value, 1, 25,
         "REQUIRE SUBJECT takes a quoted value"},
        {"require_subject_empty", "'a'@'%' REQUIRE SUBJECT ''", errc::bad_value, 1, 25,
         "REQUIRE SUBJECT takes a value that is not empty"},
        {"require_issuer_twice", "'a'@'%' REQUIRE ISSUER '/CN=x' AND ISSUER '/CN=y'",
         errc::duplicate_option, 1, 36, "REQUIRE ISSUER given twice"},
        {"require_and_dangling", "'a'@'%' REQUIRE CIPHER 'x' AND", errc::unknown_option, 1, 28,
         "unknown option 'AND' (expected REQUIRE, MAX_USER_CONNECTIONS, BACKEND or ENDPOINT)"},
        {"require_unclosed", "'a'@'%' REQUIRE SUBJECT '/CN=a", errc::bad_value, 1, 25,
         "REQUIRE SUBJECT is missing its closing '"},
        {"max_not_a_number", "'a'@'%' MAX_USER_CONNECTIONS lots", errc::bad_value, 1, 30,
         "MAX_USER_CONNECTIONS takes a whole number (0: no limit)"},
        {"max_negative", "'a'@'%' MAX_USER_CONNECTIONS -1", errc::bad_value, 1, 30,
         "MAX_USER_CONNECTIONS takes a whole number (0: no limit)"},
        {"max_too_big", "'a'@'%' MAX_USER_CONNECTIONS 99999999999", errc::bad_value, 1, 30,
         "MAX_USER_CONNECTIONS takes a whole number (0: no limit)"},
        {"backend_bad_name", "'a'@'%' BACKEND a/b", errc::bad_value, 1, 17,
         "BACKEND takes a group name (letters, digits, '_', '-', '.')"},
        {"option_twice", "'a'@'%' REQUIRE SSL require none", errc::duplicate_option, 1, 21,
         "option REQUIRE given twice"},
        {"no_space_before_option", "'a'@'%'REQUIRE SSL", errc::syntax, 1, 8,
         "expected white space before an option"},
        {"unclosed_user", "'a@'%'", errc::syntax, 1, 5, "expected '@' after the user name"},
        {"unclosed_host", "'a'@'%", errc::bad_host, 1, 5, "host is missing its closing '"},
        {"unclosed_user_at_end", "'abc", errc::bad_user, 1, 1, "user is missing its closing '"},
        {"space_around_at", "'a' @ '%'", errc::unknown_option, 1, 5,
         "unknown option '@' (expected REQUIRE, MAX_USER_CONNECTIONS, BACKEND or ENDPOINT)"},
        {"not_an_account", "GRANT ALL ON *.* TO 'a'@'%'", errc::unknown_option, 1, 7,
         "unknown option 'ALL' (expected REQUIRE, MAX_USER_CONNECTIONS, BACKEND or ENDPOINT)"},
        {"garbage", "@'%'", errc::syntax, 1, 1, "expected a quoted user such as 'app'@'10.0.0.%'"},
        {"bad_host", "\n\n  'a'@'10.0.0.256'", errc::bad_host, 3, 7,
         "'10.0.0.256' is not a valid IP address"},
        {"duplicate_account", "'a'@'10.%'\n# x\n'a'@'10.%' REQUIRE SSL\n", errc::duplicate_account,
         3, 1, "'a'@'10.%' is already defined on line 1"},
        {"duplicate_account_host_case", "'a'@'DB.example'\n'a'@'db.EXAMPLE'\n",
         errc::duplicate_account, 2, 1, "'a'@'db.EXAMPLE' is already defined on line 1"},
        {"endpoint_unquoted", "'a'@'%' ENDPOINT vpce-1", errc::bad_value, 1, 18,
         "ENDPOINT takes a quoted endpoint ID, such as 'vpce-0a1b2c3d'"},
        {"endpoint_missing", "'a'@'%' ENDPOINT", errc::bad_value, 1, 17,
         "ENDPOINT takes a quoted endpoint ID, such as 'vpce-0a1b2c3d'"},
        {"endpoint_empty", "'a'@'%' ENDPOINT ''", errc::bad_value, 1, 18,
         "ENDPOINT takes a quoted endpoint ID of 1 to 64 printable ASCII characters, such as "
         "'vpce-0a1b2c3d'"},
        {"endpoint_with_space", "'a'@'%' ENDPOINT 'vpce 1'", errc::bad_value, 1, 18,
         "ENDPOINT takes a quoted endpoint ID of 1 to 64 printable ASCII characters, such as "
         "'vpce-0a1b2c3d'"},
        {"endpoint_not_ascii", "'a'@'%' ENDPOINT 'vpc\xc3\xa9'", errc::bad_value, 1, 18,
         "ENDPOINT takes a quoted endpoint ID of 1 to 64 printable ASCII characters, such as "
         "'vpce-0a1b2c3d'"},
        {"endpoint_65_characters",
         "'a'@'%' ENDPOINT 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
         errc::bad_value, 1, 18,
         "ENDPOINT takes a quoted endpoint ID of 1 to 64 printable ASCII characters, such as "
         "'vpce-0a1b2c3d'"},
        {"endpoint_unclosed", "'a'@'%' ENDPOINT 'vpce", errc::bad_value, 1, 18,
         "ENDPOINT is missing its closing '"},
        {"endpoint_twice", "'a'@'%' ENDPOINT 'x' ENDPOINT 'y'", errc::duplicate_option, 1, 22,
         "option ENDPOINT given twice"},
        {"duplicate_account_same_endpoint",
         "'a'@'10.%' ENDPOINT 'v1'\n'a'@'10.%' ENDPOINT 'v2'\n'a'@'10.%' endpoint \"v1\"\n",
         errc::duplicate_account, 3, 1, "'a'@'10.%' ENDPOINT 'v1' is already defined on line 1"},
        {"user_too_long",
         "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'@'%'",
         errc::bad_user, 1, 1, "user name is longer than 128 characters"},
    };
    for (const Row& r : rows) {
        SECTION(r.name) {
            auto parsed = parse_grants(r.text);
            REQUIRE_FALSE(parsed.has_value());
            CHECK(parsed.error() == Error{make_error_code(r.code), r.message, r.line, r.column});
        }
    }
    CHECK(Error{make_error_code(errc::bad_host), "x", 3, 7}.to_string("grants.conf") ==
          "grants.conf:3:7: x");
}

TEST_CASE("trusted networks") {
    auto nets = TrustedNetworks::parse({"10.0.0.10", "10.1.0.0/16", "::1", "fd00::/8"});
    REQUIRE(nets.has_value());
    using hostgate::protocol::parse_ip;
    CHECK(nets->contains(parse_ip("10.0.0.10").value()));
    CHECK_FALSE(nets->contains(parse_ip("10.0.0.11").value()));
    CHECK(nets->contains(parse_ip("10.1.200.3").value()));
    CHECK(nets->contains(parse_ip("::ffff:10.1.200.3").value()));
    CHECK(nets->contains(parse_ip("::1").value()));
    CHECK_FALSE(nets->contains(parse_ip("127.0.0.1").value()));
    CHECK(nets->contains(parse_ip("fd12::1").value()));
    CHECK_FALSE(TrustedNetworks{}.contains(parse_ip("127.0.0.1").value()));

    struct Bad {
        const char* entry;
        const char* message;
    };
    const Bad bad[] = {
        {"10.1.2.3/16",
         "trusted network '10.1.2.3/16': address bits set past the prefix; did you mean "
         "10.1.0.0/16?"},
        {"10.0.0.0/33", "trusted network '10.0.0.0/33': prefix length out of range"},
        {"haproxy.internal", "trusted network 'haproxy.internal': not an IP address"},
        {"*", "trusted network '*': not an IP address"},
        {"", "trusted network '': not an IP address"},
    };
    for (const auto& b : bad) {
        INFO(b.entry);
        auto parsed = TrustedNetworks::parse({"127.0.0.1", b.entry});
        REQUIRE_FALSE(parsed.has_value());
        CHECK(parsed.error().message == b.message);
        CHECK(parsed.error().column == 2);
    }
}

TEST_CASE("format_rule writes lines that read back as the same rules") {
    const char* text =
        "'a'@'%'\n"
        "'it''s'@'10.%'  REQUIRE SSL\n"
        "'back\\\\slash'@'192.168.1.\\_'  MAX_USER_CONNECTIONS 7 BACKEND g1\n"
        "''@''\n"
        "\"dq\"@`bt`\n"
        "'t'@'10.0.0.5'  ENDPOINT 'vpce-it''s'\n";
    auto rules = parse_grants(text);
    REQUIRE(rules.has_value());
    std::string written;
    for (const Rule& r : *rules) written += format_rule(r) + "\n";
    CHECK(written ==
          "'a'@'%'\n"
          "'it''s'@'10.%'  REQUIRE SSL\n"
          "'back\\\\slash'@'192.168.1.\\\\_'  MAX_USER_CONNECTIONS 7 BACKEND g1\n"
          "''@''\n"
          "'dq'@'bt'\n"
          "'t'@'10.0.0.5'  ENDPOINT 'vpce-it''s'\n");
    auto again = parse_grants(written);
    REQUIRE(again.has_value());
    CHECK(*again == *rules);
}
