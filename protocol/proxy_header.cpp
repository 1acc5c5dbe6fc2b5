// What v1 and v2 share: the error domain, the header helpers, signature detection.
#include <algorithm>

#include "protocol/proxy_protocol.h"

namespace hostgate::protocol::proxy {
namespace {

class Category : public std::error_category {
  public:
    const char* name() const noexcept override { return "proxy_protocol"; }
    std::string message(int value) const override {
        switch (static_cast<errc>(value)) {
            case errc::bad_signature:
                return "not a PROXY protocol header";
            case errc::v1_too_long:
                return "PROXY v1 line longer than 107 bytes";
            case errc::v1_bad_line_end:
                return "PROXY v1 line not ended by CRLF";
            case errc::v1_bad_protocol:
                return "PROXY v1 protocol is not TCP4, TCP6 or UNKNOWN";
            case errc::v1_bad_syntax:
                return "PROXY v1 line is malformed";
            case errc::v1_bad_address:
                return "PROXY v1 address is malformed";
            case errc::v1_family_mismatch:
                return "PROXY v1 address does not match its protocol";
            case errc::v1_bad_port:
                return "PROXY v1 port is malformed";
            case errc::v2_bad_version:
                return "PROXY v2 version is not 2";
            case errc::v2_bad_command:
                return "PROXY v2 command is neither LOCAL nor PROXY";
            case errc::v2_bad_family:
                return "PROXY v2 address family or protocol is unknown";
            case errc::v2_address_too_short:
                return "PROXY v2 length too short for its addresses";
            case errc::v2_too_long:
                return "PROXY v2 header longer than allowed";
            case errc::tlv_overrun:
                return "PROXY v2 TLV runs past the header";
            case errc::tlv_bad_length:
                return "PROXY v2 TLV has a length its type forbids";
            case errc::tlv_duplicate:
                return "PROXY v2 TLV appears twice";
            case errc::tlv_bad_endpoint:
                return "PROXY v2 cloud endpoint ID is not printable ASCII";
            case errc::crc_mismatch:
                return "PROXY v2 CRC32C does not match";
            case errc::untrusted_source:
                return "PROXY header from an untrusted peer";
        }
        return "unknown PROXY protocol error";
    }
};

// True when `input` and `signature` agree on their common prefix.
bool agrees(ByteSpan input, std::string_view signature) {
    const auto n = std::min(input.size(), signature.size());
    return as_chars(input.first(n)) == signature.substr(0, n);
}

}  // namespace

const std::error_category& error_category() {
    static const Category category;
    return category;
}

Header Header::tcp(Endpoint source, Endpoint destination, std::uint8_t version) {
    source.address = source.address.normalized();
    destination.address = destination.address.normalized();
    auto map_to_v6 = [](Endpoint& e) {
        if (!e.address.is_v4()) return;
        std::array<std::uint8_t, 16> raw{};
        raw[10] = raw[11] = 0xff;
        std::copy_n(e.address.raw().begin(), 4, raw.begin() + 12);
        e.address = IpAddress::v6(raw);
    };
    if (source.address.family() != destination.address.family()) {
        map_to_v6(source);
        map_to_v6(destination);
    }
    Header h;
    h.version = version;
    h.command = Command::proxy;
    h.family = source.address.is_v4() ? Family::inet : Family::inet6;
    h.transport = Transport::stream;
    h.source = source;
    h.destination = destination;
    return h;
}

Header Header::local() {
    Header h;
    h.command = Command::local;
    return h;
}

std::optional<Endpoint> Header::client() const {
    if (command != Command::proxy) return std::nullopt;
    if (family != Family::inet && family != Family::inet6) return std::nullopt;
    if (transport != Transport::stream) return std::nullopt;
    return source;
}

const Tlv* Header::find(std::uint8_t type) const {
    auto it = std::find_if(tlvs.begin(), tlvs.end(), [&](const Tlv& t) { return t.type == type; });
    return it == tlvs.end() ? nullptr : &*it;
}

Detected detect(ByteSpan input) {
    if (input.empty()) return Detected::need_more;
    if (agrees(input, kV1Signature))
        return input.size() >= kV1Signature.size() ? Detected::v1 : Detected::need_more;
    if (agrees(input, kV2Signature))
        return input.size() >= kV2Signature.size() ? Detected::v2 : Detected::need_more;
    return Detected::none;
}

std::size_t bytes_to_detect(ByteSpan input) {
    return !input.empty() && agrees(input, kV1Signature) ? kV1Signature.size()
                                                         : kV2Signature.size();
}

Parsed<Header> parse(ByteSpan input, const ParseOptions& options) {
    switch (detect(input)) {
        case Detected::v1:
            return parse_v1(input);
        case Detected::v2:
            return parse_v2(input, options);
        case Detected::none:
            return make_error_code(errc::bad_signature);
        case Detected::need_more:
            break;
    }
    // A prefix of a signature: all of it is needed (every header is longer than either).
    return NeedMore{bytes_to_detect(input)};
}

void encode(const Header& header, Bytes& out) {
    if (header.version == 1) {
        encode_v1(header, out);
    } else {
        encode_v2(header, out);
    }
}

}  // namespace hostgate::protocol::proxy
