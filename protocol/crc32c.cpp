#include "protocol/crc32c.h"

#include <array>

namespace hostgate::protocol {
namespace {

constexpr std::uint32_t kPolynomial = 0x82F63B78;  // reversed 0x1EDC6F41

constexpr std::array<std::uint32_t, 256> make_table() {
    std::array<std::uint32_t, 256> table{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPolynomial : c >> 1;
        table[i] = c;
    }
    return table;
}

constexpr auto kTable = make_table();

}  // namespace

std::uint32_t crc32c(ByteSpan data, std::uint32_t previous) {
    std::uint32_t crc = ~previous;
    for (std::byte b : data)
        crc = kTable[(crc ^ std::to_integer<std::uint32_t>(b)) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

}  // namespace hostgate::protocol
