#pragma once
// PROXY protocol v1 (text) and v2 (binary) headers: parse and encode.
// Spec: haproxy doc/proxy-protocol.txt. Parsers are incremental and strict: exact tokens, no
// leading zeros, a TLV that runs past the header is an error, CRC32C is verified when present.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "protocol/address.h"
#include "protocol/byte_io.h"
#include "protocol/expected.h"
#include "protocol/parse_result.h"

namespace hostgate::protocol::proxy {

// Every reason a header is refused.
enum class errc {
    bad_signature = 1,     // the bytes start neither "PROXY " nor the v2 signature
    v1_too_long,           // no CRLF within the 107 bytes v1 allows
    v1_bad_line_end,       // a CR not followed by LF, or a LF without CR
    v1_bad_protocol,       // the family token is not exactly TCP4, TCP6 or UNKNOWN
    v1_bad_syntax,         // wrong number of fields or separators
    v1_bad_address,        // an address that is not strict dotted-quad / RFC 4291 text
    v1_family_mismatch,    // an IPv6 address after TCP4 or an IPv4 one after TCP6
    v1_bad_port,           // not decimal 0-65535 without leading zeros
    v2_bad_version,        // the version nibble is not 2
    v2_bad_command,        // the command nibble is neither LOCAL nor PROXY
    v2_bad_family,         // unknown address family or transport protocol
    v2_address_too_short,  // the length is shorter than the family's address block
    v2_too_long,           // the header is longer than the configured cap
    tlv_overrun,           // a TLV's length runs past the end of the header
    tlv_bad_length,        // a TLV whose value length its type forbids
    tlv_duplicate,         // a second CRC32C, SSL or cloud endpoint TLV
    tlv_bad_endpoint,      // a cloud endpoint ID that is not printable ASCII
    crc_mismatch,          // the CRC32C TLV does not match the header
    untrusted_source,      // a header from a peer that is not a trusted proxy
};
const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

// Values as on the v2 wire: the command nibble, the family's high nibble, the transport's low one.
enum class Command : std::uint8_t { local = 0x0, proxy = 0x1 };
enum class Family : std::uint8_t { unspec = 0x0, inet = 0x1, inet6 = 0x2, unix_socket = 0x3 };
enum class Transport : std::uint8_t { unspec = 0x0, stream = 0x1, dgram = 0x2 };

// TLV types from the spec.
namespace tlv_type {
inline constexpr std::uint8_t kAlpn = 0x01;
inline constexpr std::uint8_t kAuthority = 0x02;
inline constexpr std::uint8_t kCrc32c = 0x03;
inline constexpr std::uint8_t kNoop = 0x04;
inline constexpr std::uint8_t kUniqueId = 0x05;
inline constexpr std::uint8_t kSsl = 0x20;
inline constexpr std::uint8_t kSslVersion = 0x21;
inline constexpr std::uint8_t kSslCn = 0x22;
inline constexpr std::uint8_t kSslCipher = 0x23;
inline constexpr std::uint8_t kSslSigAlg = 0x24;
inline constexpr std::uint8_t kSslKeyAlg = 0x25;
inline constexpr std::uint8_t kNetns = 0x30;
inline constexpr std::uint8_t kMinCustom = 0xE0;  // 0xE0-0xEF custom, 0xF0-0xF7 experimental
// Custom types the cloud load balancers use for the private endpoint a connection came through.
inline constexpr std::uint8_t kGcp = 0xE0;    // Private Service Connect connection ID
inline constexpr std::uint8_t kAws = 0xEA;    // subtypes follow
inline constexpr std::uint8_t kAzure = 0xEE;  // subtypes follow
}  // namespace tlv_type

// The first value byte of an AWS or Azure TLV.
namespace tlv_subtype {
inline constexpr std::uint8_t kAwsVpceId = 0x01;                   // the VPC endpoint ID, ASCII
inline constexpr std::uint8_t kAzurePrivateEndpointLinkId = 0x01;  // uint32, little-endian
}  // namespace tlv_subtype

inline constexpr std::size_t kV1MaxLength = 107;   // "PROXY TCP6 <39> <39> 65535 65535\r\n"
inline constexpr std::size_t kV2FixedLength = 16;  // signature, ver_cmd, family, length
inline constexpr std::size_t kV2Inet4AddressLength = 12;
inline constexpr std::size_t kV2Inet6AddressLength = 36;
inline constexpr std::size_t kV2UnixAddressLength = 216;
inline constexpr std::size_t kUniqueIdMaxLength = 128;
inline constexpr std::size_t kEndpointIdMaxLength = 64;  // AWS's IDs are 22: "vpce-" and 17 hex
inline constexpr std::string_view kV1Signature{"PROXY "};
inline constexpr std::string_view kV2Signature{"\r\n\r\n\0\r\nQUIT\n", 12};
static_assert(kV2Signature.size() == 12);
static_assert(kV2Inet4AddressLength == 2 * 4 + 2 * 2);
static_assert(kV2Inet6AddressLength == 2 * 16 + 2 * 2);
static_assert(kV2UnixAddressLength == 2 * 108);

struct Tlv {
    std::uint8_t type = 0;
    Bytes value;
    bool operator==(const Tlv&) const = default;
};

// The private endpoint of a cloud load balancer (AWS PrivateLink, Azure Private Link, GCP Private
// Service Connect) a connection came through. Tenants behind such a service can have the same
// private addresses: the endpoint tells them apart.
struct CloudEndpoint {
    enum class Cloud : std::uint8_t { aws, azure, gcp };
    Cloud cloud = Cloud::aws;
    std::string id;  // AWS: the VPC endpoint ID as sent; Azure, GCP: the number in decimal

    bool operator==(const CloudEndpoint&) const = default;
};
// "aws", "azure", "gcp".
std::string_view cloud_name(CloudEndpoint::Cloud cloud);

// What an endpoint ID may be, wherever one comes from (a TLV, a grants file): 1 to
// kEndpointIdMaxLength printable ASCII characters, no space.
bool valid_endpoint_id(std::string_view id);

// The endpoint a TLV names: nullopt for a TLV of another type or subtype; tlv_bad_length or
// tlv_bad_endpoint when it breaks its cloud's format.
//   AWS   0xEA: subtype 0x01, then the ID, printable ASCII, at most kEndpointIdMaxLength bytes
//   Azure 0xEE: subtype 0x01, then the LinkID, a uint32 little-endian (exactly 5 bytes)
//   GCP   0xE0: the PSC connection ID, a uint64 big-endian (exactly 8 bytes)
Expected<std::optional<CloudEndpoint>, std::error_code> decode_cloud_endpoint(const Tlv& tlv);

struct Header {
    std::uint8_t version = 2;  // 1 or 2
    Command command = Command::proxy;
    Family family = Family::unspec;
    Transport transport = Transport::unspec;
    Endpoint source;               // inet / inet6 only
    Endpoint destination;          // inet / inet6 only
    std::string unix_source;       // unix_socket only, without NUL padding
    std::string unix_destination;  // unix_socket only
    std::vector<Tlv> tlvs;         // v2 only, in wire order (a CRC32C TLV included)

    // A v2 PROXY header for a TCP connection. Both ends of one family (v4-mapped addresses are
    // unmapped; a v4 end next to a v6 one is mapped), so the header can always be written.
    static Header tcp(Endpoint source, Endpoint destination, std::uint8_t version = 2);
    // A v2 LOCAL header (health checks): "use the real connection's addresses".
    static Header local();

    // The client this header vouches for: the source of a PROXY header for a TCP connection over
    // inet/inet6. nullopt for LOCAL, v1 UNKNOWN, UNSPEC, UDP and unix sockets: the caller then
    // uses the TCP peer, as HAProxy does (a UDP source does not describe a TCP connection).
    std::optional<Endpoint> client() const;

    // The first TLV of that type, or nullptr.
    const Tlv* find(std::uint8_t type) const;

    // The cloud endpoint the header names, if any. parse() refuses a header with a malformed
    // endpoint TLV or with two of them, so one that parsed names at most one.
    std::optional<CloudEndpoint> cloud_endpoint() const;
    // The TLV that names it, as received (to pass on to a backend), or nullptr.
    const Tlv* cloud_endpoint_tlv() const;

    bool operator==(const Header&) const = default;
};

// The PP2_TYPE_SSL TLV's value: client flags, verify result, and its sub-TLVs.
struct SslTlv {
    std::uint8_t client = 0;   // PP2_CLIENT_SSL 0x01, CERT_CONN 0x02, CERT_SESS 0x04
    std::uint32_t verify = 0;  // 0 when the client certificate was verified
    std::vector<Tlv> sub_tlvs;

    bool operator==(const SslTlv&) const = default;
};
// Decodes the value of a PP2_TYPE_SSL TLV; tlv_bad_length or tlv_overrun when malformed.
Expected<SslTlv, std::error_code> decode_ssl_tlv(ByteSpan value);
// The value of a PP2_TYPE_SSL TLV: decode_ssl_tlv() reads it back as `ssl`.
Bytes encode_ssl_tlv(const SslTlv& ssl);

// PP2_TYPE_SSL's client bits, and the sub-TLV that carries the client certificate (DER).
namespace ssl_client {
inline constexpr std::uint8_t kSsl = 0x01;
inline constexpr std::uint8_t kCertConn = 0x02;
inline constexpr std::uint8_t kCertSess = 0x04;
}  // namespace ssl_client
inline constexpr std::uint8_t kSslClientCertSubtype = 0x28;

enum class Detected { need_more, v1, v2, none };
// Which header the input starts with. `none` as soon as a byte rules both signatures out;
// `need_more` while the input is a proper prefix of a signature.
Detected detect(ByteSpan input);
// How many bytes detect() needs to decide on `input`, a proper prefix of a signature: the length
// of the signature it starts like.
std::size_t bytes_to_detect(ByteSpan input);

struct ParseOptions {
    std::size_t max_v2_length = 4096;  // whole v2 header, fixed part included
};

// Parses the header at the start of the input, v1 or v2 by its signature.
// Complete: the header and its exact length (bytes after it belong to the next protocol).
// NeedMore: the input is a valid prefix; min_total says how many bytes to wait for.
// errc: the header is refused; nothing after it may be trusted.
Parsed<Header> parse(ByteSpan input, const ParseOptions& options = {});
Parsed<Header> parse_v1(ByteSpan input);
Parsed<Header> parse_v2(ByteSpan input, const ParseOptions& options = {});

// Appends the v1 line. Only inet/inet6 PROXY headers carry addresses; anything else is written
// as "PROXY UNKNOWN\r\n". TLVs are not representable in v1 and are left out.
void encode_v1(const Header& header, Bytes& out);
// Appends the v2 header with its TLVs in order. A CRC32C TLV, if present, gets the checksum of
// the header as written.
void encode_v2(const Header& header, Bytes& out);
// encode_v1 or encode_v2 by header.version.
void encode(const Header& header, Bytes& out);

}  // namespace hostgate::protocol::proxy

template <>
struct std::is_error_code_enum<hostgate::protocol::proxy::errc> : std::true_type {};
