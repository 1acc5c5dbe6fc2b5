#pragma once
// Bytes a client chose (user and database names, connection attributes, PROXY TLV contents, a
// backend's error text that quotes them) written into text that people and programs read: log
// lines, JSON lines, admin result sets. Whatever the bytes, what comes out is valid UTF-8 and
// holds no control character and no invisible or direction-changing formatting character, so a
// name can neither forge a line nor hide or reorder text on an operator's screen.
//
// Two forms:
// - a literal ('bob\n'): quoted and escaped so that it reads back to the exact bytes, for logs;
// - a display form (bob\n): hidden characters escaped, backslashes and quotes kept as they are,
//   for admin result sets and as the last safety net over whole log lines.
// Escapes: \\ and \' (literal only), \n \r \t, \xHH for any other control byte and for each byte
// that is not part of well-formed UTF-8, \uHHHH for other hidden code points (all below U+10000).

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace hostgate::protocol::text {

// The longest name, in bytes between the quotes, that log_literal() writes whole.
inline constexpr std::size_t kLogNameLimit = 256;

struct CodePoint {
    char32_t value;
    std::size_t length;  // bytes it took, 1 to 4
};

// The code point at the front of `s` in well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing past U+10FFFF). nullopt when `s` is empty or its first byte does not start
// a complete, well-formed sequence.
std::optional<CodePoint> decode_utf8(std::string_view s);

// Whether all of `s` is well-formed UTF-8.
bool is_utf8(std::string_view s);

// How many characters `s` holds: its code points, and one for each byte that is not part of
// well-formed UTF-8.
std::size_t characters(std::string_view s);

// The longest start of `s` of at most `n` characters (as characters() counts them).
std::string_view first_characters(std::string_view s, std::size_t n);

// Whether a code point is shown escaped: C0 controls, DEL, C1 controls, the line and paragraph
// separators, and the invisible and bidirectional formatting characters (U+061C, U+180E,
// U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF, U+FFF9-U+FFFB).
bool is_hidden(char32_t c);

// `bytes` as a log literal: in single quotes, escaped. A literal longer than `limit` bytes between
// the quotes is cut at a character boundary and followed by "[cut, N bytes in all]".
std::string log_literal(std::string_view bytes, std::size_t limit = kLogNameLimit);

// Appends `bytes` in display form: only hidden code points and bytes that are not UTF-8 escaped.
void append_display(std::string& out, std::string_view bytes);
std::string display(std::string_view bytes);

// `bytes` as a JSON string literal (quotes included) that is valid UTF-8: each byte that is not
// part of well-formed UTF-8 becomes U+FFFD; quote, backslash, controls, DEL, C1 and the other
// hidden code points are \u escapes. Reads back to `bytes` exactly when is_utf8(bytes).
std::string json_string(std::string_view bytes);

// Lowercase hex of every byte.
std::string hex(std::string_view bytes);

// One JSON object on one line, built field by field:
//   JsonObject o; o.text("user", name); o.number("session", 7); std::string line = o.close();
// A text field whose value is not UTF-8 is followed by "<key>_hex" with its exact bytes.
class JsonObject {
  public:
    JsonObject() : out_("{") {}
    // Keys are the program's own. A value longer than `limit` bytes is cut at a character
    // boundary and followed by "<key>_bytes" with its whole length.
    void text(std::string_view key, std::string_view value,
              std::size_t limit = std::string_view::npos);
    void number(std::string_view key, long long value);
    void unsigned_number(std::string_view key, unsigned long long value);
    void real(std::string_view key, double value);  // six decimals
    void boolean(std::string_view key, bool value);
    std::string close() &&;

  private:
    void key(std::string_view key);
    std::string out_;
};

}  // namespace hostgate::protocol::text
