#pragma once
// Bounds-checked reading and appending of wire fields. Nothing here casts structs over buffers.
//
// ByteReader is a cursor with a sticky fault: once a read runs past the end (or a NUL string or a
// length-encoded integer is malformed) every later read returns an empty value and fault() tells
// the first failure. Decoders can therefore read a layout top to bottom, as the spec writes it,
// and check once at the end.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hostgate::protocol {

using Bytes = std::vector<std::byte>;
using ByteSpan = std::span<const std::byte>;

inline ByteSpan as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteSpan b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

enum class ReadFault : std::uint8_t {
    none,
    truncated,    // a field runs past the end of the input
    missing_nul,  // a NUL-terminated string has no NUL before the end
    bad_lenenc,   // a length-encoded integer starts with 0xFB (NULL) or 0xFF
};

class ByteReader {
  public:
    explicit ByteReader(ByteSpan in) : in_(in) {}

    std::size_t position() const { return pos_; }
    std::size_t remaining() const { return in_.size() - pos_; }
    bool at_end() const { return pos_ == in_.size(); }
    bool ok() const { return fault_ == ReadFault::none; }
    ReadFault fault() const { return fault_; }
    // The next byte without consuming it; 0 when at the end.
    std::uint8_t peek() const { return at_end() ? 0 : std::to_integer<std::uint8_t>(in_[pos_]); }

    std::uint8_t u8() { return static_cast<std::uint8_t>(uint_le(1)); }
    std::uint16_t le16() { return static_cast<std::uint16_t>(uint_le(2)); }
    std::uint32_t le24() { return static_cast<std::uint32_t>(uint_le(3)); }
    std::uint32_t le32() { return static_cast<std::uint32_t>(uint_le(4)); }
    std::uint64_t le64() { return uint_le(8); }
    std::uint16_t be16() {
        auto b = bytes(2);
        return b.size() == 2 ? static_cast<std::uint16_t>(std::to_integer<unsigned>(b[0]) << 8 |
                                                          std::to_integer<unsigned>(b[1]))
                             : 0;
    }

    // Exactly n bytes, or an empty span and a truncated fault.
    ByteSpan bytes(std::size_t n) {
        if (!ok()) return {};
        if (n > remaining()) return fail(ReadFault::truncated), ByteSpan{};
        auto out = in_.subspan(pos_, n);
        pos_ += n;
        return out;
    }
    ByteSpan rest() { return bytes(remaining()); }
    std::string string(std::size_t n) { return std::string(as_chars(bytes(n))); }
    std::string rest_string() { return string(remaining()); }

    // Bytes ended by NUL; the NUL is consumed but not returned.
    ByteSpan nul_bytes() {
        if (!ok()) return {};
        for (std::size_t i = pos_; i < in_.size(); ++i) {
            if (in_[i] == std::byte{0}) {
                auto out = in_.subspan(pos_, i - pos_);
                pos_ = i + 1;
                return out;
            }
        }
        fail(ReadFault::missing_nul);
        return {};
    }
    std::string nul_string() { return std::string(as_chars(nul_bytes())); }

    // MySQL length-encoded integer: < 0xFB itself, 0xFC + 2 bytes, 0xFD + 3, 0xFE + 8.
    std::uint64_t lenenc_int() {
        const std::uint8_t first = u8();
        if (!ok()) return 0;
        switch (first) {
            case 0xFB:
            case 0xFF:
                return fail(ReadFault::bad_lenenc), 0;
            case 0xFC:
                return le16();
            case 0xFD:
                return le24();
            case 0xFE:
                return le64();
            default:
                return first;
        }
    }
    // A length-encoded integer and that many bytes.
    ByteSpan lenenc_bytes() {
        const std::uint64_t n = lenenc_int();
        if (n > remaining()) return fail(ReadFault::truncated), ByteSpan{};
        return bytes(static_cast<std::size_t>(n));
    }
    std::string lenenc_string() { return std::string(as_chars(lenenc_bytes())); }

  private:
    std::uint64_t uint_le(std::size_t n) {
        auto b = bytes(n);
        std::uint64_t v = 0;
        for (std::size_t i = b.size(); i-- > 0;) v = v << 8 | std::to_integer<std::uint64_t>(b[i]);
        return v;
    }
    void fail(ReadFault f) {
        if (fault_ == ReadFault::none) fault_ = f;
    }

    ByteSpan in_;
    std::size_t pos_ = 0;
    ReadFault fault_ = ReadFault::none;
};

// Appends wire fields to a caller's buffer.
class ByteWriter {
  public:
    explicit ByteWriter(Bytes& out) : out_(out) {}

    std::size_t size() const { return out_.size(); }
    void u8(std::uint8_t v) { out_.push_back(std::byte{v}); }
    void le16(std::uint16_t v) { uint_le(v, 2); }
    void le24(std::uint32_t v) { uint_le(v, 3); }
    void le32(std::uint32_t v) { uint_le(v, 4); }
    void le64(std::uint64_t v) { uint_le(v, 8); }
    void be16(std::uint16_t v) {
        u8(static_cast<std::uint8_t>(v >> 8));
        u8(static_cast<std::uint8_t>(v));
    }
    void bytes(ByteSpan b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void string(std::string_view s) { bytes(as_bytes(s)); }
    void zeros(std::size_t n) { out_.insert(out_.end(), n, std::byte{0}); }
    void nul_string(std::string_view s) {
        string(s);
        u8(0);
    }
    void lenenc_int(std::uint64_t v) {
        if (v < 0xFB) {
            u8(static_cast<std::uint8_t>(v));
        } else if (v <= 0xFFFF) {
            u8(0xFC), uint_le(v, 2);
        } else if (v <= 0xFFFFFF) {
            u8(0xFD), uint_le(v, 3);
        } else {
            u8(0xFE), uint_le(v, 8);
        }
    }
    void lenenc_bytes(ByteSpan b) {
        lenenc_int(b.size());
        bytes(b);
    }
    void lenenc_string(std::string_view s) { lenenc_bytes(as_bytes(s)); }

  private:
    void uint_le(std::uint64_t v, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) u8(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    Bytes& out_;
};

}  // namespace hostgate::protocol
