#pragma once
// Text result sets, as a server writes them for COM_QUERY: column count, column definitions
// (Protocol::ColumnDefinition41), an EOF unless CLIENT_DEPRECATE_EOF, the rows, and a closing EOF
// (or OK with the 0xFE header under CLIENT_DEPRECATE_EOF).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/byte_io.h"
#include "protocol/mysql_messages.h"

namespace hostgate::protocol::mysql {

namespace column_type {
inline constexpr std::uint8_t kLong = 0x03;
inline constexpr std::uint8_t kDouble = 0x05;
inline constexpr std::uint8_t kLongLong = 0x08;
inline constexpr std::uint8_t kVarString = 0xFD;
}  // namespace column_type

inline constexpr std::uint8_t kUtf8GeneralCi = 33;     // utf8mb3: no code point past U+FFFF
inline constexpr std::uint8_t kUtf8mb4GeneralCi = 45;  // all of UTF-8
inline constexpr std::uint8_t kBinary = 63;

struct ColumnDefinition {
    std::string catalog = "def";
    std::string schema;
    std::string table;
    std::string org_table;
    std::string name;
    std::string org_name;
    std::uint16_t character_set = kUtf8GeneralCi;
    std::uint32_t column_length = 0;
    std::uint8_t type = column_type::kVarString;
    std::uint16_t flags = 0;
    std::uint8_t decimals = 0;

    bool operator==(const ColumnDefinition&) const = default;
};
Decoded<ColumnDefinition> decode_column_definition(ByteSpan payload);
void encode_column_definition(const ColumnDefinition& c, Bytes& out);

// A text row: each value a length-encoded string, NULL as 0xFB.
using TextRow = std::vector<std::optional<std::string>>;
Decoded<TextRow> decode_text_row(ByteSpan payload, std::size_t columns);
void encode_text_row(const TextRow& row, Bytes& out);

// A whole result set as framed packets starting at `sequence_id` (1 for a COM_QUERY answer),
// shaped by the client's capabilities (CLIENT_DEPRECATE_EOF). Returns the next sequence id.
// A row whose width is not the number of columns is a programming error: std::invalid_argument,
// before anything is written.
std::uint8_t write_result_set(Bytes& out, std::uint8_t sequence_id,
                              std::uint32_t client_capabilities,
                              const std::vector<ColumnDefinition>& columns,
                              const std::vector<TextRow>& rows);

}  // namespace hostgate::protocol::mysql
