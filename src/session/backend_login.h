#pragma once
// How hostgate logs a client in to a backend without ever seeing a password (the forced switch):
// the login it sends in the client's name, the check of the backend's real greeting against what
// the client was offered, and which of the backend's answers may reach the client. Pure functions
// of the client's login and of hostgate's own greeting.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/mysql_constants.h"
#include "protocol/mysql_messages.h"
#include "src/backends/backends.h"

namespace hostgate {

// The plugin name hostgate logs in to backends with (a login and COM_CHANGE_USER): no server knows
// it, so the backend answers with its own AuthSwitchRequest, which the client then answers.
inline constexpr std::string_view kForcedSwitchPlugin = "hostgate_forced_switch";

// The largest login a client may send: a HandshakeResponse41 before it is authenticated, or a
// COM_CHANGE_USER. One with 64 KiB of connection attributes fits; a flood of fake giant logins
// cannot hold much memory.
inline constexpr std::size_t kMaxLoginPacket = 128 * 1024;

// Capabilities the proxy never passes on: it does not compress, TLS is per leg, and the relay
// follows every result set by its column definitions, so they may not be left out (MySQL's
// optional metadata, MariaDB's metadata cache).
inline constexpr std::uint32_t kWithheldCapabilities =
    protocol::mysql::cap::kCompress | protocol::mysql::cap::kSsl |
    protocol::mysql::cap::kZstdCompressionAlgorithm |
    protocol::mysql::cap::kOptionalResultsetMetadata;
inline constexpr std::uint32_t kWithheldMariadbCapabilities =
    protocol::mysql::mariadb_cap::kCacheMetadata;

// What hostgate's greeting offered the client.
struct Offer {
    ServerTraits backends;           // the traits of the backends it greeted for
    std::uint32_t capabilities = 0;  // the capabilities the greeting carried
};

// The capabilities the client took from the greeting, which every backend must have too.
std::uint32_t taken_capabilities(const protocol::mysql::HandshakeResponse41& login,
                                 const Offer& offer);

// Whether both the client and the backends greeted for speak MariaDB's extensions.
bool mariadb_extensions(const protocol::mysql::HandshakeResponse41& login, const Offer& offer);

// The backend leg's MariaDB capabilities: those both the client and the backends have, when
// both speak MariaDB's extensions, less the withheld ones.
std::uint32_t backend_mariadb_capabilities(const protocol::mysql::HandshakeResponse41& login,
                                           const Offer& offer);

// Whether the backend is to re-challenge the client with its own AuthSwitchRequest: always,
// except for a login with no auth data from a client without CLIENT_PLUGIN_AUTH (HAProxy's
// mysql-check), which the backend checks as it stands.
bool forced_switch(const protocol::mysql::HandshakeResponse41& login);

// The backend leg's capabilities: those the client took, CLIENT_PLUGIN_AUTH whenever the switch is
// forced (no server sends a switch otherwise), and CLIENT_SSL when `tls`.
std::uint32_t backend_capabilities(const protocol::mysql::HandshakeResponse41& login,
                                   const Offer& offer, bool tls);

// The login sent to a backend for the client: its user, database, character set and connection
// attributes, the backend leg's capabilities, no auth data, and kForcedSwitchPlugin when the
// switch is forced.
protocol::mysql::HandshakeResponse41 backend_login(
    const protocol::mysql::HandshakeResponse41& login, const Offer& offer, bool tls);

// Why a backend's real greeting cannot serve this client: a capability the client took that it
// lacks, or another dialect (MySQL instead of MariaDB or the reverse). nullopt when it can.
std::optional<std::string> greeting_mismatch(const protocol::mysql::HandshakeResponse41& login,
                                             const Offer& offer,
                                             const protocol::mysql::HandshakeV10& greeting);

// Whether a packet the backend sends during authentication may be relayed to the client. Always
// for a client with CLIENT_PLUGIN_AUTH. A client without it signed hostgate's scramble, not the
// backend's, and such clients (Node.js mysqljs) answer a switch to mysql_native_password, so that
// switch reaches it all the same; a switch to any other plugin does not.
bool relayable_to_client(const protocol::mysql::HandshakeResponse41& login,
                         protocol::ByteSpan backend_packet);

// Whether a backend's ERR says it does not take hostgate's PROXY header (its
// proxy_protocol_networks misses hostgate's address): MariaDB's and Percona's 1130 "Proxy header
// is not accepted from <addr>", or 1105 "Failed to parse proxy header".
bool refuses_proxy_header(const protocol::mysql::ErrPacket& err);

// What the client is told then: the backend's own words are about hostgate, not the client.
protocol::mysql::ErrPacket proxy_header_refused_error();

// Whether this packet of the backend's, during the login, makes a client on TLS send its password
// in clear next: a switch to mysql_clear_password, dialog (PAM) or sha256_password, or
// caching_sha2_password's "perform full authentication" (0x01 0x04). `plugin` is the
// authentication plugin in force before this packet; it becomes the one the packet switches to.
bool asks_for_cleartext_password(protocol::ByteSpan backend_packet, std::string& plugin);

// What a client on TLS is told when such a password would go on to a plaintext backend leg.
protocol::mysql::ErrPacket cleartext_password_refused_error();

// The same for the log and the health monitor, with the fix: "does not accept hostgate's PROXY
// header from 10.0.0.5 (1130 'Proxy header is not accepted from 10.0.0.5'): add 10.0.0.5 to
// proxy_protocol_networks on the backend". `from` is the address hostgate connected from.
std::string proxy_header_refusal(const protocol::mysql::ErrPacket& err, const std::string& from);

// The error a server itself sends a client that cannot follow its plugin, in the backend's words.
protocol::mysql::ErrPacket unsupported_plugin_error(const protocol::mysql::HandshakeV10& greeting);

}  // namespace hostgate
