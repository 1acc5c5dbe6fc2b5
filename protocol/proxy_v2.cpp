// PROXY protocol v2: 12-byte signature, version/command, family/transport, length, addresses, TLVs.
#include <algorithm>
#include <utility>

#include "protocol/crc32c.h"
#include "protocol/proxy_protocol.h"

namespace hostgate::protocol::proxy {
namespace {

std::error_code fail(errc e) {
    return make_error_code(e);
}

constexpr std::uint8_t kVersion2 = 0x20;
constexpr std::uint8_t kSslFixedLength = 5;  // client (1) + verify (4)
constexpr std::size_t kUnixPathLength = kV2UnixAddressLength / 2;

std::size_t address_length(Family f) {
    switch (f) {
        case Family::inet:
            return kV2Inet4AddressLength;
        case Family::inet6:
            return kV2Inet6AddressLength;
        case Family::unix_socket:
            return kV2UnixAddressLength;
        case Family::unspec:
            break;
    }
    return 0;
}

// Splits a TLV area into TLVs. Every byte must belong to a TLV.
Expected<std::vector<Tlv>, std::error_code> split_tlvs(ByteSpan area) {
    std::vector<Tlv> out;
    ByteReader r(area);
    while (!r.at_end()) {
        if (r.remaining() < 3) return Unexpected(fail(errc::tlv_overrun));
        Tlv t;
        t.type = r.u8();
        const std::uint16_t length = r.be16();
        if (length > r.remaining()) return Unexpected(fail(errc::tlv_overrun));
        const auto value = r.bytes(length);
        t.value.assign(value.begin(), value.end());
        out.push_back(std::move(t));
    }
    return out;
}

// Checks what the spec says of each TLV type; unknown and custom types pass as they are.
std::error_code validate_tlvs(const std::vector<Tlv>& tlvs) {
    bool seen_crc = false, seen_ssl = false, seen_endpoint = false;
    for (const Tlv& t : tlvs) {
        // The endpoint is part of who the client is: a malformed one, or a second, would leave
        // that in doubt.
        auto endpoint = decode_cloud_endpoint(t);
        if (!endpoint) return endpoint.error();
        if (*endpoint && std::exchange(seen_endpoint, true)) return fail(errc::tlv_duplicate);
        switch (t.type) {
            case tlv_type::kCrc32c:
                if (t.value.size() != 4) return fail(errc::tlv_bad_length);
                if (std::exchange(seen_crc, true)) return fail(errc::tlv_duplicate);
                break;
            case tlv_type::kUniqueId:
                if (t.value.size() > kUniqueIdMaxLength) return fail(errc::tlv_bad_length);
                break;
            case tlv_type::kSsl: {
                if (std::exchange(seen_ssl, true)) return fail(errc::tlv_duplicate);
                auto ssl = decode_ssl_tlv(t.value);
                if (!ssl) return ssl.error();
                break;
            }
            default:
                break;
        }
    }
    return {};
}

std::uint32_t load_be32(ByteSpan b) {
    std::uint32_t v = 0;
    for (std::byte x : b) v = v << 8 | std::to_integer<std::uint32_t>(x);
    return v;
}

// The CRC32C over the whole header, the CRC32C TLV's value taken as zero.
std::uint32_t header_crc(ByteSpan header, std::size_t crc_value_offset) {
    static constexpr std::byte kZeros[4]{};
    std::uint32_t crc = crc32c(header.first(crc_value_offset));
    crc = crc32c(kZeros, crc);
    return crc32c(header.subspan(crc_value_offset + 4), crc);
}

// One address of an inet (4 bytes) or inet6 (16 bytes) block.
IpAddress read_address(ByteReader& r, Family family) {
    const ByteSpan b = r.bytes(family == Family::inet ? 4 : 16);
    std::array<std::uint8_t, 16> raw{};
    std::transform(b.begin(), b.end(), raw.begin(),
                   [](std::byte x) { return std::to_integer<std::uint8_t>(x); });
    return family == Family::inet ? IpAddress::v4({raw[0], raw[1], raw[2], raw[3]})
                                  : IpAddress::v6(raw);
}

std::string unix_path(ByteSpan raw) {
    const auto text = as_chars(raw);
    return std::string(text.substr(0, text.find('\0')));
}

}  // namespace

Expected<SslTlv, std::error_code> decode_ssl_tlv(ByteSpan value) {
    if (value.size() < kSslFixedLength) return Unexpected(fail(errc::tlv_bad_length));
    ByteReader r(value);
    SslTlv ssl;
    ssl.client = r.u8();
    ssl.verify = load_be32(r.bytes(4));
    auto subs = split_tlvs(r.rest());
    if (!subs) return Unexpected(subs.error());
    ssl.sub_tlvs = std::move(*subs);
    return ssl;
}

Bytes encode_ssl_tlv(const SslTlv& ssl) {
    Bytes out;
    ByteWriter w(out);
    w.u8(ssl.client);
    w.be16(static_cast<std::uint16_t>(ssl.verify >> 16));
    w.be16(static_cast<std::uint16_t>(ssl.verify));
    for (const Tlv& t : ssl.sub_tlvs) {
        w.u8(t.type);
        w.be16(static_cast<std::uint16_t>(t.value.size()));
        w.bytes(t.value);
    }
    return out;
}

Parsed<Header> parse_v2(ByteSpan input, const ParseOptions& options) {
    if (input.size() < kV2FixedLength) {
        if (!std::equal(input.begin(), input.begin() + std::min(input.size(), kV2Signature.size()),
                        as_bytes(kV2Signature).begin()))
            return fail(errc::bad_signature);
        return NeedMore{kV2FixedLength};
    }
    ByteReader r(input);
    if (as_chars(r.bytes(kV2Signature.size())) != kV2Signature) return fail(errc::bad_signature);
    const std::uint8_t version_command = r.u8();
    const std::uint8_t family_transport = r.u8();
    const std::uint16_t length = r.be16();

    if ((version_command & 0xF0) != kVersion2) return fail(errc::v2_bad_version);
    Header h;
    h.version = 2;
    const unsigned command = version_command & 0x0F;
    const unsigned family = family_transport >> 4, transport = family_transport & 0x0F;
    if (command > static_cast<unsigned>(Command::proxy)) return fail(errc::v2_bad_command);
    if (family > static_cast<unsigned>(Family::unix_socket) ||
        transport > static_cast<unsigned>(Transport::dgram))
        return fail(errc::v2_bad_family);
    h.command = static_cast<Command>(command);
    h.family = static_cast<Family>(family);
    h.transport = static_cast<Transport>(transport);
    const std::size_t total = kV2FixedLength + length;
    if (total > options.max_v2_length) return fail(errc::v2_too_long);
    if (h.command == Command::local) {
        // The spec (2.2): the receiver uses the real connection endpoints and discards the
        // protocol block, family included, whatever it holds.
        if (input.size() < total) return NeedMore{total};
        h.family = Family::unspec;
        h.transport = Transport::unspec;
        return Complete<Header>{std::move(h), total};
    }
    const std::size_t addresses = address_length(h.family);
    if (length < addresses) return fail(errc::v2_address_too_short);
    if (input.size() < total) return NeedMore{total};

    switch (h.family) {
        case Family::inet:
        case Family::inet6:
            h.source.address = read_address(r, h.family);
            h.destination.address = read_address(r, h.family);
            break;
        case Family::unix_socket:
            h.unix_source = unix_path(r.bytes(kUnixPathLength));
            h.unix_destination = unix_path(r.bytes(kUnixPathLength));
            break;
        case Family::unspec:
            break;
    }
    if (h.family == Family::inet || h.family == Family::inet6) {
        h.source.port = r.be16();
        h.destination.port = r.be16();
    }

    auto tlvs = split_tlvs(input.subspan(kV2FixedLength + addresses, length - addresses));
    if (!tlvs) return tlvs.error();
    if (auto e = validate_tlvs(*tlvs)) return e;
    h.tlvs = std::move(*tlvs);

    // The CRC32C is checked over the bytes as received.
    std::size_t tlv_at = kV2FixedLength + addresses;
    for (const Tlv& t : h.tlvs) {
        if (t.type == tlv_type::kCrc32c) {
            const std::size_t value_at = tlv_at + 3;
            const auto wanted = load_be32(input.subspan(value_at, 4));
            if (header_crc(input.first(total), value_at) != wanted) return fail(errc::crc_mismatch);
        }
        tlv_at += 3 + t.value.size();
    }
    return Complete<Header>{std::move(h), total};
}

void encode_v2(const Header& header, Bytes& out) {
    const std::size_t start = out.size();
    ByteWriter w(out);
    w.string(kV2Signature);
    w.u8(kVersion2 | static_cast<std::uint8_t>(header.command));
    w.u8(static_cast<std::uint8_t>(static_cast<unsigned>(header.family) << 4 |
                                   static_cast<unsigned>(header.transport)));
    const std::size_t length_at = out.size();
    w.be16(0);  // patched below

    switch (header.family) {
        case Family::inet:
        case Family::inet6: {
            const std::size_t n = header.family == Family::inet ? 4 : 16;
            for (const Endpoint* e : {&header.source, &header.destination})
                for (std::size_t i = 0; i < n; ++i) w.u8(e->address.raw()[i]);
            w.be16(header.source.port);
            w.be16(header.destination.port);
            break;
        }
        case Family::unix_socket:
            for (const std::string* path : {&header.unix_source, &header.unix_destination}) {
                const auto used = std::min(path->size(), kUnixPathLength);
                w.string(std::string_view(*path).substr(0, used));
                w.zeros(kUnixPathLength - used);
            }
            break;
        case Family::unspec:
            break;
    }

    std::size_t crc_value_at = 0;
    for (const Tlv& t : header.tlvs) {
        w.u8(t.type);
        w.be16(static_cast<std::uint16_t>(t.value.size()));
        if (t.type == tlv_type::kCrc32c && t.value.size() == 4 && crc_value_at == 0)
            crc_value_at = out.size() - start;
        w.bytes(t.value);
    }
    const std::size_t length = out.size() - start - kV2FixedLength;
    out[length_at] = std::byte{static_cast<std::uint8_t>(length >> 8)};
    out[length_at + 1] = std::byte{static_cast<std::uint8_t>(length)};

    if (crc_value_at != 0) {
        const ByteSpan written(out.data() + start, out.size() - start);
        const std::uint32_t crc = header_crc(written, crc_value_at);
        for (int i = 0; i < 4; ++i)
            out[start + crc_value_at + i] =
                std::byte{static_cast<std::uint8_t>(crc >> (24 - 8 * i))};
    }
}

}  // namespace hostgate::protocol::proxy
