#include "src/session/backend_login.h"

#include <fmt/format.h>

#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"
#include "src/session/native_password.h"

namespace hostgate {

namespace mysql = protocol::mysql;
namespace cap = protocol::mysql::cap;

std::uint32_t taken_capabilities(const mysql::HandshakeResponse41& login, const Offer& offer) {
    return login.capabilities & offer.capabilities & ~kWithheldCapabilities;
}

bool mariadb_extensions(const mysql::HandshakeResponse41& login, const Offer& offer) {
    return !(login.capabilities & cap::kMysql) && !(offer.backends.capabilities & cap::kMysql);
}

std::uint32_t backend_mariadb_capabilities(const mysql::HandshakeResponse41& login,
                                           const Offer& offer) {
    if (!mariadb_extensions(login, offer)) return 0;
    return login.mariadb_capabilities & offer.backends.mariadb_capabilities &
           ~kWithheldMariadbCapabilities;
}

bool forced_switch(const mysql::HandshakeResponse41& login) {
    return (login.capabilities & cap::kPluginAuth) || !login.auth_response.empty();
}

std::uint32_t backend_capabilities(const mysql::HandshakeResponse41& login, const Offer& offer,
                                   bool tls) {
    return taken_capabilities(login, offer) | (forced_switch(login) ? cap::kPluginAuth : 0) |
           (tls ? cap::kSsl : 0);
}

mysql::HandshakeResponse41 backend_login(const mysql::HandshakeResponse41& login,
                                         const Offer& offer, bool tls) {
    mysql::HandshakeResponse41 forward;
    forward.capabilities = backend_capabilities(login, offer, tls);
    forward.max_packet_size = login.max_packet_size;
    forward.character_set = login.character_set;
    forward.mariadb_capabilities = backend_mariadb_capabilities(login, offer);
    forward.username = login.username;
    forward.database = login.database;
    if (forced_switch(login)) forward.auth_plugin_name = std::string(kForcedSwitchPlugin);
    forward.connect_attributes = login.connect_attributes;
    return forward;
}

std::optional<std::string> greeting_mismatch(const mysql::HandshakeResponse41& login,
                                             const Offer& offer,
                                             const mysql::HandshakeV10& greeting) {
    const std::uint32_t missing = taken_capabilities(login, offer) & ~greeting.capabilities;
    const std::uint32_t missing_ext =
        backend_mariadb_capabilities(login, offer) & ~greeting.mariadb_capabilities;
    const bool dialect_changed =
        (greeting.capabilities ^ offer.backends.capabilities) & cap::kMysql;
    if (!missing && !missing_ext && !dialect_changed) return std::nullopt;
    return fmt::format("lacks capabilities {:#x} (MariaDB {:#x}{}) that clients were offered",
                       missing, missing_ext, dialect_changed ? ", or their dialect" : "");
}

bool relayable_to_client(const mysql::HandshakeResponse41& login,
                         protocol::ByteSpan backend_packet) {
    if ((login.capabilities & cap::kPluginAuth) || backend_packet.empty() ||
        std::to_integer<std::uint8_t>(backend_packet[0]) != mysql::header::kAuthSwitch)
        return true;
    const auto request = mysql::decode_auth_switch_request(backend_packet);
    return request && request->plugin_name == kNativePassword;
}

bool refuses_proxy_header(const mysql::ErrPacket& err) {
    return (err.error_code == 1130 && err.message.starts_with("Proxy header is not accepted")) ||
           (err.error_code == 1105 && err.message == "Failed to parse proxy header");
}

mysql::ErrPacket proxy_header_refused_error() {
    return mysql::server_error(mysql::ServerError::unknown_error,
                               "The database server does not accept hostgate's PROXY header: "
                               "hostgate's address must be in its proxy_protocol_networks");
}

std::string proxy_header_refusal(const mysql::ErrPacket& err, const std::string& from) {
    return fmt::format(
        "does not accept hostgate's PROXY header from {} ({} {}): add {} to "
        "proxy_protocol_networks on the backend",
        from, err.error_code, protocol::text::log_literal(err.message), from);
}

bool asks_for_cleartext_password(protocol::ByteSpan backend_packet, std::string& plugin) {
    if (backend_packet.empty()) return false;
    const auto kind = std::to_integer<std::uint8_t>(backend_packet[0]);
    if (kind == mysql::header::kAuthSwitch) {
        const auto request = mysql::decode_auth_switch_request(backend_packet);
        if (!request) return false;
        plugin = request->plugin_name;
        return plugin == "mysql_clear_password" || plugin == "dialog" ||
               plugin == "sha256_password";
    }
    // caching_sha2_password: 0x01 then 0x03 (fast_auth_success) or 0x04 (perform full
    // authentication: a client on TLS sends its password in clear next).
    constexpr std::uint8_t kAuthMoreData = 0x01, kPerformFullAuthentication = 0x04;
    return kind == kAuthMoreData && plugin == "caching_sha2_password" &&
           backend_packet.size() == 2 &&
           std::to_integer<std::uint8_t>(backend_packet[1]) == kPerformFullAuthentication;
}

mysql::ErrPacket cleartext_password_refused_error() {
    return mysql::server_error(
        mysql::ServerError::unknown_error,
        "This account's authentication sends the password in clear, and hostgate's connection to "
        "the database server is not encrypted: set tls = \"mirror\" or \"required\" on that "
        "backend");
}

mysql::ErrPacket unsupported_plugin_error(const mysql::HandshakeV10& greeting) {
    const bool mariadb = !(greeting.capabilities & cap::kMysql);
    return mysql::server_error(
        mysql::ServerError::not_supported_auth_mode,
        fmt::format("Client does not support authentication protocol requested by server; "
                    "consider upgrading {} client",
                    mariadb ? "MariaDB" : "MySQL"));
}

}  // namespace hostgate
