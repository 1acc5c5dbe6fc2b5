// PROXY protocol v1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", or "PROXY UNKNOWN...\r\n".
#include "protocol/proxy_protocol.h"

namespace hostgate::protocol::proxy {
namespace {

std::error_code fail(errc e) {
    return make_error_code(e);
}

// Splits "a b c" on single spaces; empty fields (double spaces, leading/trailing space) are kept
// as empty strings so that the caller rejects them.
std::vector<std::string_view> split_spaces(std::string_view line) {
    std::vector<std::string_view> fields;
    for (;;) {
        const auto sp = line.find(' ');
        fields.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) return fields;
        line.remove_prefix(sp + 1);
    }
}

// How long a line that starts with `text` (no CR yet) is at least, if it is valid: a reader that
// must not read past the header (TLS may follow it) takes it in a few reads this way, not one byte
// at a time. Never more than the length of any valid line that starts so.
std::size_t shortest_line(std::string_view text) {
    const auto fields = split_spaces(text.substr(6));
    const std::size_t one_more = text.size() + 1;
    if (fields.size() == 1) return std::max<std::size_t>(one_more, 15);  // "PROXY UNKNOWN\r\n"
    const bool v4 = fields[0] == "TCP4";
    if (!v4 && fields[0] != "TCP6") return one_more;
    // <src> <dst> <sport> <dport>: "0.0.0.0" or "::" at least, then one digit.
    const std::size_t shortest[] = {v4 ? 7u : 2u, v4 ? 7u : 2u, 1, 1};
    std::size_t total = 6 + fields[0].size() + 4 + 2;  // "PROXY ", the protocol, spaces, CRLF
    for (std::size_t i = 0; i < 4; ++i) {
        const bool complete = i + 2 < fields.size();  // a space follows it
        const std::size_t seen = i + 1 < fields.size() ? fields[i + 1].size() : 0;
        total += complete ? seen : std::max(seen, shortest[i]);
    }
    return std::max(total, one_more);
}

}  // namespace

Parsed<Header> parse_v1(ByteSpan input) {
    const std::string_view text = as_chars(input.first(std::min(input.size(), kV1MaxLength)));
    if (!text.starts_with("PROXY ")) {
        return text.size() < 6 && std::string_view("PROXY ").starts_with(text)
                   ? Parsed<Header>{NeedMore{6}}
                   : Parsed<Header>{fail(errc::bad_signature)};
    }
    // The line ends at the first CR, which must be followed by LF; a bare LF is an error too.
    const auto end = text.find_first_of("\r\n");
    if (end == std::string_view::npos) {
        if (text.size() >= kV1MaxLength) return fail(errc::v1_too_long);
        return NeedMore{std::min(shortest_line(text), kV1MaxLength)};
    }
    if (text[end] == '\n') return fail(errc::v1_bad_line_end);
    if (end + 1 == text.size()) {
        if (text.size() >= kV1MaxLength) return fail(errc::v1_too_long);
        return NeedMore{text.size() + 1};
    }
    if (text[end + 1] != '\n') return fail(errc::v1_bad_line_end);
    const std::size_t consumed = end + 2;

    const auto fields = split_spaces(text.substr(6, end - 6));
    Header h;
    h.version = 1;
    h.command = Command::proxy;
    if (fields[0] == "UNKNOWN") {
        // The spec lets anything follow UNKNOWN; none of it is ever used.
        return Complete<Header>{std::move(h), consumed};
    }
    if (fields[0] != "TCP4" && fields[0] != "TCP6") return fail(errc::v1_bad_protocol);
    if (fields.size() != 5) return fail(errc::v1_bad_syntax);
    const bool v4 = fields[0] == "TCP4";
    h.family = v4 ? Family::inet : Family::inet6;
    h.transport = Transport::stream;

    Endpoint* ends[] = {&h.source, &h.destination};
    for (int i = 0; i < 2; ++i) {
        const auto text_address = fields[1 + i];
        if (text_address.empty()) return fail(errc::v1_bad_syntax);
        auto address = parse_ip(text_address);
        if (!address) return fail(errc::v1_bad_address);
        if (address->is_v4() != v4) return fail(errc::v1_family_mismatch);
        if (fields[3 + i].empty()) return fail(errc::v1_bad_syntax);
        const auto port = parse_port(fields[3 + i]);
        if (!port) return fail(errc::v1_bad_port);
        *ends[i] = Endpoint{*address, *port};
    }
    return Complete<Header>{std::move(h), consumed};
}

void encode_v1(const Header& header, Bytes& out) {
    ByteWriter w(out);
    const bool has_addresses = header.command == Command::proxy &&
                               (header.family == Family::inet || header.family == Family::inet6);
    if (!has_addresses) {
        w.string("PROXY UNKNOWN\r\n");
        return;
    }
    w.string(header.family == Family::inet ? "PROXY TCP4 " : "PROXY TCP6 ");
    w.string(header.source.address.to_string());
    w.string(" ");
    w.string(header.destination.address.to_string());
    w.string(" ");
    w.string(std::to_string(header.source.port));
    w.string(" ");
    w.string(std::to_string(header.destination.port));
    w.string("\r\n");
}

}  // namespace hostgate::protocol::proxy
