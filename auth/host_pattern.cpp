#include "auth/host_pattern.h"

#include <algorithm>
#include <cctype>

namespace hostgate::auth {
namespace {

using protocol::IpAddress;

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}
bool is_wild(char c) {
    return c == '%' || c == '_';
}

Error bad_host(std::string message) {
    return Error{make_error_code(errc::bad_host), std::move(message)};
}

// IPv4-looking: digits, dots and wildcards only. IPv6-looking: a ':' and otherwise hex digits,
// dots and wildcards. Such patterns are matched against the client address, never a host name.
bool looks_like_ip(std::string_view text) {
    const bool has_colon = text.find(':') != std::string_view::npos;
    return std::all_of(text.begin(), text.end(), [&](char c) {
        const bool v4_char = std::isdigit(static_cast<unsigned char>(c)) || c == '.' || is_wild(c);
        return v4_char || (has_colon && (c == ':' || std::isxdigit(static_cast<unsigned char>(c))));
    });
}

bool valid_host_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || is_wild(c) ||
           c == '\\';
}

// "255.255.240.0" -> 20; nullopt for a non-contiguous mask.
std::optional<unsigned> netmask_prefix(const IpAddress& mask) {
    unsigned prefix = 0;
    bool ended = false;
    for (std::size_t i = 0; i < 4; ++i) {
        for (int bit = 7; bit >= 0; --bit) {
            const bool set = (mask.raw()[i] >> bit) & 1;
            if (set && ended) return std::nullopt;
            if (set)
                ++prefix;
            else
                ended = true;
        }
    }
    return prefix;
}

}  // namespace

unsigned mysql_sort_value(std::string_view text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            ++i;
        } else if (is_wild(text[i])) {
            return static_cast<unsigned>(std::min<std::size_t>(i + 1, 127));
        }
    }
    return text.empty() ? 0 : 128;
}

bool wildcard_match(std::string_view pattern, std::string_view text) {
    // Iterative matching with one backtrack point for the last '%', as in glob matchers.
    std::size_t p = 0, t = 0;
    std::size_t star_p = std::string_view::npos, star_t = 0;
    while (t < text.size()) {
        if (p < pattern.size()) {
            char pc = pattern[p];
            if (pc == '%') {
                star_p = p++;
                star_t = t;
                continue;
            }
            bool escaped = false;
            if (pc == '\\' && p + 1 < pattern.size()) {
                pc = pattern[p + 1];
                escaped = true;
            }
            if ((pc == '_' && !escaped) || lower(pc) == lower(text[t])) {
                p += escaped ? 2 : 1;
                ++t;
                continue;
            }
        }
        if (star_p == std::string_view::npos) return false;
        p = star_p + 1;
        t = ++star_t;
    }
    while (p < pattern.size() && pattern[p] == '%') ++p;
    return p == pattern.size();
}

Expected<HostPattern, Error> HostPattern::parse(std::string_view text) {
    HostPattern h;
    h.text_ = std::string(text);
    h.specificity_ = mysql_sort_value(text);

    if (text.empty()) {
        h.kind_ = Kind::empty;
        return h;
    }
    if (text == "%") {
        h.kind_ = Kind::any;
        return h;
    }
    for (char c : text) {
        if (std::isspace(static_cast<unsigned char>(c)) ||
            std::iscntrl(static_cast<unsigned char>(c)))
            return Unexpected(
                bad_host("host '" + h.text_ + "' contains white space or a control character"));
    }
    std::string lowered(text);
    std::transform(lowered.begin(), lowered.end(), lowered.begin(), lower);
    if (lowered == "localhost") {
        h.kind_ = Kind::localhost;
        return h;
    }

    if (const auto slash = text.find('/'); slash != std::string_view::npos) {
        const auto base_text = text.substr(0, slash), suffix = text.substr(slash + 1);
        auto base = protocol::parse_ip(base_text);
        if (!base)
            return Unexpected(
                bad_host("'" + std::string(base_text) + "' before '/' is not an IP address"));
        std::optional<unsigned> prefix;
        std::string form = "CIDR";
        if (suffix.find('.') != std::string_view::npos) {
            const auto mask = protocol::parse_ipv4(suffix);
            if (!base->is_v4() || !mask)
                return Unexpected(bad_host("'" + std::string(suffix) + "' is not an IPv4 netmask"));
            prefix = netmask_prefix(*mask);
            if (!prefix)
                return Unexpected(
                    bad_host("netmask " + std::string(suffix) + " is not contiguous"));
            form = "netmask";
        } else {
            const auto bits =
                protocol::parse_port(suffix);  // a plain decimal without leading zeros
            if (!bits || *bits > base->size() * 8)
                return Unexpected(bad_host("'/" + std::string(suffix) +
                                           "' is not a prefix length for " +
                                           (base->is_v4() ? "IPv4 (0-32)" : "IPv6 (0-128)")));
            prefix = *bits;
        }
        if (!protocol::host_bits_zero(*base, *prefix))
            return Unexpected(bad_host("'" + h.text_ + "' has address bits set outside its " +
                                       form + " mask; did you mean " +
                                       protocol::make_network(*base, *prefix)->to_string() + "?"));
        h.kind_ = Kind::network;
        h.network_ = protocol::make_network(*base, *prefix)->unmapped();
        h.span_bits_ = static_cast<unsigned>(h.network_.base.size() * 8) - h.network_.prefix_length;
        return h;
    }

    const bool wild = std::any_of(text.begin(), text.end(), is_wild);
    if (looks_like_ip(text)) {
        if (wild) {
            h.kind_ = Kind::ip_wildcard;
            return h;
        }
        auto address = protocol::parse_ip(text);
        if (!address) return Unexpected(bad_host("'" + h.text_ + "' is not a valid IP address"));
        h.kind_ = Kind::address;
        // A literal pattern is only unmapped: MySQL compares '::a.b.c.d' with the client's
        // normalised address, a.b.c.d, and never matches.
        h.network_ = *protocol::make_network(address->unmapped(),
                                             static_cast<unsigned>(address->unmapped().size() * 8));
        return h;
    }
    if (!std::all_of(text.begin(), text.end(), valid_host_name_char))
        return Unexpected(bad_host("'" + h.text_ + "' is neither an IP address nor a host name"));
    h.kind_ = Kind::host_name;
    return h;
}

bool HostPattern::matches(const ClientHost& client) const {
    switch (kind_) {
        case Kind::any:
        case Kind::empty:
            return true;
        case Kind::address:
        case Kind::network:
            return network_.contains(client.address.normalized());
        case Kind::ip_wildcard:
            return wildcard_match(text_, client.address.normalized().to_string());
        case Kind::localhost:
            return false;
        case Kind::host_name:
            return client.name && wildcard_match(text_, *client.name);
    }
    return false;
}

std::string HostPattern::describe() const {
    switch (kind_) {
        case Kind::any:
            return "any host";
        case Kind::empty:
            return "any host (empty host, ordered after '%')";
        case Kind::address:
            return std::string(network_.base.is_v4() ? "IPv4" : "IPv6") + " address " +
                   network_.base.to_string();
        case Kind::network:
            return std::string(network_.base.is_v4() ? "IPv4" : "IPv6") + " network " +
                   network_.to_string() +
                   (text_.find('.', text_.find('/')) != std::string::npos ? " (netmask form)" : "");
        case Kind::ip_wildcard:
            return "IP address pattern, first wildcard at position " + std::to_string(specificity_);
        case Kind::localhost:
            return "unix-socket clients only, never a TCP client";
        case Kind::host_name:
            return std::any_of(text_.begin(), text_.end(), is_wild)
                       ? "host name pattern (needs name resolution)"
                       : "host name (needs name resolution)";
    }
    return {};
}

}  // namespace hostgate::auth
