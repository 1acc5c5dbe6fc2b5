// PROXY protocol v1/v2: golden vectors (some captured from HAProxy 2.6), truncation, one extra
// byte, round trips, and one named error per refusal.
#include <catch2/catch.hpp>

#include "protocol/crc32c.h"
#include "protocol/proxy_protocol.h"
#include "support/hex.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::proxy;
using hostgate::test::concat;
using hostgate::test::hex;
using hostgate::test::prefix;
using hostgate::test::text;
using hostgate::test::to_hex;

namespace {

Endpoint ep(const char* address, std::uint16_t port) {
    return {parse_ip(address).value(), port};
}

Header v1_tcp(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport) {
    return Header::tcp(ep(src, sport), ep(dst, dport), 1);
}

Header v1_unknown() {
    Header h;
    h.version = 1;
    return h;
}

Header v2(Command c, Family f, Transport t) {
    Header h;
    h.command = c;
    h.family = f;
    h.transport = t;
    return h;
}

Header with_tlvs(Header h, std::vector<Tlv> tlvs) {
    h.tlvs = std::move(tlvs);
    return h;
}

Tlv tlv(std::uint8_t type, Bytes value) {
    return {type, std::move(value)};
}

const Bytes kSig = hex("0d 0a 0d 0a 00 0d 0a 51 55 49 54 0a");

struct Golden {
    const char* name;
    Bytes wire;
    Header header;
    bool canonical;  // encode(header) reproduces the wire bytes
};

std::vector<Golden> golden() {
    return {
        {"haproxy_2_6_send_proxy_v1_tcp4", text("PROXY TCP4 127.0.0.7 127.0.0.1 52993 24002\r\n"),
         v1_tcp("127.0.0.7", 52993, "127.0.0.1", 24002), true},
        {"haproxy_2_6_v1_health_check", text("PROXY TCP4 127.0.0.1 127.0.0.1 47810 24102\r\n"),
         v1_tcp("127.0.0.1", 47810, "127.0.0.1", 24102), true},
        {"v1_tcp6", text("PROXY TCP6 2001:db8::1 ::1 65535 0\r\n"),
         v1_tcp("2001:db8::1", 65535, "::1", 0), true},
        {"v1_tcp6_v4_mapped_kept_as_sent", text("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n"),
         [] {
             Header h = v1_tcp("::1", 1, "::1", 2);
             h.source.address = parse_ip("::ffff:10.0.0.1").value();
             return h;
         }(),
         true},
        {"v1_unknown", text("PROXY UNKNOWN\r\n"), v1_unknown(), true},
        {"v1_unknown_addresses_ignored", text("PROXY UNKNOWN 10.0.0.1 10.0.0.2 1 2\r\n"),
         v1_unknown(), false},
        {"v1_unknown_107_bytes", text("PROXY UNKNOWN " + std::string(91, 'x') + "\r\n"),
         v1_unknown(), false},
        {"v1_tcp6_longest_addresses",
         text("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
              "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n"),
         v1_tcp("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535),
         true},
        {"haproxy_2_6_send_proxy_v2_tcp4",
         concat({kSig, hex("21"           // version 2, PROXY
                           "11"           // TCP over IPv4
                           "00 0c"        // 12 bytes follow
                           "7f 00 00 07"  // source 127.0.0.7
                           "7f 00 00 01"  // destination 127.0.0.1
                           "93 df"        // source port 37855
                           "5d c1")}),    // destination port 24001
         Header::tcp(ep("127.0.0.7", 37855), ep("127.0.0.1", 24001)), true},
        {"haproxy_2_6_v2_health_check_local",
         concat({kSig, hex("20"         // version 2, LOCAL
                           "00"         // UNSPEC
                           "00 00")}),  // nothing follows
         Header::local(), true},
        {"v2_tcp6",
         concat({kSig, hex("21"                                               // PROXY
                           "21"                                               // TCP over IPv6
                           "00 24"                                            // 36
                           "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"  // 2001:db8::1
                           "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"  // ::1
                           "c3 50"                                            // 50000
                           "0c ea")}),                                        // 3306
         Header::tcp(ep("2001:db8::1", 50000), ep("::1", 3306)), true},
        {"v2_udp4",
         concat({kSig, hex("21 12 00 0c"
                           "0a 00 00 01"
                           "0a 00 00 02"
                           "00 35"
                           "00 35")}),
         [] {
             Header h = v2(Command::proxy, Family::inet, Transport::dgram);
             h.source = ep("10.0.0.1", 53);
             h.destination = ep("10.0.0.2", 53);
             return h;
         }(),
         true},
        {"v2_unix_stream",
         [] {
             Bytes b = concat({kSig, hex("21 31 00 d8")});
             Bytes src = text("/run/a.sock"), dst = text("/run/b.sock");
             src.resize(108), dst.resize(108);
             return concat({b, src, dst});
         }(),
         [] {
             Header h = v2(Command::proxy, Family::unix_socket, Transport::stream);
             h.unix_source = "/run/a.sock";
             h.unix_destination = "/run/b.sock";
             return h;
         }(),
         true},
        {"v2_unspec_proxy_has_no_client", concat({kSig, hex("21 00 00 00")}),
         v2(Command::proxy, Family::unspec, Transport::unspec), true},
        // LOCAL: the protocol block is discarded, family included (the spec, 2.2), whatever it
        // holds: addresses, an AF_UNSPEC block of 12 bytes, bytes that are no TLVs.
        {"v2_local_with_addresses_ignored",
         concat({kSig, hex("20 11 00 0c"
                           "0a 00 00 01"
                           "0a 00 00 02"
                           "00 01"
                           "00 02")}),
         v2(Command::local, Family::unspec, Transport::unspec), false},
        {"v2_local_unspec_with_a_block_ignored",
         concat({kSig, hex("20 00 00 0c"
                           "0a 00 00 01"
                           "0a 00 00 02"
                           "00 01"
                           "00 02")}),
         v2(Command::local, Family::unspec, Transport::unspec), false},
        {"v2_local_with_bytes_that_are_no_tlvs_ignored",
         concat({kSig, hex("20 11 00 0e"
                           "0a 00 00 01"
                           "0a 00 00 02"
                           "00 01"
                           "00 02"
                           "ff ff")}),
         v2(Command::local, Family::unspec, Transport::unspec), false},
        {"v2_tcp4_crc32c_ok",
         concat({kSig, hex("21 11 00 13"      // PROXY, TCP4, 19 bytes
                           "c0 00 02 01"      // 192.0.2.1
                           "c6 33 64 01"      // 198.51.100.1
                           "d4 31"            // 54321
                           "0c ea"            // 3306
                           "03 00 04"         // PP2_TYPE_CRC32C, 4 bytes
                           "e1 81 d7 6f")}),  // CRC-32C of the header with this field zeroed
         with_tlvs(Header::tcp(ep("192.0.2.1", 54321), ep("198.51.100.1", 3306)),
                   {tlv(tlv_type::kCrc32c, hex("e1 81 d7 6f"))}),
         true},
        {"v2_tcp6_authority_and_crc32c_ok",
         concat({kSig, hex("21 21 00 33"
                           "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"
                           "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02"
                           "c3 50 0c ea"
                           "02 00 05"
                           "64 62 31 2e 78"  // PP2_TYPE_AUTHORITY "db1.x"
                           "03 00 04"
                           "82 b9 62 ac")}),  // PP2_TYPE_CRC32C
         with_tlvs(Header::tcp(ep("2001:db8::1", 50000), ep("2001:db8::2", 3306)),
                   {tlv(tlv_type::kAuthority, text("db1.x")),
                    tlv(tlv_type::kCrc32c, hex("82 b9 62 ac"))}),
         true},
        {"v2_tcp4_alpn_noop_unique_id_netns_custom",
         concat({kSig, hex("21 11 00 2b"
                           "0a 00 00 01 0a 00 00 02 00 01 00 02"
                           "01 00 02"
                           "68 32"  // ALPN "h2"
                           "04 00 03"
                           "00 00 00"  // NOOP, 3 bytes of padding
                           "05 00 04"
                           "ab cd ef 01"  // UNIQUE_ID
                           "30 00 02"
                           "6e 73"  // NETNS "ns"
                           "ea 00 05"
                           "76 70 63 65 31")}),  // AWS type, subtype 'v': no endpoint
         with_tlvs(Header::tcp(ep("10.0.0.1", 1), ep("10.0.0.2", 2)),
                   {tlv(tlv_type::kAlpn, text("h2")), tlv(tlv_type::kNoop, hex("00 00 00")),
                    tlv(tlv_type::kUniqueId, hex("ab cd ef 01")), tlv(tlv_type::kNetns, text("ns")),
                    tlv(0xEA, text("vpce1"))}),
         true},
        {"v2_tcp4_ssl_with_sub_tlvs",
         concat({kSig, hex("21 11 00 24"
                           "0a 00 00 01 0a 00 00 02 00 01 00 02"
                           "20 00 15"     // PP2_TYPE_SSL, 21 bytes
                           "07"           // client: SSL | CERT_CONN | CERT_SESS
                           "00 00 00 00"  // verify: ok
                           "21 00 07"
                           "54 4c 53 76 31 2e 33"  // SSL_VERSION "TLSv1.3"
                           "22 00 03"
                           "62 6f 62")}),  // SSL_CN "bob"
         with_tlvs(Header::tcp(ep("10.0.0.1", 1), ep("10.0.0.2", 2)),
                   {tlv(tlv_type::kSsl, hex("07 00 00 00 00 21 00 07 54 4c 53 76 31 2e 33"
                                            "22 00 03 62 6f 62"))}),
         true},
        // The cloud balancers' endpoint TLVs, as their documentation describes them.
        {"v2_aws_nlb_vpc_endpoint_id",
         concat({kSig, hex("21 11 00 25"
                           "0a 00 00 05 0a 00 00 02 c3 50 0c ea"
                           "ea 00 16"
                           "01"  // PP2_TYPE_AWS, 22 bytes, PP2_SUBTYPE_AWS_VPCE_ID
                           "76 70 63 65 2d 30 61 31 62 32 63 33 64 34 65 35 66 36 37 38 39")}),
         with_tlvs(Header::tcp(ep("10.0.0.5", 50000), ep("10.0.0.2", 3306)),
                   {tlv(tlv_type::kAws, concat({hex("01"), text("vpce-0a1b2c3d4e5f6789")}))}),
         true},
        {"v2_azure_private_endpoint_link_id",
         concat({kSig, hex("21 11 00 14"
                           "0a 00 00 05 0a 00 00 02 c3 50 0c ea"
                           "ee 00 05"
                           "01"               // PP2_TYPE_AZURE, 5 bytes, LINKID subtype
                           "12 34 56 78")}),  // 0x78563412, little-endian
         with_tlvs(Header::tcp(ep("10.0.0.5", 50000), ep("10.0.0.2", 3306)),
                   {tlv(tlv_type::kAzure, hex("01 12 34 56 78"))}),
         true},
        {"v2_gcp_psc_connection_id",
         concat({kSig, hex("21 11 00 17"
                           "0a 00 00 05 0a 00 00 02 c3 50 0c ea"
                           "e0 00 08"                     // pscConnectionId, 8 bytes
                           "00 00 00 02 54 0b e4 00")}),  // 10000000000, big-endian
         with_tlvs(Header::tcp(ep("10.0.0.5", 50000), ep("10.0.0.2", 3306)),
                   {tlv(tlv_type::kGcp, hex("00 00 00 02 54 0b e4 00"))}),
         true},
        {"v2_azure_other_subtype_names_no_endpoint",
         concat({kSig, hex("21 11 00 11"
                           "0a 00 00 05 0a 00 00 02 c3 50 0c ea"
                           "ee 00 02 02 ff")}),
         with_tlvs(Header::tcp(ep("10.0.0.5", 50000), ep("10.0.0.2", 3306)),
                   {tlv(tlv_type::kAzure, hex("02 ff"))}),
         true},
    };
}

struct Refused {
    const char* name;
    Bytes wire;
    errc expected;
};

std::vector<Refused> refused() {
    const Bytes tcp4 = hex("0a 00 00 01 0a 00 00 02 00 01 00 02");  // addresses and ports
    return {
        {"not_a_header_http", text("GET / HTTP/1.1\r\n"), errc::bad_signature},
        {"not_a_header_mysql_client_first", hex("20 00 00 01 85 a6"), errc::bad_signature},
        {"v2_signature_broken_at_byte_8", concat({hex("0d 0a 0d 0a 00 0d 0a 51 55 48")}),
         errc::bad_signature},
        {"v1_lowercase_proxy", text("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), errc::bad_signature},
        {"v1_tcp5", text("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n"), errc::v1_bad_protocol},
        {"v1_tcp4xyz", text("PROXY TCP4xyz 1.2.3.4 5.6.7.8 1 2\r\n"), errc::v1_bad_protocol},
        {"v1_lowercase_tcp4", text("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), errc::v1_bad_protocol},
        {"v1_unknownx", text("PROXY UNKNOWNX\r\n"), errc::v1_bad_protocol},
        {"v1_lf_without_cr", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), errc::v1_bad_line_end},
        {"v1_cr_without_lf", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), errc::v1_bad_line_end},
        {"v1_double_space", text("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), errc::v1_bad_syntax},
        {"v1_trailing_space", text("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), errc::v1_bad_syntax},
        {"v1_missing_port", text("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), errc::v1_bad_syntax},
        {"v1_tab_separator", text("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), errc::v1_bad_syntax},
        {"v1_leading_zero_address", text("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"),
         errc::v1_bad_address},
        {"v1_octet_256", text("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), errc::v1_bad_address},
        {"v1_hostname", text("PROXY TCP4 localhost 5.6.7.8 1 2\r\n"), errc::v1_bad_address},
        {"v1_zone_id", text("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n"), errc::v1_bad_address},
        {"v1_tcp4_with_ipv6", text("PROXY TCP4 ::1 5.6.7.8 1 2\r\n"), errc::v1_family_mismatch},
        {"v1_tcp6_with_ipv4", text("PROXY TCP6 ::1 5.6.7.8 1 2\r\n"), errc::v1_family_mismatch},
        {"v1_port_65536", text("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), errc::v1_bad_port},
        {"v1_port_leading_zero", text("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), errc::v1_bad_port},
        {"v1_port_negative", text("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), errc::v1_bad_port},
        {"v1_no_crlf_in_107_bytes", text("PROXY UNKNOWN " + std::string(93, 'x')),
         errc::v1_too_long},
        {"v1_crlf_at_108", text("PROXY UNKNOWN " + std::string(93, 'x') + "\r\n"),
         errc::v1_too_long},
        {"v2_version_1", concat({kSig, hex("11 11 00 0c"), tcp4}), errc::v2_bad_version},
        {"v2_version_3", concat({kSig, hex("31 11 00 0c"), tcp4}), errc::v2_bad_version},
        {"v2_command_2", concat({kSig, hex("22 11 00 0c"), tcp4}), errc::v2_bad_command},
        {"v2_family_4", concat({kSig, hex("21 41 00 0c"), tcp4}), errc::v2_bad_family},
        {"v2_transport_3", concat({kSig, hex("21 13 00 0c"), tcp4}), errc::v2_bad_family},
        {"v2_tcp4_length_11", concat({kSig, hex("21 11 00 0b"), prefix(tcp4, 11)}),
         errc::v2_address_too_short},
        {"v2_tcp6_length_35", concat({kSig, hex("21 21 00 23"), Bytes(35)}),
         errc::v2_address_too_short},
        {"v2_unix_length_215", concat({kSig, hex("21 31 00 d7"), Bytes(215)}),
         errc::v2_address_too_short},
        {"v2_longer_than_cap", concat({kSig, hex("21 11 0f f5")}), errc::v2_too_long},
        {"v2_tlv_overruns_header",  // haproxy reg-test c3
         concat({kSig, hex("21 11 00 14"), tcp4, hex("02 00 0a 31 32 33 34 35")}),
         errc::tlv_overrun},
        {"v2_tlv_ends_before_header",  // haproxy reg-test c4
         concat({kSig, hex("21 11 00 14"), tcp4, hex("02 00 04 31 32 33 34 00")}),
         errc::tlv_overrun},
        {"v2_tlv_header_cut", concat({kSig, hex("21 11 00 0e"), tcp4, hex("02 00")}),
         errc::tlv_overrun},
        {"v2_crc32c_mismatch",
         concat({kSig, hex("21 11 00 13"
                           "c0 00 02 01 c6 33 64 01 d4 31 0c ea"
                           "03 00 04 e1 81 d7 6e")}),
         errc::crc_mismatch},
        {"v2_crc32c_zero_value",
         concat({kSig, hex("21 11 00 13"
                           "c0 00 02 01 c6 33 64 01 d4 31 0c ea"
                           "03 00 04 00 00 00 00")}),
         errc::crc_mismatch},
        {"v2_crc32c_3_bytes", concat({kSig, hex("21 11 00 12"), tcp4, hex("03 00 03 00 00 00")}),
         errc::tlv_bad_length},
        {"v2_crc32c_twice",
         concat({kSig, hex("21 11 00 1a"), tcp4, hex("03 00 04 00 00 00 00 03 00 04 00 00 00 00")}),
         errc::tlv_duplicate},
        {"v2_unique_id_129_bytes",
         concat({kSig, hex("21 11 00 90"), tcp4, hex("05 00 81"), Bytes(129)}),
         errc::tlv_bad_length},
        {"v2_ssl_4_bytes", concat({kSig, hex("21 11 00 13"), tcp4, hex("20 00 04 01 00 00 00")}),
         errc::tlv_bad_length},
        {"v2_aws_endpoint_empty", concat({kSig, hex("21 11 00 0f"), tcp4, hex("ea 00 00")}),
         errc::tlv_bad_length},
        {"v2_aws_endpoint_subtype_only",
         concat({kSig, hex("21 11 00 10"), tcp4, hex("ea 00 01 01")}), errc::tlv_bad_length},
        {"v2_aws_endpoint_65_bytes",
         concat({kSig, hex("21 11 00 51"), tcp4, hex("ea 00 42 01"), Bytes(65, std::byte{'a'})}),
         errc::tlv_bad_length},
        {"v2_aws_endpoint_with_nul",
         concat({kSig, hex("21 11 00 14"), tcp4, hex("ea 00 05 01 76 70 00 65")}),
         errc::tlv_bad_endpoint},
        {"v2_aws_endpoint_with_space",
         concat({kSig, hex("21 11 00 14"), tcp4, hex("ea 00 05 01 76 70 20 65")}),
         errc::tlv_bad_endpoint},
        {"v2_aws_endpoint_with_utf8",
         concat({kSig, hex("21 11 00 14"), tcp4, hex("ea 00 05 01 76 c3 a9 65")}),
         errc::tlv_bad_endpoint},
        {"v2_azure_link_id_3_bytes",
         concat({kSig, hex("21 11 00 13"), tcp4, hex("ee 00 04 01 12 34 56")}),
         errc::tlv_bad_length},
        {"v2_azure_link_id_5_bytes",
         concat({kSig, hex("21 11 00 15"), tcp4, hex("ee 00 06 01 12 34 56 78 9a")}),
         errc::tlv_bad_length},
        {"v2_azure_empty", concat({kSig, hex("21 11 00 0f"), tcp4, hex("ee 00 00")}),
         errc::tlv_bad_length},
        {"v2_gcp_7_bytes", concat({kSig, hex("21 11 00 16"), tcp4, hex("e0 00 07"), Bytes(7)}),
         errc::tlv_bad_length},
        {"v2_gcp_9_bytes", concat({kSig, hex("21 11 00 18"), tcp4, hex("e0 00 09"), Bytes(9)}),
         errc::tlv_bad_length},
        {"v2_two_endpoints",  // who the client is would be in doubt
         concat(
             {kSig, hex("21 11 00 1d"), tcp4, hex("e0 00 08"), Bytes(8), hex("ea 00 03 01 76 31")}),
         errc::tlv_duplicate},
        {"v2_the_same_endpoint_twice",
         concat({kSig, hex("21 11 00 18"), tcp4, hex("ea 00 03 01 76 31 ea 00 03 01 76 31")}),
         errc::tlv_duplicate},
        {"v2_ssl_sub_tlv_overrun",
         concat({kSig, hex("21 11 00 17"), tcp4, hex("20 00 08 01 00 00 00 00 22 00 09")}),
         errc::tlv_overrun},
    };
}

}  // namespace

TEST_CASE("crc32c known answer") {
    CHECK(crc32c(hostgate::test::text("123456789")) == 0xE3069283u);
    CHECK(crc32c({}) == 0u);
}

TEST_CASE("proxy golden vectors parse, stop at their end, and round-trip") {
    for (const auto& g : golden()) {
        SECTION(g.name) {
            auto p = parse(g.wire);
            INFO(to_hex(g.wire));
            REQUIRE(complete(p) != nullptr);
            CHECK(complete(p)->consumed == g.wire.size());
            CHECK(complete(p)->value == g.header);

            Bytes extra = concat({g.wire, hex("16")});
            auto q = parse(extra);
            REQUIRE(complete(q) != nullptr);
            CHECK(complete(q)->consumed == g.wire.size());

            if (g.canonical) {
                Bytes out;
                encode(g.header, out);
                CHECK(to_hex(out) == to_hex(g.wire));
            }
        }
    }
}

TEST_CASE("proxy golden vectors cut short ask for more") {
    for (const auto& g : golden()) {
        for (std::size_t n = 0; n < g.wire.size(); ++n) {
            const Bytes cut = prefix(g.wire, n);
            auto p = parse(cut);
            INFO(g.name << " cut at " << n);
            REQUIRE(need_more(p) != nullptr);
            CHECK(need_more(p)->min_total > n);
            CHECK(need_more(p)->min_total <= g.wire.size());
        }
    }
}

TEST_CASE("an exact reader takes a header in a few reads, and a malformed line ends early") {
    // A reader that must not read past the header asks for min_total bytes each time and gets
    // at most what the peer sent.
    struct Outcome {
        std::size_t reads, bytes;
        bool complete;
    };
    auto read = [](std::string_view line) {
        const ByteSpan wire = as_bytes(line);
        Outcome o{0, 0, false};
        for (;;) {
            auto p = parse(wire.first(o.bytes));
            if (!need_more(p)) {
                o.complete = complete(p) != nullptr;
                return o;
            }
            if (o.bytes == wire.size()) return o;  // waits for more
            o.bytes = std::min(need_more(p)->min_total, wire.size());
            ++o.reads;
        }
    };
    // A v1 line is read field by field; only the port digits come one at a time. Never past it.
    for (const std::string_view line :
         {"PROXY TCP4 127.0.0.5 127.0.0.1 40112 3306\r\n",
          "PROXY TCP6 2001:db8::5 2001:db8::1 40112 3306\r\n", "PROXY TCP4 0.0.0.0 0.0.0.0 0 0\r\n",
          "PROXY TCP6 :: :: 0 0\r\n", "PROXY UNKNOWN\r\n"}) {
        INFO(line);
        std::string tailed(line);
        tailed += "\x20\x00\x00\x01";  // an SSLRequest's frame header after it
        const Outcome o = read(tailed);
        CHECK(o.complete);
        CHECK(o.bytes == line.size());
        CHECK(o.reads <= 12);
    }
    // Shorter than any valid TCP4 line: the CRLF settles it as soon as it is read.
    const Outcome bad = read("PROXY TCP4 1 2 3 4\r\n");
    CHECK_FALSE(bad.complete);
    CHECK(bad.bytes == 20);
    CHECK(error(parse(as_bytes(std::string_view("PROXY TCP4 1 2 3 4\r\n")))));
}

TEST_CASE("proxy refusals name their reason") {
    for (const auto& r : refused()) {
        SECTION(r.name) {
            INFO(to_hex(r.wire));
            auto p = parse(r.wire);
            CHECK(error(p) == make_error_code(r.expected));
        }
    }
}

TEST_CASE("proxy refusals are not hidden by later bytes") {
    // A refused header stays refused whatever follows it.
    for (const auto& r : refused()) {
        INFO(r.name);
        auto p = parse(concat({r.wire, Bytes(300, std::byte{'x'})}));
        CHECK(error(p) == make_error_code(r.expected));
    }
}

TEST_CASE("proxy header value helpers") {
    SECTION("client is the source of a TCP PROXY header only") {
        CHECK(Header::tcp(ep("10.0.0.1", 5), ep("10.0.0.2", 6)).client() == ep("10.0.0.1", 5));
        CHECK_FALSE(Header::local().client());
        CHECK_FALSE(v1_unknown().client());
        CHECK_FALSE(v2(Command::proxy, Family::unspec, Transport::unspec).client());
        CHECK_FALSE(v2(Command::proxy, Family::unix_socket, Transport::stream).client());
        Header local_inet = v2(Command::local, Family::inet, Transport::stream);
        local_inet.source = ep("10.0.0.1", 5);
        CHECK_FALSE(local_inet.client());
        Header udp = v2(Command::proxy, Family::inet, Transport::dgram);
        udp.source = ep("10.0.0.1", 53);
        CHECK_FALSE(udp.client());  // a UDP source does not describe this TCP connection
    }
    SECTION("tcp() unmaps v4-mapped ends and maps a lone v4 end next to v6") {
        auto h = Header::tcp(ep("::ffff:10.0.0.1", 5), ep("10.0.0.2", 6));
        CHECK(h.family == Family::inet);
        CHECK(h.source.address.to_string() == "10.0.0.1");
        auto mixed = Header::tcp(ep("10.0.0.1", 5), ep("::1", 6));
        CHECK(mixed.family == Family::inet6);
        CHECK(mixed.source.address.to_string() == "::ffff:10.0.0.1");
    }
    SECTION("v1 cannot carry LOCAL: it is written as UNKNOWN") {
        Bytes out;
        encode_v1(Header::local(), out);
        CHECK(hostgate::protocol::as_chars(out) == "PROXY UNKNOWN\r\n");
    }
    SECTION("an encoded CRC32C TLV carries the real checksum") {
        Header h = with_tlvs(Header::tcp(ep("192.0.2.1", 54321), ep("198.51.100.1", 3306)),
                             {tlv(tlv_type::kCrc32c, Bytes(4))});
        Bytes out;
        encode_v2(h, out);
        auto p = parse(out);
        REQUIRE(complete(p));
        CHECK(complete(p)->value.find(tlv_type::kCrc32c)->value == hex("e1 81 d7 6f"));
    }
    SECTION("an encoded ssl TLV decodes as it was") {
        const SslTlv ssl{
            ssl_client::kSsl | ssl_client::kCertConn,
            0x01020304,
            {tlv(tlv_type::kSslVersion, text("TLSv1.3")), tlv(tlv_type::kSslCn, text("app")),
             tlv(kSslClientCertSubtype, hex("30 03 02 01 00"))}};
        const Bytes value = encode_ssl_tlv(ssl);
        CHECK(to_hex(prefix(value, 5)) == to_hex(hex("03 01 02 03 04")));
        auto back = decode_ssl_tlv(value);
        REQUIRE(back);
        CHECK(*back == ssl);
    }
    SECTION("ssl TLV decodes its sub-TLVs") {
        auto ssl = decode_ssl_tlv(hex("07 00 00 00 00 22 00 03 62 6f 62"));
        REQUIRE(ssl);
        CHECK(ssl->client == 7);
        CHECK(ssl->verify == 0);
        REQUIRE(ssl->sub_tlvs.size() == 1);
        CHECK(ssl->sub_tlvs[0] == tlv(tlv_type::kSslCn, text("bob")));
    }
    SECTION("cloud endpoints read as their clouds write them") {
        using Cloud = CloudEndpoint::Cloud;
        auto endpoint = [](std::uint8_t type, Bytes value) {
            auto e = decode_cloud_endpoint(tlv(type, std::move(value)));
            REQUIRE(e);
            return *e;
        };
        CHECK(endpoint(tlv_type::kAws, concat({hex("01"), text("vpce-0a1b2c3d4e5f67890")})) ==
              CloudEndpoint{Cloud::aws, "vpce-0a1b2c3d4e5f67890"});
        CHECK(endpoint(tlv_type::kAzure, hex("01 12 34 56 78")) ==
              CloudEndpoint{Cloud::azure, "2018915346"});
        CHECK(endpoint(tlv_type::kAzure, hex("01 ff ff ff ff")) ==
              CloudEndpoint{Cloud::azure, "4294967295"});
        CHECK(endpoint(tlv_type::kGcp, hex("00 00 00 02 54 0b e4 00")) ==
              CloudEndpoint{Cloud::gcp, "10000000000"});
        CHECK(endpoint(tlv_type::kGcp, hex("ff ff ff ff ff ff ff ff")) ==
              CloudEndpoint{Cloud::gcp, "18446744073709551615"});
        CHECK(endpoint(tlv_type::kAws, concat({hex("01"), Bytes(64, std::byte{'~'})})));
        CHECK_FALSE(endpoint(tlv_type::kAws, hex("02 76 31")));    // another subtype
        CHECK_FALSE(endpoint(tlv_type::kAzure, hex("02 00")));     // another subtype
        CHECK_FALSE(endpoint(tlv_type::kAuthority, text("db1")));  // not an endpoint type
        CHECK(cloud_name(Cloud::aws) == "aws");
        CHECK(cloud_name(Cloud::azure) == "azure");
        CHECK(cloud_name(Cloud::gcp) == "gcp");

        auto p = parse(concat({kSig, hex("21 11 00 17"
                                         "0a 00 00 05 0a 00 00 02 c3 50 0c ea"
                                         "e0 00 08 00 00 00 00 00 00 30 39")}));
        REQUIRE(complete(p));
        CHECK(complete(p)->value.cloud_endpoint() == CloudEndpoint{Cloud::gcp, "12345"});
        CHECK_FALSE(Header::tcp(ep("10.0.0.1", 1), ep("10.0.0.2", 2)).cloud_endpoint());
    }
    SECTION("the cap on v2 length is the caller's") {
        const Bytes wire =
            concat({kSig, hex("21 11 00 14"), hex("0a 00 00 01 0a 00 00 02 00 01 00 02"),
                    hex("04 00 05 00 00 00 00 00")});
        CHECK(complete(parse(wire, {.max_v2_length = 36})));
        CHECK(error(parse(wire, {.max_v2_length = 35})) == make_error_code(errc::v2_too_long));
    }
}

TEST_CASE("detect tells v1, v2, not-a-header and not-yet apart") {
    CHECK(detect({}) == Detected::need_more);
    CHECK(detect(text("PROX")) == Detected::need_more);
    CHECK(detect(text("PROXY ")) == Detected::v1);
    CHECK(detect(text("PROXYX")) == Detected::none);
    CHECK(detect(hex("0d 0a 0d 0a")) == Detected::need_more);
    CHECK(detect(kSig) == Detected::v2);
    CHECK(detect(hex("16 03 01")) == Detected::none);  // a TLS ClientHello
    CHECK(bytes_to_detect(text("PROX")) == 6);
    CHECK(bytes_to_detect(hex("0d 0a 0d 0a")) == 12);
}
