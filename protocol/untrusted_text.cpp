#include "protocol/untrusted_text.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace hostgate::protocol::text {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

void append_hex_escape(std::string& out, char prefix, char32_t value, int digits) {
    out += '\\';
    out += prefix;
    for (int shift = 4 * (digits - 1); shift >= 0; shift -= 4)
        out += kHexDigits[(value >> shift) & 0xF];
}

bool plain_ascii(unsigned char c) {
    return c >= 0x20 && c < 0x7F;
}

enum class Form { literal, display };

// Appends the escaped form of `bytes`, whole characters only, while what it appends stays within
// `limit` bytes. Returns how many bytes of `bytes` it wrote.
std::size_t append_escaped(std::string& out, std::string_view bytes, Form form, std::size_t limit) {
    const std::size_t start = out.size();
    const auto plain = [form](unsigned char c) {
        return plain_ascii(c) && !(form == Form::literal && (c == '\\' || c == '\''));
    };
    std::string piece;
    std::size_t i = 0;
    while (i < bytes.size()) {
        // A run of characters that stand for themselves goes in whole.
        std::size_t run = 0;
        while (i + run < bytes.size() && plain(static_cast<unsigned char>(bytes[i + run]))) ++run;
        if (run > 0) {
            const std::size_t take = std::min(run, limit - (out.size() - start));
            out.append(bytes.substr(i, take));
            i += take;
            if (take < run) break;
            continue;
        }
        const auto c = static_cast<unsigned char>(bytes[i]);
        std::size_t length = 1;
        piece.clear();
        if (c == '\\' || c == '\'') {
            piece = {'\\', static_cast<char>(c)};
        } else if (c == '\n') {
            piece = "\\n";
        } else if (c == '\r') {
            piece = "\\r";
        } else if (c == '\t') {
            piece = "\\t";
        } else if (c < 0x80) {
            append_hex_escape(piece, 'x', c, 2);
        } else if (const auto cp = decode_utf8(bytes.substr(i))) {
            length = cp->length;
            if (is_hidden(cp->value))
                append_hex_escape(piece, 'u', cp->value, 4);  // every hidden one is below U+10000
            else
                piece = bytes.substr(i, length);
        } else {
            append_hex_escape(piece, 'x', c, 2);
        }
        if (out.size() - start + piece.size() > limit) break;
        out += piece;
        i += length;
    }
    return i;
}

}  // namespace

std::optional<CodePoint> decode_utf8(std::string_view s) {
    if (s.empty()) return std::nullopt;
    const auto lead = static_cast<unsigned char>(s[0]);
    if (lead < 0x80) return CodePoint{lead, 1};
    std::size_t length;
    char32_t value;
    // The second byte's range is narrower after some lead bytes: that is what rules out overlong
    // forms (E0, F0), surrogates (ED) and code points past U+10FFFF (F4).
    unsigned char second_low = 0x80, second_high = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
        value = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        value = lead & 0x0F;
        if (lead == 0xE0) second_low = 0xA0;
        if (lead == 0xED) second_high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        value = lead & 0x07;
        if (lead == 0xF0) second_low = 0x90;
        if (lead == 0xF4) second_high = 0x8F;
    } else {
        return std::nullopt;  // a continuation byte, C0, C1 or F5 to FF
    }
    if (s.size() < length) return std::nullopt;
    for (std::size_t i = 1; i < length; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        const unsigned char low = i == 1 ? second_low : 0x80, high = i == 1 ? second_high : 0xBF;
        if (b < low || b > high) return std::nullopt;
        value = (value << 6) | (b & 0x3F);
    }
    return CodePoint{value, length};
}

bool is_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        const auto cp = decode_utf8(s.substr(i));
        if (!cp) return false;
        i += cp->length;
    }
    return true;
}

std::string_view first_characters(std::string_view s, std::size_t n) {
    std::size_t i = 0;
    for (std::size_t count = 0; i < s.size() && count < n; ++count) {
        const auto cp =
            static_cast<unsigned char>(s[i]) < 0x80 ? std::nullopt : decode_utf8(s.substr(i));
        i += cp ? cp->length : 1;
    }
    return s.substr(0, i);
}

std::size_t characters(std::string_view s) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < s.size(); ++count) {
        const auto cp =
            static_cast<unsigned char>(s[i]) < 0x80 ? std::nullopt : decode_utf8(s.substr(i));
        i += cp ? cp->length : 1;
    }
    return count;
}

bool is_hidden(char32_t c) {
    return c < 0x20 || (c >= 0x7F && c <= 0x9F) || c == 0x061C || c == 0x180E ||
           (c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
           (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB);
}

std::string log_literal(std::string_view bytes, std::size_t limit) {
    std::string out = "'";
    const std::size_t written = append_escaped(out, bytes, Form::literal, limit);
    out += '\'';
    if (written < bytes.size()) out += "[cut, " + std::to_string(bytes.size()) + " bytes in all]";
    return out;
}

void append_display(std::string& out, std::string_view bytes) {
    append_escaped(out, bytes, Form::display, std::string::npos);
}

std::string display(std::string_view bytes) {
    std::string out;
    append_display(out, bytes);
    return out;
}

std::string json_string(std::string_view bytes) {
    std::string out = "\"";
    std::size_t i = 0;
    while (i < bytes.size()) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (plain_ascii(c) && c != '"' && c != '\\') {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        const auto cp = decode_utf8(bytes.substr(i));
        if (!cp) {
            out += kReplacement;
            ++i;
            continue;
        }
        switch (cp->value) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (is_hidden(cp->value))
                    append_hex_escape(out, 'u', cp->value, 4);
                else
                    out += bytes.substr(i, cp->length);
        }
        i += cp->length;
    }
    return out + "\"";
}

std::string hex(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char b : bytes) {
        const auto c = static_cast<unsigned char>(b);
        out += kHexDigits[c >> 4];
        out += kHexDigits[c & 0xF];
    }
    return out;
}

void JsonObject::key(std::string_view key) {
    if (out_.size() > 1) out_ += ',';
    out_ += json_string(key);
    out_ += ':';
}

void JsonObject::text(std::string_view key, std::string_view value, std::size_t limit) {
    std::size_t end = value.size();
    if (end > limit) {  // the longest start of whole characters within the limit
        end = 0;
        for (;;) {
            const auto cp = decode_utf8(value.substr(end));
            const std::size_t next = end + (cp ? cp->length : 1);
            if (next > limit) break;
            end = next;
        }
    }
    const std::string_view kept = value.substr(0, end);
    this->key(key);
    out_ += json_string(kept);
    if (!is_utf8(kept)) {
        this->key(std::string(key) + "_hex");
        out_ += '"' + hex(kept) + '"';
    }
    if (kept.size() < value.size()) unsigned_number(std::string(key) + "_bytes", value.size());
}

void JsonObject::number(std::string_view key, long long value) {
    this->key(key);
    out_ += std::to_string(value);
}

void JsonObject::unsigned_number(std::string_view key, unsigned long long value) {
    this->key(key);
    out_ += std::to_string(value);
}

void JsonObject::real(std::string_view key, double value) {
    this->key(key);
    if (!std::isfinite(value)) {
        out_ += "null";  // JSON has no NaN or infinity
        return;
    }
    char buf[400];  // room for the largest double in fixed notation
    std::snprintf(buf, sizeof buf, "%.6f", value);
    out_ += buf;
}

void JsonObject::boolean(std::string_view key, bool value) {
    this->key(key);
    out_ += value ? "true" : "false";
}

std::string JsonObject::close() && {
    out_ += '}';
    return std::move(out_);
}

}  // namespace hostgate::protocol::text
