#pragma once
// Test helpers that read back what protocol/untrusted_text.h writes, written independently of it:
// a log literal back to its bytes, and a strict reader for flat JSON objects (RFC 8259, UTF-8).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace hostgate::test {

inline int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

inline void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

// Reads `n` hex digits at s[at]; nullopt if they are not all there.
inline std::optional<std::uint32_t> read_hex(std::string_view s, std::size_t at, std::size_t n) {
    if (at + n > s.size()) return std::nullopt;
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const int d = hex_digit(s[at + i]);
        if (d < 0) return std::nullopt;
        v = v << 4 | static_cast<std::uint32_t>(d);
    }
    return v;
}

struct LogLiteral {
    std::string bytes;                // what the literal says
    std::optional<std::size_t> total;  // from "[cut, N bytes in all]"
};

// 'text' with \\ \' \n \r \t \xHH \uHHHH, optionally followed by "[cut, N bytes in all]", and
// nothing else. nullopt for anything else: an unknown escape, a raw quote or backslash, a byte
// below 0x20 or DEL.
inline std::optional<LogLiteral> read_log_literal(std::string_view s) {
    if (s.size() < 2 || s[0] != '\'') return std::nullopt;
    LogLiteral out;
    std::size_t i = 1;
    for (;;) {
        if (i >= s.size()) return std::nullopt;
        const char c = s[i];
        if (c == '\'') break;
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) return std::nullopt;
        if (c != '\\') {
            out.bytes += c;
            ++i;
            continue;
        }
        if (i + 1 >= s.size()) return std::nullopt;
        const char e = s[i + 1];
        i += 2;
        if (e == '\\' || e == '\'') {
            out.bytes += e;
        } else if (e == 'n') {
            out.bytes += '\n';
        } else if (e == 'r') {
            out.bytes += '\r';
        } else if (e == 't') {
            out.bytes += '\t';
        } else if (e == 'x') {
            const auto v = read_hex(s, i, 2);
            if (!v) return std::nullopt;
            out.bytes += static_cast<char>(*v);
            i += 2;
        } else if (e == 'u') {
            const auto v = read_hex(s, i, 4);
            if (!v) return std::nullopt;
            append_utf8(out.bytes, *v);
            i += 4;
        } else {
            return std::nullopt;
        }
    }
    const std::string_view rest = s.substr(i + 1);
    if (rest.empty()) return out;
    constexpr std::string_view kCut = "[cut, ", kEnd = " bytes in all]";
    if (!rest.starts_with(kCut) || !rest.ends_with(kEnd)) return std::nullopt;
    const std::string_view number = rest.substr(kCut.size(), rest.size() - kCut.size() - kEnd.size());
    if (number.empty() || number.size() > 18) return std::nullopt;
    std::size_t total = 0;
    for (char d : number) {
        if (d < '0' || d > '9') return std::nullopt;
        total = total * 10 + static_cast<std::size_t>(d - '0');
    }
    out.total = total;
    return out;
}

// Whether `s` is well-formed UTF-8, checked code point by code point from the definition.
inline bool well_formed_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto b = static_cast<unsigned char>(s[i]);
        std::size_t n;
        std::uint32_t cp;
        if (b < 0x80) { n = 1; cp = b; }
        else if ((b & 0xE0) == 0xC0) { n = 2; cp = b & 0x1F; }
        else if ((b & 0xF0) == 0xE0) { n = 3; cp = b & 0x0F; }
        else if ((b & 0xF8) == 0xF0) { n = 4; cp = b & 0x07; }
        else return false;
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            const auto c = static_cast<unsigned char>(s[i + k]);
            if ((c & 0xC0) != 0x80) return false;
            cp = cp << 6 | (c & 0x3F);
        }
        const std::uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n;
    }
    return true;
}

// A value of a flat JSON object.
using JsonValue = std::variant<std::monostate, bool, double, std::string>;  // monostate: null
using JsonFields = std::vector<std::pair<std::string, JsonValue>>;

// Reads one JSON object whose values are strings, numbers, booleans or null, as RFC 8259 says:
// valid UTF-8 throughout, no raw control character in a string, only the standard escapes, paired
// surrogates. nullopt for anything else, trailing bytes included.
class FlatJsonReader {
  public:
    static std::optional<JsonFields> read(std::string_view text) {
        if (!well_formed_utf8(text)) return std::nullopt;
        FlatJsonReader r{text};
        JsonFields fields;
        r.space();
        if (!r.take('{')) return std::nullopt;
        r.space();
        if (!r.take('}')) {
            for (;;) {
                r.space();
                auto key = r.string();
                if (!key) return std::nullopt;
                r.space();
                if (!r.take(':')) return std::nullopt;
                r.space();
                auto value = r.value();
                if (!value) return std::nullopt;
                fields.emplace_back(std::move(*key), std::move(*value));
                r.space();
                if (r.take('}')) break;
                if (!r.take(',')) return std::nullopt;
            }
        }
        r.space();
        if (r.at_ != text.size()) return std::nullopt;
        return fields;
    }

  private:
    explicit FlatJsonReader(std::string_view s) : s_(s) {}
    bool take(char c) {
        if (at_ < s_.size() && s_[at_] == c) {
            ++at_;
            return true;
        }
        return false;
    }
    void space() {
        while (at_ < s_.size() && (s_[at_] == ' ' || s_[at_] == '\t' || s_[at_] == '\n' || s_[at_] == '\r')) ++at_;
    }
    bool word(std::string_view w) {
        if (s_.substr(at_, w.size()) != w) return false;
        at_ += w.size();
        return true;
    }
    std::optional<JsonValue> value() {
        if (at_ >= s_.size()) return std::nullopt;
        if (s_[at_] == '"') {
            auto s = string();
            if (!s) return std::nullopt;
            return JsonValue(std::move(*s));
        }
        if (word("true")) return JsonValue(true);
        if (word("false")) return JsonValue(false);
        if (word("null")) return JsonValue(std::monostate{});
        return number();
    }
    std::optional<JsonValue> number() {
        const std::size_t start = at_;
        take('-');
        if (take('0')) {
        } else if (at_ < s_.size() && s_[at_] >= '1' && s_[at_] <= '9') {
            while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') ++at_;
        } else {
            return std::nullopt;
        }
        if (take('.')) {
            const std::size_t digits = at_;
            while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') ++at_;
            if (at_ == digits) return std::nullopt;
        }
        if (take('e') || take('E')) {
            if (!take('+')) take('-');
            const std::size_t digits = at_;
            while (at_ < s_.size() && s_[at_] >= '0' && s_[at_] <= '9') ++at_;
            if (at_ == digits) return std::nullopt;
        }
        return JsonValue(std::stod(std::string(s_.substr(start, at_ - start))));
    }
    std::optional<std::string> string() {
        if (!take('"')) return std::nullopt;
        std::string out;
        for (;;) {
            if (at_ >= s_.size()) return std::nullopt;
            const char c = s_[at_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) return std::nullopt;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_ >= s_.size()) return std::nullopt;
            const char e = s_[at_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    auto cp = read_hex(s_, at_, 4);
                    if (!cp) return std::nullopt;
                    at_ += 4;
                    if (*cp >= 0xDC00 && *cp <= 0xDFFF) return std::nullopt;
                    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
                        if (!word("\\u")) return std::nullopt;
                        auto low = read_hex(s_, at_, 4);
                        if (!low || *low < 0xDC00 || *low > 0xDFFF) return std::nullopt;
                        at_ += 4;
                        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
                    }
                    append_utf8(out, *cp);
                    break;
                }
                default:
                    return std::nullopt;
            }
        }
    }

    std::string_view s_;
    std::size_t at_ = 0;
};

// The bytes a lowercase or uppercase hex string stands for; nullopt for an odd length or a
// non-hex character.
inline std::optional<std::string> from_hex(std::string_view h) {
    if (h.size() % 2) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < h.size(); i += 2) {
        auto v = read_hex(h, i, 2);
        if (!v) return std::nullopt;
        out += static_cast<char>(*v);
    }
    return out;
}

}  // namespace hostgate::test
