// HandshakeV10, SSLRequest and HandshakeResponse41: the packets of the connection phase.
#include <algorithm>

#include "protocol/mysql_messages.h"

namespace hostgate::protocol::mysql {
namespace {

Unexpected<std::error_code> fail(errc e) {
    return Unexpected(make_error_code(e));
}

SslRequest read_fixed_prefix(ByteReader& r) {
    SslRequest p;
    p.capabilities = r.le32();
    p.max_packet_size = r.le32();
    p.character_set = r.u8();
    r.bytes(kResponseFillerLength);
    p.mariadb_capabilities = r.le32();
    return p;
}

void write_fixed_prefix(const SslRequest& p, ByteWriter& w) {
    w.le32(p.capabilities);
    w.le32(p.max_packet_size);
    w.u8(p.character_set);
    w.zeros(kResponseFillerLength);
    w.le32(p.mariadb_capabilities);
}

}  // namespace

Decoded<HandshakeV10> decode_handshake_v10(ByteSpan payload) {
    ByteReader r(payload);
    HandshakeV10 h;
    const std::uint8_t version = r.u8();  // protocol_version
    if (!r.ok()) return fail(errc::truncated);
    if (version == header::kErr) return fail(errc::unexpected_header);
    if (version != kProtocolVersion10) return fail(errc::bad_protocol_version);
    h.server_version = r.nul_string();                 // server_version
    h.connection_id = r.le32();                        // thread_id
    const auto part1 = r.bytes(kScramblePart1Length);  // auth-plugin-data-part-1
    r.u8();                                            // filler
    const std::uint32_t caps_low = r.le16();           // capability_flags_1
    h.character_set = r.u8();                          // character_set
    h.status_flags = r.le16();                         // status_flags
    const std::uint32_t caps_high = r.le16();          // capability_flags_2
    h.capabilities = caps_high << 16 | caps_low;
    const std::uint8_t data_length = r.u8();  // auth_plugin_data_len
    r.bytes(kHandshakeReservedLength);        // reserved
    h.mariadb_capabilities = r.le32();        // MariaDB: extended capabilities
    if (!r.ok()) return Unexpected(to_error(r.fault()));
    // Servers older than 4.1 (no CLIENT_SECURE_CONNECTION) send an 8-byte scramble only.
    if (!(h.capabilities & cap::kSecureConnection)) return fail(errc::unsupported_protocol);
    const bool plugin_auth = h.capabilities & cap::kPluginAuth;
    if (plugin_auth ? data_length < kScrambleLength + 1 : data_length != 0)
        return fail(errc::bad_scramble);
    // auth-plugin-data-part-2: the rest of the scramble and its NUL, 13 bytes at least.
    const auto part2 =
        r.bytes(plugin_auth ? data_length - kScramblePart1Length : kScramblePart2MinLength);
    if (!r.ok()) return Unexpected(to_error(r.fault()));
    if (part2.back() != std::byte{0}) return fail(errc::bad_scramble);
    h.auth_plugin_data.assign(part1.begin(), part1.end());
    h.auth_plugin_data.insert(h.auth_plugin_data.end(), part2.begin(), part2.end() - 1);
    if (plugin_auth) h.auth_plugin_name = r.nul_string();  // auth_plugin_name
    if (auto e = finish_error(r)) return Unexpected(e);
    return h;
}

void encode_handshake_v10(const HandshakeV10& h, Bytes& out) {
    ByteWriter w(out);
    Bytes data = h.auth_plugin_data;
    data.resize(std::max(data.size(), kScrambleLength));
    const ByteSpan scramble(data);
    w.u8(kProtocolVersion10);
    w.nul_string(h.server_version);
    w.le32(h.connection_id);
    w.bytes(scramble.first(kScramblePart1Length));
    w.u8(0);
    w.le16(static_cast<std::uint16_t>(h.capabilities));
    w.u8(h.character_set);
    w.le16(h.status_flags);
    w.le16(static_cast<std::uint16_t>(h.capabilities >> 16));
    const bool plugin_auth = h.capabilities & cap::kPluginAuth;
    w.u8(plugin_auth ? static_cast<std::uint8_t>(data.size() + 1) : 0);
    w.zeros(kHandshakeReservedLength);
    w.le32(h.mariadb_capabilities);
    w.bytes(scramble.subspan(kScramblePart1Length));  // the rest of the scramble
    w.u8(0);                                          // and its NUL
    if (plugin_auth) w.nul_string(h.auth_plugin_name);
}

bool is_ssl_request(ByteSpan payload) {
    if (payload.size() != kSslRequestLength) return false;
    ByteReader r(payload);
    return r.le32() & cap::kSsl;
}

Decoded<SslRequest> decode_ssl_request(ByteSpan payload) {
    ByteReader r(payload);
    SslRequest p = read_fixed_prefix(r);
    if (auto e = finish_error(r)) return Unexpected(e);
    if (!(p.capabilities & cap::kSsl)) return fail(errc::unexpected_header);
    return p;
}

void encode_ssl_request(const SslRequest& p, Bytes& out) {
    ByteWriter w(out);
    write_fixed_prefix(p, w);
}

Decoded<HandshakeResponse41> decode_handshake_response(ByteSpan payload) {
    ByteReader r(payload);
    const SslRequest prefix = read_fixed_prefix(r);  // capabilities .. filler
    if (!r.ok()) return Unexpected(to_error(r.fault()));
    if (!(prefix.capabilities & cap::kProtocol41)) return fail(errc::unsupported_protocol);
    HandshakeResponse41 h;
    h.capabilities = prefix.capabilities;
    h.max_packet_size = prefix.max_packet_size;
    h.character_set = prefix.character_set;
    h.mariadb_capabilities = prefix.mariadb_capabilities;
    h.username = r.nul_string();  // username
    ByteSpan auth;                // auth_response
    if (h.capabilities & cap::kPluginAuthLenencClientData) {
        auth = r.lenenc_bytes();
    } else if (h.capabilities & cap::kSecureConnection) {
        auth = r.bytes(r.u8());
    } else {
        auth = r.nul_bytes();
    }
    h.auth_response.assign(auth.begin(), auth.end());
    if (h.capabilities & cap::kConnectWithDb) h.database = r.nul_string();  // database
    if (h.capabilities & cap::kPluginAuth)
        h.auth_plugin_name = r.nul_string();    // client_plugin_name
    if (h.capabilities & cap::kConnectAttrs) {  // attributes
        const auto raw = r.lenenc_bytes();
        h.connect_attributes.assign(raw.begin(), raw.end());
    }
    if (h.capabilities & cap::kZstdCompressionAlgorithm) h.zstd_compression_level = r.u8();
    if (auto e = finish_error(r)) return Unexpected(e);
    if (!decode_connect_attributes(h.connect_attributes)) return fail(errc::bad_attributes);
    return h;
}

void encode_handshake_response(const HandshakeResponse41& h, Bytes& out) {
    ByteWriter w(out);
    write_fixed_prefix({h.capabilities, h.max_packet_size, h.character_set, h.mariadb_capabilities},
                       w);
    w.nul_string(h.username);
    if (h.capabilities & cap::kPluginAuthLenencClientData) {
        w.lenenc_bytes(h.auth_response);
    } else if (h.capabilities & cap::kSecureConnection) {
        w.u8(static_cast<std::uint8_t>(h.auth_response.size()));
        w.bytes(h.auth_response);
    } else {
        w.bytes(h.auth_response);
        w.u8(0);
    }
    if (h.capabilities & cap::kConnectWithDb) w.nul_string(h.database);
    if (h.capabilities & cap::kPluginAuth) w.nul_string(h.auth_plugin_name);
    if (h.capabilities & cap::kConnectAttrs) w.lenenc_bytes(h.connect_attributes);
    if (h.capabilities & cap::kZstdCompressionAlgorithm) w.u8(h.zstd_compression_level);
}

Decoded<std::vector<std::pair<std::string, std::string>>> decode_connect_attributes(ByteSpan raw) {
    std::vector<std::pair<std::string, std::string>> out;
    ByteReader r(raw);
    while (!r.at_end() && r.ok()) {
        std::string key = r.lenenc_string();
        std::string value = r.lenenc_string();
        if (r.ok()) out.emplace_back(std::move(key), std::move(value));
    }
    if (!r.ok()) return fail(errc::bad_attributes);
    return out;
}

void encode_connect_attributes(const std::vector<std::pair<std::string, std::string>>& attributes,
                               Bytes& out) {
    ByteWriter w(out);
    for (const auto& [key, value] : attributes) {
        w.lenenc_string(key);
        w.lenenc_string(value);
    }
}

}  // namespace hostgate::protocol::mysql
