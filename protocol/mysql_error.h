#pragma once
// Why a MySQL packet could not be read or decoded.

#include <system_error>

#include "protocol/byte_io.h"

namespace hostgate::protocol::mysql {

enum class errc {
    truncated = 1,         // a field runs past the end of the payload
    trailing_bytes,        // bytes left after the last field
    missing_nul,           // a NUL-terminated string without its NUL
    bad_lenenc,            // a length-encoded integer starting 0xFB or 0xFF
    unexpected_header,     // the first byte is not the one this packet starts with
    bad_protocol_version,  // a greeting that is not protocol version 10
    unsupported_protocol,  // a pre-4.1 client (no CLIENT_PROTOCOL_41)
    packet_too_large,      // a logical packet over the reader's limit
    bad_sequence,          // continuation frames out of sequence
    bad_attributes,        // connection attributes that are not key/value pairs
    bad_scramble,          // a greeting whose scramble is not 20+ bytes ending in NUL
};
const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

// The error for a ByteReader fault (none maps to an empty error code).
std::error_code to_error(ReadFault fault);

// The error for a finished decode: the reader's fault, trailing_bytes when input is left, or none.
inline std::error_code finish_error(const ByteReader& r) {
    if (!r.ok()) return to_error(r.fault());
    if (!r.at_end()) return make_error_code(errc::trailing_bytes);
    return {};
}

}  // namespace hostgate::protocol::mysql

template <>
struct std::is_error_code_enum<hostgate::protocol::mysql::errc> : std::true_type {};
