// libFuzzer target: client-chosen bytes written as log literals, in display form (admin cells and
// whole log lines) and as audit JSON. Every output must be one line of valid UTF-8 with no control
// byte; a log literal must read back to the bytes (or to a prefix, with the right length when
// cut); every JSON line must parse strictly and give the exact bytes back, from the text or from
// its _hex field.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/untrusted_text.h"
#include "tests/support/text_reader.h"

using namespace hostgate;
namespace text = protocol::text;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

bool one_clean_line(std::string_view s) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) return false;
    }
    return test::well_formed_utf8(s);
}

void check_literal(std::string_view bytes, std::size_t limit) {
    const std::string literal = text::log_literal(bytes, limit);
    require(one_clean_line(literal));
    const auto back = test::read_log_literal(literal);
    require(back.has_value());
    if (back->total) {
        require(*back->total == bytes.size());
        require(back->bytes.size() < bytes.size());
        require(bytes.starts_with(back->bytes));
        require(literal.find("'[cut, ") <= limit + 1);
    } else {
        require(back->bytes == bytes);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    // Three fields, their lengths chosen by the first bytes, and a log limit.
    const std::string_view input(reinterpret_cast<const char*>(data) + 3, size - 3);
    const std::size_t a = std::min<std::size_t>(data[0], input.size());
    const std::size_t b = std::min<std::size_t>(data[1], input.size() - a);
    const std::string_view fields[] = {input.substr(0, a), input.substr(a, b), input.substr(a + b)};
    const std::size_t limit = data[2];

    for (const auto field : fields) {
        check_literal(field, limit);
        check_literal(field, text::kLogNameLimit);
        require(one_clean_line(text::display(field)));
    }

    text::JsonObject o;
    o.text("event", "denied_user");
    o.unsigned_number("session", size);
    o.text("user", fields[0]);
    o.text("db", fields[1]);
    o.boolean("tls", data[2] & 1);
    o.text("reason", fields[2]);
    o.text("cut", fields[2], limit);
    o.real("duration_s", static_cast<double>(size) / 7);
    const std::string line = std::move(o).close();
    require(line.find('\n') == std::string::npos);
    const auto parsed = test::FlatJsonReader::read(line);
    require(parsed.has_value());

    auto find = [&](std::string_view key) -> const std::string* {
        for (const auto& [k, v] : *parsed)
            if (k == key) return &std::get<std::string>(v);
        return nullptr;
    };
    const std::pair<std::string_view, std::string_view> texts[] = {
        {"user", fields[0]}, {"db", fields[1]}, {"reason", fields[2]}};
    // The cut field: a start of whole characters within the limit, and the whole length when cut.
    {
        const std::string* value = find("cut");
        require(value != nullptr);
        const std::string* exact = find("cut_hex");
        const std::string kept = exact ? *test::from_hex(*exact) : *value;
        require(kept.size() <= limit);
        require(fields[2].starts_with(kept));
        const bool cut = kept.size() < fields[2].size();
        bool has_bytes = false;
        for (const auto& [k, v] : *parsed) {
            if (k != "cut_bytes") continue;
            has_bytes = true;
            require(std::get<double>(v) == static_cast<double>(fields[2].size()));
        }
        require(has_bytes == cut);
        require(!cut || kept.size() + 4 > limit);  // nothing more than one character short
    }
    for (const auto& [key, bytes] : texts) {
        const std::string* value = find(key);
        require(value != nullptr);
        const std::string* exact = find(std::string(key) + "_hex");
        if (test::well_formed_utf8(bytes)) {
            require(*value == bytes);
            require(exact == nullptr);
        } else {
            require(exact != nullptr);
            require(test::from_hex(*exact) == std::string(bytes));
        }
    }
    return 0;
}
