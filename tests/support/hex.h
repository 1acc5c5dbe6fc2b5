#pragma once
// Test helpers: bytes written as hex, and printing bytes in failure messages.

#include <cctype>
#include <stdexcept>
#include <string>
#include <string_view>

#include "protocol/byte_io.h"

namespace hostgate::test {

// "0d 0a ff" (spaces optional) -> bytes. Throws on odd length or a non-hex character.
inline protocol::Bytes hex(std::string_view text) {
    protocol::Bytes out;
    int high = -1;
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c))) continue;
        int v;
        if (c >= '0' && c <= '9') v = c - '0';
        else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v = c - 'A' + 10;
        else throw std::invalid_argument("bad hex digit in test vector");
        if (high < 0) {
            high = v;
        } else {
            out.push_back(std::byte(static_cast<unsigned char>(high << 4 | v)));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("odd number of hex digits in test vector");
    return out;
}

// Text -> bytes, for the text parts of a vector.
inline protocol::Bytes text(std::string_view s) {
    auto b = protocol::as_bytes(s);
    return {b.begin(), b.end()};
}

inline protocol::Bytes concat(std::initializer_list<protocol::Bytes> parts) {
    protocol::Bytes out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

inline std::string to_hex(protocol::ByteSpan b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (std::byte x : b) {
        const auto v = std::to_integer<unsigned>(x);
        if (!out.empty()) out += ' ';
        out += kDigits[v >> 4];
        out += kDigits[v & 15];
    }
    return out;
}

// An exact-size heap copy of the first n bytes, so that AddressSanitizer sees any over-read.
inline protocol::Bytes prefix(protocol::ByteSpan b, std::size_t n) { return {b.begin(), b.begin() + n}; }

}  // namespace hostgate::test
