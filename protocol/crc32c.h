#pragma once
// CRC-32C (Castagnoli), as the PROXY protocol v2 PP2_TYPE_CRC32C TLV uses it.

#include <cstdint>

#include "protocol/byte_io.h"

namespace hostgate::protocol {

// CRC-32C of the bytes, continuing from a previous result (0 to start).
std::uint32_t crc32c(ByteSpan data, std::uint32_t previous = 0);

}  // namespace hostgate::protocol
