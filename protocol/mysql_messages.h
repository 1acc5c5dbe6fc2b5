#pragma once
// The MySQL/MariaDB packets hostgate reads or writes during connection setup, as plain values.
//
// Each decode_* takes one whole logical packet's payload (see mysql_frame.h) and returns the
// value, or an errc: truncated when a field runs past the end, trailing_bytes when bytes are left
// after the last field, unexpected_header when the first byte is not the packet's. Each encode_*
// appends the payload (no frame header) to the caller's buffer; decode(encode(x)) == x.

#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "protocol/byte_io.h"
#include "protocol/expected.h"
#include "protocol/mysql_constants.h"
#include "protocol/mysql_error.h"

namespace hostgate::protocol::mysql {

template <class T>
using Decoded = Expected<T, std::error_code>;

// The server's greeting (Protocol::HandshakeV10).
struct HandshakeV10 {
    std::string server_version;  // MariaDB: "5.5.5-10.11.6-MariaDB-..."
    std::uint32_t connection_id = 0;
    Bytes auth_plugin_data;  // the scramble without its trailing NUL: 20 bytes or more
    std::uint32_t capabilities = 0;
    std::uint8_t character_set = 0;
    std::uint16_t status_flags = 0;
    std::uint32_t mariadb_capabilities = 0;  // the last 4 reserved bytes; meaningful when
                                             // CLIENT_MYSQL is clear in capabilities
    std::string auth_plugin_name;            // present with CLIENT_PLUGIN_AUTH

    bool operator==(const HandshakeV10&) const = default;
};
// Strict about the scramble, as every MySQL and MariaDB server since 4.1 writes it: at least 20
// bytes and a NUL (auth_plugin_data_len 0 without CLIENT_PLUGIN_AUTH), bad_scramble otherwise;
// unsupported_protocol without CLIENT_SECURE_CONNECTION.
Decoded<HandshakeV10> decode_handshake_v10(ByteSpan payload);
// Always writes CLIENT_SECURE_CONNECTION's layout; a scramble shorter than 20 bytes is padded
// with zeros.
void encode_handshake_v10(const HandshakeV10& h, Bytes& out);

// The fixed 32-byte prefix a client sends first; alone it is an SSLRequest.
struct SslRequest {
    std::uint32_t capabilities = 0;
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    std::uint32_t mariadb_capabilities = 0;  // the last 4 filler bytes (MariaDB clients)

    bool operator==(const SslRequest&) const = default;
};
Decoded<SslRequest> decode_ssl_request(ByteSpan payload);
void encode_ssl_request(const SslRequest& r, Bytes& out);
// True when the client's first packet is an SSLRequest rather than a HandshakeResponse41.
bool is_ssl_request(ByteSpan payload);

// The client's login (Protocol::HandshakeResponse41).
struct HandshakeResponse41 {
    std::uint32_t capabilities = 0;
    std::uint32_t max_packet_size = 0;
    std::uint8_t character_set = 0;
    std::uint32_t mariadb_capabilities = 0;
    std::string username;
    Bytes auth_response;
    std::string database;          // with CLIENT_CONNECT_WITH_DB
    std::string auth_plugin_name;  // with CLIENT_PLUGIN_AUTH
    Bytes connect_attributes;      // with CLIENT_CONNECT_ATTRS: the key/value pairs as sent
    std::uint8_t zstd_compression_level = 0;  // with CLIENT_ZSTD_COMPRESSION_ALGORITHM

    bool operator==(const HandshakeResponse41&) const = default;
};
// unsupported_protocol for a client without CLIENT_PROTOCOL_41.
Decoded<HandshakeResponse41> decode_handshake_response(ByteSpan payload);
void encode_handshake_response(const HandshakeResponse41& r, Bytes& out);

// Connection attributes as key/value pairs; bad_attributes when they do not split into pairs.
Decoded<std::vector<std::pair<std::string, std::string>>> decode_connect_attributes(ByteSpan raw);
void encode_connect_attributes(const std::vector<std::pair<std::string, std::string>>& attributes,
                               Bytes& out);

// 0xFE: switch to another authentication plugin, with its data (often scramble + NUL).
struct AuthSwitchRequest {
    std::string plugin_name;
    Bytes plugin_data;  // everything after the name's NUL, as sent

    bool operator==(const AuthSwitchRequest&) const = default;
};
Decoded<AuthSwitchRequest> decode_auth_switch_request(ByteSpan payload);
void encode_auth_switch_request(const AuthSwitchRequest& r, Bytes& out);

// 0x01: more data for the authentication plugin.
struct AuthMoreData {
    Bytes data;
    bool operator==(const AuthMoreData&) const = default;
};
Decoded<AuthMoreData> decode_auth_more_data(ByteSpan payload);
void encode_auth_more_data(const AuthMoreData& m, Bytes& out);

// What a server's packet in an authentication exchange (a login or COM_CHANGE_USER) is, from its
// first bytes.
enum class AuthReply : std::uint8_t {
    ok,                 // 0x00: authenticated
    error,              // 0xFF: refused (an empty packet, which no server sends, counts as one)
    auth_switch,        // 0xFE: use the plugin it names (AuthSwitchRequest)
    fast_auth_success,  // 0x01 0x03: caching_sha2_password's cached hash matched; the OK follows
                        // with no reply from the client
    more_data,          // 0x01: data for the client's plugin, which answers it
    plugin_data,        // anything else: a plugin's own packet (MariaDB's dialog prompts are sent
                        // as they are), which the client answers
};
AuthReply classify_auth_reply(ByteSpan payload);

// OK_Packet. Its layout depends on the capabilities both ends agreed on. The info string is
// length-encoded, as servers write it (the protocol documentation's string<EOF> is not what
// MySQL or MariaDB send, nor what Connector/C reads).
struct OkPacket {
    std::uint8_t header = header::kOk;  // 0xFE when it stands for EOF (CLIENT_DEPRECATE_EOF)
    std::uint64_t affected_rows = 0;
    std::uint64_t last_insert_id = 0;
    std::uint16_t status_flags = 0;
    std::uint16_t warnings = 0;
    std::string info;
    Bytes session_state_changes;  // with CLIENT_SESSION_TRACK and SERVER_SESSION_STATE_CHANGED

    bool operator==(const OkPacket&) const = default;
};
Decoded<OkPacket> decode_ok(ByteSpan payload, std::uint32_t capabilities);
void encode_ok(const OkPacket& ok, std::uint32_t capabilities, Bytes& out);

// ERR_Packet. The SQL state marker is present once the client said CLIENT_PROTOCOL_41; an error
// sent before the greeting (1130) has none. MariaDB's progress reports also start 0xFF, with
// error_code 0xFFFF.
struct ErrPacket {
    std::uint16_t error_code = 0;
    std::string sql_state;  // 5 characters, or empty when the packet has no '#' marker
    std::string message;

    bool operator==(const ErrPacket&) const = default;
};
Decoded<ErrPacket> decode_err(ByteSpan payload);
void encode_err(const ErrPacket& err, Bytes& out);

// COM_CHANGE_USER. Its layout depends on the client's capabilities from the login.
struct ChangeUser {
    std::string username;
    Bytes auth_response;
    std::string database;
    std::optional<std::uint16_t> character_set;  // absent in the oldest form, with what follows
    std::string auth_plugin_name;                // with CLIENT_PLUGIN_AUTH
    Bytes connect_attributes;                    // with CLIENT_CONNECT_ATTRS, as sent

    bool operator==(const ChangeUser&) const = default;
};
Decoded<ChangeUser> decode_change_user(ByteSpan payload, std::uint32_t client_capabilities);
void encode_change_user(const ChangeUser& c, std::uint32_t client_capabilities, Bytes& out);

// COM_QUIT is the single byte 0x01.
bool is_quit(ByteSpan payload);

}  // namespace hostgate::protocol::mysql
