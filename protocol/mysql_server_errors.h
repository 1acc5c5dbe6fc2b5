#pragma once
// The errors hostgate sends clients, each named once with its number, SQLSTATE and, where it
// never changes, its text, as MySQL and MariaDB send them; and a Refusal: such an error with its
// place in the client's stream.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/byte_io.h"
#include "protocol/mysql_messages.h"

namespace hostgate::protocol::mysql {

// The errors by what happened. Each has a server error's number (1000-1999): libmariadb clients
// (the mariadb CLI, MySQLdb, Connector/C programs) take a number in the client range (2000-2999)
// sent by a server for a malformed packet, so hostgate never sends one.
enum class ServerError : std::uint8_t {
    too_many_connections,     // 1040 ER_CON_COUNT_ERROR, also "... from '<host>'"
    bad_handshake,            // 1043 ER_HANDSHAKE_ERROR
    access_denied,            // 1045 ER_ACCESS_DENIED_ERROR: auth::deny_message()
    unknown_command,          // 1047 ER_UNKNOWN_COM_ERROR
    parse_error,              // 1064 ER_PARSE_ERROR
    no_such_thread,           // 1094 ER_NO_SUCH_THREAD: "Unknown thread id: <id>"
    kill_denied,              // 1095 ER_KILL_DENIED_ERROR: "You are not owner of thread <id>"
    unknown_error,            // 1105 ER_UNKNOWN_ERROR: text of hostgate's own
    host_is_blocked,          // 1129 ER_HOST_IS_BLOCKED
    host_not_privileged,      // 1130 ER_HOST_NOT_PRIVILEGED: auth::deny_message()
    packet_too_large,         // 1153 ER_NET_PACKET_TOO_LARGE
    packets_out_of_order,     // 1156 ER_NET_PACKETS_OUT_OF_ORDER
    user_limit_reached,       // 1226 ER_USER_LIMIT_REACHED: auth::max_user_connections_message()
    not_supported_auth_mode,  // 1251 ER_NOT_SUPPORTED_AUTH_MODE: names the client's kind
    read_only,                // 1290 ER_OPTION_PREVENTS_STATEMENT: a write where only reads go
    query_interrupted,        // 1317 ER_QUERY_INTERRUPTED: "Query execution was interrupted"
    // What a client library would say itself (CR_CONN_HOST_ERROR, CR_SERVER_LOST,
    // CR_SSL_CONNECTION_ERROR), as 1105 with SQLSTATE 08S01 (communication failure), naming no
    // backend: hostgate has not reached one, lost it during the login, or failed TLS with it.
    cannot_connect,
    lost_connection,
    tls_error,
};

// The number it is sent with.
std::uint16_t error_number(ServerError e);
std::string_view sql_state(ServerError e);
// The error's usual text; empty for those whose text always names something (a user, a host).
std::string_view usual_message(ServerError e);

// The error with its usual text, or with `message`.
ErrPacket server_error(ServerError e);
ErrPacket server_error(ServerError e, std::string message);

// An error that ends a session, and where it goes in the client's stream: in place of the
// greeting (sequence id 0 and no SQLSTATE, as a server refuses a connection before it greets),
// or as the answer to the client's packet with sequence id `after`.
struct Refusal {
    ErrPacket error;
    std::optional<std::uint8_t> reply_sequence;  // none: in place of the greeting

    static Refusal before_greeting(ErrPacket e) { return {std::move(e), std::nullopt}; }
    static Refusal answering(std::uint8_t after, ErrPacket e) {
        return {std::move(e), static_cast<std::uint8_t>(after + 1)};
    }
    // The framed ERR packet.
    Bytes wire() const;
};

}  // namespace hostgate::protocol::mysql
