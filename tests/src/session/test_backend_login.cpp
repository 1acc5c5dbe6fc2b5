#include <catch2/catch.hpp>

#include "src/session/backend_login.h"

namespace mysql = hostgate::protocol::mysql;
namespace cap = hostgate::protocol::mysql::cap;
namespace mariadb_cap = hostgate::protocol::mysql::mariadb_cap;
using hostgate::Offer;

namespace {

// Without CLIENT_MYSQL (bit 0, CLIENT_LONG_PASSWORD of old): MariaDB servers and clients clear it.
constexpr std::uint32_t kClientBase = cap::kProtocol41 | cap::kSecureConnection |
                                      cap::kTransactions | cap::kMultiResults | cap::kConnectWithDb;

// A MariaDB 10.11 group as hostgate greets for it: MariaDB (no CLIENT_MYSQL), with
// extended type info.
Offer mariadb_offer() {
    Offer offer;
    offer.backends.capabilities = kClientBase | cap::kMultiStatements | cap::kPluginAuth |
                                  cap::kConnectAttrs | cap::kDeprecateEof | cap::kSsl |
                                  cap::kCompress;
    offer.backends.mariadb_capabilities = mariadb_cap::kExtendedTypeInfo | mariadb_cap::kProgress;
    offer.capabilities = (offer.backends.capabilities & ~hostgate::kWithheldCapabilities) |
                         cap::kPluginAuth | cap::kSsl;
    return offer;
}

mysql::HandshakeResponse41 login(std::uint32_t capabilities, std::size_t auth_bytes) {
    mysql::HandshakeResponse41 l;
    l.capabilities = capabilities;
    l.max_packet_size = 16 << 20;
    l.character_set = 45;
    l.username = "app";
    l.database = "shop";
    l.auth_response.assign(auth_bytes, std::byte{0x5a});
    if (capabilities & cap::kPluginAuth) l.auth_plugin_name = "mysql_native_password";
    return l;
}

// Clients as they log in: Connector/C sets CLIENT_PLUGIN_AUTH; Node.js mysqljs never does;
// HAProxy's mysql-check sends no auth data at all.
const auto connector_c = login(kClientBase | cap::kPluginAuth | cap::kConnectAttrs, 20);
const auto mysqljs = login(kClientBase | cap::kMultiStatements, 20);
const auto mysql_check = login(cap::kProtocol41 | cap::kSecureConnection, 0);

mysql::HandshakeV10 greeting_from(const Offer& offer) {
    mysql::HandshakeV10 g;
    g.capabilities = offer.backends.capabilities;
    g.mariadb_capabilities = offer.backends.mariadb_capabilities;
    return g;
}

hostgate::protocol::Bytes auth_switch(const std::string& plugin) {
    hostgate::protocol::Bytes out;
    mysql::encode_auth_switch_request({plugin, hostgate::protocol::Bytes(21, std::byte{'x'})}, out);
    return out;
}

}  // namespace

TEST_CASE("the switch is forced for every login with auth data or CLIENT_PLUGIN_AUTH") {
    CHECK(hostgate::forced_switch(connector_c));
    CHECK(hostgate::forced_switch(mysqljs));
    CHECK(hostgate::forced_switch(login(kClientBase | cap::kPluginAuth, 0)));
    CHECK_FALSE(hostgate::forced_switch(mysql_check));
}

TEST_CASE("the login sent to the backend carries no auth data and the forced-switch plugin") {
    const Offer offer = mariadb_offer();
    for (const auto& client : {connector_c, mysqljs}) {
        const auto forward = hostgate::backend_login(client, offer, false);
        CHECK(forward.auth_response.empty());
        CHECK(forward.auth_plugin_name == hostgate::kForcedSwitchPlugin);
        // CLIENT_PLUGIN_AUTH even for mysqljs: no server sends a switch without it.
        CHECK((forward.capabilities & cap::kPluginAuth));
        CHECK(forward.username == "app");
        CHECK(forward.database == "shop");
        CHECK(forward.character_set == 45);
        CHECK(forward.max_packet_size == 16u << 20);
    }
    // What the client took stays; what it did not take stays off.
    const auto forward = hostgate::backend_login(mysqljs, offer, false);
    CHECK((forward.capabilities & cap::kMultiStatements));
    CHECK((forward.capabilities & cap::kConnectAttrs) == 0);
}

TEST_CASE("a login without auth data nor CLIENT_PLUGIN_AUTH reaches the backend as it stands") {
    const auto forward = hostgate::backend_login(mysql_check, mariadb_offer(), false);
    CHECK((forward.capabilities & cap::kPluginAuth) == 0);
    CHECK(forward.auth_plugin_name.empty());
    CHECK(forward.auth_response.empty());
}

TEST_CASE("TLS and compression are per leg") {
    const Offer offer = mariadb_offer();
    auto client = connector_c;
    client.capabilities |= cap::kSsl | cap::kCompress;
    CHECK((hostgate::backend_login(client, offer, false).capabilities &
           (cap::kSsl | cap::kCompress)) == 0);
    CHECK((hostgate::backend_login(client, offer, true).capabilities & cap::kSsl));
    CHECK((hostgate::backend_capabilities(client, offer, true) & cap::kCompress) == 0);
}

TEST_CASE("MariaDB extended capabilities go on only when both sides speak MariaDB") {
    const Offer offer = mariadb_offer();
    auto client = connector_c;
    client.mariadb_capabilities = mariadb_cap::kExtendedTypeInfo | mariadb_cap::kCacheMetadata;
    CHECK(hostgate::backend_login(client, offer, false).mariadb_capabilities ==
          mariadb_cap::kExtendedTypeInfo);
    client.capabilities |= cap::kMysql;  // a MySQL client: those bytes are filler to it
    CHECK(hostgate::backend_login(client, offer, false).mariadb_capabilities == 0);
}

TEST_CASE("a backend's greeting must keep what the client took") {
    const Offer offer = mariadb_offer();
    auto client = connector_c;
    client.capabilities |= cap::kDeprecateEof;
    client.mariadb_capabilities = mariadb_cap::kExtendedTypeInfo;

    CHECK_FALSE(hostgate::greeting_mismatch(client, offer, greeting_from(offer)));

    auto lost_eof = greeting_from(offer);
    lost_eof.capabilities &= ~cap::kDeprecateEof;
    const auto eof = hostgate::greeting_mismatch(client, offer, lost_eof);
    REQUIRE(eof);
    CHECK(*eof == "lacks capabilities 0x1000000 (MariaDB 0x0) that clients were offered");
    // A client that did not take it does not care.
    CHECK_FALSE(hostgate::greeting_mismatch(connector_c, offer, lost_eof));

    auto lost_types = greeting_from(offer);
    lost_types.mariadb_capabilities = 0;
    const auto types = hostgate::greeting_mismatch(client, offer, lost_types);
    REQUIRE(types);
    CHECK(*types == "lacks capabilities 0x0 (MariaDB 0x8) that clients were offered");

    auto mysql_server = greeting_from(offer);
    mysql_server.capabilities |= cap::kMysql;
    const auto dialect = hostgate::greeting_mismatch(connector_c, offer, mysql_server);
    REQUIRE(dialect);
    CHECK(*dialect ==
          "lacks capabilities 0x0 (MariaDB 0x0, or their dialect) that clients were "
          "offered");
}

TEST_CASE("what of the backend's authentication reaches a client") {
    const auto native = auth_switch("mysql_native_password");
    const auto ed25519 = auth_switch("client_ed25519");
    const hostgate::protocol::Bytes ok{std::byte{0x00}, std::byte{0x00}, std::byte{0x00},
                                       std::byte{0x02}, std::byte{0x00}, std::byte{0x00},
                                       std::byte{0x00}};
    // A client with CLIENT_PLUGIN_AUTH follows any plugin.
    CHECK(hostgate::relayable_to_client(connector_c, native));
    CHECK(hostgate::relayable_to_client(connector_c, ed25519));
    // mysqljs answers only a switch to mysql_native_password.
    CHECK(hostgate::relayable_to_client(mysqljs, native));
    CHECK_FALSE(hostgate::relayable_to_client(mysqljs, ed25519));
    CHECK(hostgate::relayable_to_client(mysqljs, ok));
    CHECK(hostgate::relayable_to_client(mysqljs, hostgate::protocol::Bytes{}));
    // A switch too short to name a plugin is no switch to mysql_native_password.
    CHECK_FALSE(hostgate::relayable_to_client(mysqljs, hostgate::protocol::Bytes{std::byte{0xfe}}));
}

TEST_CASE("the 1251 a client that cannot follow the plugin gets is the backend's own") {
    mysql::HandshakeV10 mariadb;
    const auto e = hostgate::unsupported_plugin_error(mariadb);
    CHECK(e.error_code == 1251);
    CHECK(e.sql_state == "08004");
    CHECK(e.message ==
          "Client does not support authentication protocol requested by server; "
          "consider upgrading MariaDB client");
    mysql::HandshakeV10 percona;
    percona.capabilities = cap::kMysql;
    CHECK(hostgate::unsupported_plugin_error(percona).message ==
          "Client does not support authentication protocol requested by server; consider "
          "upgrading MySQL client");
}

TEST_CASE("a backend's refusal of hostgate's PROXY header is told from other errors") {
    using hostgate::refuses_proxy_header;
    // MariaDB 10.11's answers, measured: a header from a peer outside proxy_protocol_networks,
    // and one it cannot parse.
    CHECK(refuses_proxy_header({1130, "", "Proxy header is not accepted from 127.0.0.1"}));
    CHECK(refuses_proxy_header({1105, "HY000", "Failed to parse proxy header"}));
    // The same numbers for other reasons are not.
    CHECK_FALSE(refuses_proxy_header(
        {1130, "HY000", "Host '10.0.0.1' is not allowed to connect to this MariaDB server"}));
    CHECK_FALSE(refuses_proxy_header({1105, "HY000", "Unknown error"}));
    CHECK_FALSE(refuses_proxy_header({1045, "28000", "Proxy header is not accepted from x"}));
}

TEST_CASE("a backend that asks for the password in clear is told apart") {
    using hostgate::asks_for_cleartext_password;
    using hostgate::protocol::Bytes;
    auto bytes = [](std::initializer_list<std::uint8_t> b) {
        Bytes out;
        for (auto x : b) out.push_back(std::byte{x});
        return out;
    };
    auto raw = [](std::string_view text) {
        return Bytes(reinterpret_cast<const std::byte*>(text.data()),
                     reinterpret_cast<const std::byte*>(text.data()) + text.size());
    };
    // MySQL 8.0's caching_sha2_password, as its documentation of the exchange shows it: the
    // switch with a 20-byte nonce, then 0x01 0x03 (fast_auth_success) or 0x01 0x04
    // (perform_full_authentication, after which a client on TLS sends its password in clear).
    using namespace std::string_view_literals;
    const Bytes sha2_switch =
        raw("\xfe"
            "caching_sha2_password\0"
            "0123456789abcdefghij\0"sv);
    std::string plugin = "hostgate_forced_switch";
    CHECK_FALSE(asks_for_cleartext_password(sha2_switch, plugin));
    CHECK(plugin == "caching_sha2_password");
    CHECK_FALSE(asks_for_cleartext_password(bytes({0x01, 0x03}), plugin));  // fast auth
    CHECK(asks_for_cleartext_password(bytes({0x01, 0x04}), plugin));        // full auth
    // The same bytes mean nothing of the kind under another plugin (an RSA key's first bytes).
    std::string ed = "client_ed25519";
    CHECK_FALSE(asks_for_cleartext_password(bytes({0x01, 0x04}), ed));

    for (const char* name : {"mysql_clear_password", "dialog", "sha256_password"}) {
        INFO(name);
        std::string p = "mysql_native_password";
        CHECK(asks_for_cleartext_password(auth_switch(name), p));
        CHECK(p == name);
    }
    // MariaDB's auth_pam v2: a switch to dialog whose data is the first question.
    std::string p;
    CHECK(asks_for_cleartext_password(raw("\xfe"
                                          "dialog\0\x04Password: "sv),
                                      p));
    for (const char* name : {"mysql_native_password", "client_ed25519", "caching_sha2_password"}) {
        std::string q;
        CHECK_FALSE(asks_for_cleartext_password(auth_switch(name), q));
    }
    std::string none;
    CHECK_FALSE(asks_for_cleartext_password({}, none));
    CHECK_FALSE(asks_for_cleartext_password(bytes({0xfe}), none));  // too short to name a plugin
}
