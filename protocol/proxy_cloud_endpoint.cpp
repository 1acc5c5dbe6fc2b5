// The cloud load balancers' endpoint TLVs. Sources: AWS "Network Load Balancers: proxy protocol",
// Azure "Private Link service: TCP proxy v2", GCP "Private Service Connect: proxy protocol".
#include <algorithm>
#include <string>

#include "protocol/proxy_protocol.h"

namespace hostgate::protocol::proxy {
namespace {

using Cloud = CloudEndpoint::Cloud;

constexpr std::size_t kAzureLength = 1 + 4;  // subtype, uint32
constexpr std::size_t kGcpLength = 8;        // uint64

std::uint8_t byte_at(ByteSpan b, std::size_t i) {
    return std::to_integer<std::uint8_t>(b[i]);
}

std::error_code fail(errc e) {
    return make_error_code(e);
}

}  // namespace

bool valid_endpoint_id(std::string_view id) {
    return !id.empty() && id.size() <= kEndpointIdMaxLength &&
           std::all_of(id.begin(), id.end(), [](char c) { return c > ' ' && c < '\x7f'; });
}

std::string_view cloud_name(Cloud cloud) {
    switch (cloud) {
        case Cloud::aws:
            return "aws";
        case Cloud::azure:
            return "azure";
        case Cloud::gcp:
            return "gcp";
    }
    return "unknown";
}

Expected<std::optional<CloudEndpoint>, std::error_code> decode_cloud_endpoint(const Tlv& tlv) {
    const ByteSpan v(tlv.value);
    switch (tlv.type) {
        case tlv_type::kAws: {
            if (v.empty()) return Unexpected(fail(errc::tlv_bad_length));
            if (byte_at(v, 0) != tlv_subtype::kAwsVpceId) return std::optional<CloudEndpoint>{};
            const ByteSpan id = v.subspan(1);
            if (id.empty() || id.size() > kEndpointIdMaxLength)
                return Unexpected(fail(errc::tlv_bad_length));
            if (!valid_endpoint_id(as_chars(id))) return Unexpected(fail(errc::tlv_bad_endpoint));
            return std::optional{CloudEndpoint{Cloud::aws, std::string(as_chars(id))}};
        }
        case tlv_type::kAzure: {
            if (v.empty()) return Unexpected(fail(errc::tlv_bad_length));
            if (byte_at(v, 0) != tlv_subtype::kAzurePrivateEndpointLinkId)
                return std::optional<CloudEndpoint>{};
            if (v.size() != kAzureLength) return Unexpected(fail(errc::tlv_bad_length));
            std::uint32_t link_id = 0;
            for (std::size_t i = 4; i >= 1; --i) link_id = link_id << 8 | byte_at(v, i);
            return std::optional{CloudEndpoint{Cloud::azure, std::to_string(link_id)}};
        }
        case tlv_type::kGcp: {
            if (v.size() != kGcpLength) return Unexpected(fail(errc::tlv_bad_length));
            std::uint64_t connection_id = 0;
            for (std::size_t i = 0; i < kGcpLength; ++i)
                connection_id = connection_id << 8 | byte_at(v, i);
            return std::optional{CloudEndpoint{Cloud::gcp, std::to_string(connection_id)}};
        }
        default:
            return std::optional<CloudEndpoint>{};
    }
}

const Tlv* Header::cloud_endpoint_tlv() const {
    for (const Tlv& t : tlvs) {
        const auto endpoint = decode_cloud_endpoint(t);
        if (endpoint && *endpoint) return &t;
    }
    return nullptr;
}

std::optional<CloudEndpoint> Header::cloud_endpoint() const {
    const Tlv* t = cloud_endpoint_tlv();
    if (!t) return std::nullopt;
    auto endpoint = decode_cloud_endpoint(*t);  // it decoded once already
    return std::move(*endpoint);
}

}  // namespace hostgate::protocol::proxy
