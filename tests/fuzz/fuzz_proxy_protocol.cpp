// libFuzzer target: the PROXY v1/v2 parser, encode -> parse round trips of what it accepts, and
// the cloud endpoint and SSL TLV decoders on every TLV of an accepted header.
#include <cstdlib>

#include "protocol/proxy_protocol.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::proxy;

namespace {

// CRC32C values are recomputed on encode, and unix paths lose what followed their NUL, so the
// round trip compares headers with CRC values blanked.
Header without_crc_values(Header h) {
    for (Tlv& t : h.tlvs)
        if (t.type == tlv_type::kCrc32c) t.value.assign(4, std::byte{0});
    return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan input(reinterpret_cast<const std::byte*>(data), size);
    const auto parsed = parse(input, {.max_v2_length = 1024});
    if (const auto* n = need_more(parsed)) {
        if (n->min_total <= size) std::abort();  // asking for bytes it already has
        return 0;
    }
    const auto* c = complete(parsed);
    if (!c) return 0;
    if (c->consumed == 0 || c->consumed > size) std::abort();

    // parse() accepts a header only when its endpoint TLVs decode and name one endpoint at most.
    int endpoints = 0;
    for (const Tlv& t : c->value.tlvs) {
        const auto endpoint = decode_cloud_endpoint(t);
        if (!endpoint) std::abort();
        if (*endpoint) {
            ++endpoints;
            if ((*endpoint)->id.empty() || (*endpoint)->id.size() > kEndpointIdMaxLength)
                std::abort();
        }
        if (t.type == tlv_type::kSsl) {
            const auto ssl = decode_ssl_tlv(t.value);
            if (!ssl || encode_ssl_tlv(*ssl) != t.value) std::abort();  // a round trip
        }
    }
    if (endpoints > 1 || (endpoints == 1) != c->value.cloud_endpoint().has_value()) std::abort();

    Bytes encoded;
    encode(c->value, encoded);
    const auto again = parse(encoded, {.max_v2_length = 1 << 17});
    const auto* c2 = complete(again);
    if (!c2 || c2->consumed != encoded.size()) std::abort();
    if (without_crc_values(c2->value) != without_crc_values(c->value)) std::abort();
    return 0;
}
