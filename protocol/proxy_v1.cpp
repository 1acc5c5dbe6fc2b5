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
        return NeedMore{text.size() + 1};
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
