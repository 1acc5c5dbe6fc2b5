#include "protocol/mysql_server_errors.h"

#include "protocol/mysql_frame.h"

namespace hostgate::protocol::mysql {

namespace {

struct Entry {
    std::uint16_t number;
    std::string_view sql_state;
    std::string_view message;
};

Entry entry(ServerError e) {
    switch (e) {
        case ServerError::too_many_connections:
            return {1040, "08004", "Too many connections"};
        case ServerError::bad_handshake:
            return {1043, "08S01", "Bad handshake"};
        case ServerError::access_denied:
            return {1045, "28000", ""};
        case ServerError::unknown_command:
            return {1047, "08S01", "Unknown command"};
        case ServerError::parse_error:
            return {1064, "42000", ""};
        case ServerError::no_such_thread:
            return {1094, "HY000", ""};
        case ServerError::kill_denied:
            return {1095, "HY000", ""};
        case ServerError::unknown_error:
            return {1105, "HY000", ""};
        case ServerError::host_is_blocked:
            return {1129, "HY000", ""};
        case ServerError::host_not_privileged:
            return {1130, "HY000", ""};
        case ServerError::packet_too_large:
            return {1153, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes"};
        case ServerError::packets_out_of_order:
            return {1156, "08S01", "Got packets out of order"};
        case ServerError::user_limit_reached:
            return {1226, "42000", ""};
        case ServerError::not_supported_auth_mode:
            return {1251, "08004", ""};
        case ServerError::read_only:
            return {1290, "HY000", ""};
        case ServerError::query_interrupted:
            return {1317, "70100", "Query execution was interrupted"};
        case ServerError::cannot_connect:
            return {1105, "08S01", "Can't connect to MySQL server"};
        case ServerError::lost_connection:
            return {1105, "08S01", "Lost connection to MySQL server during login"};
        case ServerError::tls_error:
            return {1105, "08S01", "TLS/SSL error with the MySQL server"};
    }
    return {1105, "HY000", ""};
}

}  // namespace

std::uint16_t error_number(ServerError e) {
    return entry(e).number;
}

std::string_view sql_state(ServerError e) {
    return entry(e).sql_state;
}

std::string_view usual_message(ServerError e) {
    return entry(e).message;
}

ErrPacket server_error(ServerError e) {
    return server_error(e, std::string(usual_message(e)));
}

ErrPacket server_error(ServerError e, std::string message) {
    return {error_number(e), std::string(sql_state(e)), std::move(message)};
}

Bytes Refusal::wire() const {
    Bytes payload;
    encode_err({error.error_code, reply_sequence ? error.sql_state : "", error.message}, payload);
    Bytes out;
    write_packet(out, reply_sequence.value_or(0), payload);
    return out;
}

}  // namespace hostgate::protocol::mysql
