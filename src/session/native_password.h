#pragma once
// mysql_native_password: SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))).

#include <array>
#include <cstdint>
#include <string_view>

#include "protocol/byte_io.h"

namespace hostgate {

inline constexpr std::string_view kNativePassword = "mysql_native_password";

using Sha1 = std::array<std::uint8_t, 20>;

Sha1 sha1(std::initializer_list<protocol::ByteSpan> parts);

// A fresh 20-byte scramble, printable and NUL-free as servers make them.
protocol::Bytes make_scramble();

// The client's answer to a scramble; empty for an empty password.
protocol::Bytes native_password_response(std::string_view password, protocol::ByteSpan scramble);

// The server's check, knowing only SHA1(SHA1(password)).
bool native_password_matches(protocol::ByteSpan scramble, protocol::ByteSpan response,
                             const Sha1& stage2);

}  // namespace hostgate
