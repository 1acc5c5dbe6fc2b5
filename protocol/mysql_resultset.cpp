#include "protocol/mysql_resultset.h"

#include <stdexcept>

#include "protocol/mysql_frame.h"

namespace hostgate::protocol::mysql {

Decoded<ColumnDefinition> decode_column_definition(ByteSpan payload) {
    ByteReader r(payload);
    ColumnDefinition c;
    c.catalog = r.lenenc_string();         // catalog, always "def"
    c.schema = r.lenenc_string();          // schema
    c.table = r.lenenc_string();           // table (alias)
    c.org_table = r.lenenc_string();       // org_table
    c.name = r.lenenc_string();            // name (alias)
    c.org_name = r.lenenc_string();        // org_name
    if (r.lenenc_int() != 0x0C && r.ok())  // length of the fixed fields
        return Unexpected(make_error_code(errc::unexpected_header));
    c.character_set = r.le16();  // character_set
    c.column_length = r.le32();  // column_length
    c.type = r.u8();             // type
    c.flags = r.le16();          // flags
    c.decimals = r.u8();         // decimals
    r.le16();                    // filler
    if (auto e = finish_error(r)) return Unexpected(e);
    return c;
}

void encode_column_definition(const ColumnDefinition& c, Bytes& out) {
    ByteWriter w(out);
    w.lenenc_string(c.catalog);
    w.lenenc_string(c.schema);
    w.lenenc_string(c.table);
    w.lenenc_string(c.org_table);
    w.lenenc_string(c.name);
    w.lenenc_string(c.org_name);
    w.lenenc_int(0x0C);
    w.le16(c.character_set);
    w.le32(c.column_length);
    w.u8(c.type);
    w.le16(c.flags);
    w.u8(c.decimals);
    w.le16(0);
}

Decoded<TextRow> decode_text_row(ByteSpan payload, std::size_t columns) {
    ByteReader r(payload);
    TextRow row;
    for (std::size_t i = 0; i < columns; ++i) {
        if (r.peek() == 0xFB && !r.at_end()) {
            r.u8();
            row.emplace_back(std::nullopt);
        } else {
            row.emplace_back(r.lenenc_string());
        }
    }
    if (auto e = finish_error(r)) return Unexpected(e);
    return row;
}

void encode_text_row(const TextRow& row, Bytes& out) {
    ByteWriter w(out);
    for (const auto& value : row) {
        if (value) {
            w.lenenc_string(*value);
        } else {
            w.u8(0xFB);
        }
    }
}

std::uint8_t write_result_set(Bytes& out, std::uint8_t seq, std::uint32_t caps,
                              const std::vector<ColumnDefinition>& columns,
                              const std::vector<TextRow>& rows) {
    for (const auto& row : rows)
        if (row.size() != columns.size())
            throw std::invalid_argument("a row of " + std::to_string(row.size()) + " values for " +
                                        std::to_string(columns.size()) + " columns");
    const bool deprecate_eof = caps & cap::kDeprecateEof;
    auto eof = [&] {
        Bytes p;
        if (deprecate_eof) {
            encode_ok({.header = header::kEof, .status_flags = status::kAutocommit}, caps, p);
        } else {
            ByteWriter w(p);
            w.u8(header::kEof);
            w.le16(0);                    // warnings
            w.le16(status::kAutocommit);  // status flags
        }
        return p;
    };
    Bytes p;
    ByteWriter(p).lenenc_int(columns.size());
    seq = write_packet(out, seq, p);
    for (const auto& c : columns) {
        p.clear();
        encode_column_definition(c, p);
        seq = write_packet(out, seq, p);
    }
    if (!deprecate_eof) seq = write_packet(out, seq, eof());
    for (const auto& row : rows) {
        p.clear();
        encode_text_row(row, p);
        seq = write_packet(out, seq, p);
    }
    return write_packet(out, seq, eof());
}

}  // namespace hostgate::protocol::mysql
