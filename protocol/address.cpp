#include "protocol/address.h"

#include <charconv>

namespace hostgate::protocol {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::optional<int> hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return std::nullopt;
}

// A decimal number of at most max_digits digits, no leading zero, no sign.
std::optional<unsigned> parse_decimal(std::string_view text, std::size_t max_digits) {
    if (text.empty() || text.size() > max_digits) return std::nullopt;
    if (text.size() > 1 && text[0] == '0') return std::nullopt;
    unsigned value = 0;
    for (char c : text) {
        if (!is_digit(c)) return std::nullopt;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value;
}

}  // namespace

IpAddress IpAddress::v4(std::array<std::uint8_t, 4> octets) {
    IpAddress a;
    a.family_ = Family::v4;
    std::copy(octets.begin(), octets.end(), a.bytes_.begin());
    return a;
}

IpAddress IpAddress::v6(std::array<std::uint8_t, 16> octets) {
    IpAddress a;
    a.family_ = Family::v6;
    a.bytes_ = octets;
    return a;
}

bool IpAddress::is_v4_mapped() const {
    if (!is_v6()) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes_[i] != 0) return false;
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

IpAddress IpAddress::unmapped() const {
    if (!is_v4_mapped()) return *this;
    return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

bool IpAddress::is_v4_compatible() const {
    if (!is_v6()) return false;
    for (int i = 0; i < 12; ++i)
        if (bytes_[i] != 0) return false;
    return bytes_[12] != 0 || bytes_[13] != 0 || bytes_[14] != 0 || bytes_[15] > 1;
}

IpAddress IpAddress::normalized() const {
    if (!is_v4_mapped() && !is_v4_compatible()) return *this;
    return v4({bytes_[12], bytes_[13], bytes_[14], bytes_[15]});
}

std::string IpAddress::to_string() const {
    auto dotted = [](const std::uint8_t* b) {
        char buf[16];
        char* end = buf;
        for (int i = 0; i < 4; ++i) {
            if (i) *end++ = '.';
            end = std::to_chars(end, buf + sizeof buf, unsigned{b[i]}).ptr;
        }
        return std::string(buf, end);
    };
    if (is_v4()) return dotted(bytes_.data());

    std::array<unsigned, 8> words{};
    for (int i = 0; i < 8; ++i)
        words[i] = static_cast<unsigned>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
    // Longest run of zero words (the first one on a tie), compressed only when two or more long.
    int best_base = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (words[i] != 0) {
            ++i;
            continue;
        }
        int j = i;
        while (j < 8 && words[j] == 0) ++j;
        if (j - i > best_len) best_base = i, best_len = j - i;
        i = j;
    }
    if (best_len < 2) best_base = -1;

    std::string out;
    for (int i = 0; i < 8; ++i) {
        if (best_base >= 0 && i >= best_base && i < best_base + best_len) {
            if (i == best_base) out += ':';
            continue;
        }
        if (i != 0) out += ':';
        // inet_ntop prints an embedded IPv4 address for ::a.b.c.d and ::ffff:a.b.c.d.
        if (i == 6 && best_base == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
            out += dotted(bytes_.data() + 12);
            return out;
        }
        char hex[8];
        out.append(hex, std::to_chars(hex, hex + sizeof hex, words[i], 16).ptr);
    }
    if (best_base >= 0 && best_base + best_len == 8) out += ':';
    return out;
}

std::optional<IpAddress> parse_ipv4(std::string_view text) {
    std::array<std::uint8_t, 4> octets{};
    for (int i = 0; i < 4; ++i) {
        const auto dot = text.find('.');
        const bool last = i == 3;
        if (last != (dot == std::string_view::npos)) return std::nullopt;
        const auto value = parse_decimal(text.substr(0, dot), 3);
        if (!value || *value > 255) return std::nullopt;
        octets[i] = static_cast<std::uint8_t>(*value);
        text = last ? std::string_view{} : text.substr(dot + 1);
    }
    return IpAddress::v4(octets);
}

std::optional<IpAddress> parse_ipv6(std::string_view text) {
    std::array<std::uint8_t, 16> out{};
    int words = 0;  // 16-bit words written so far
    int gap = -1;   // word index where "::" stands
    std::size_t i = 0;

    if (text.starts_with("::")) {
        gap = 0;
        i = 2;
        if (text.size() == 2) return IpAddress::v6(out);
    } else if (text.starts_with(":")) {
        return std::nullopt;
    }
    while (i < text.size()) {
        if (words == 8) return std::nullopt;
        // A dotted quad may stand for the last two words.
        const auto next_colon = text.find(':', i);
        const auto group = text.substr(
            i, next_colon == std::string_view::npos ? std::string_view::npos : next_colon - i);
        if (next_colon == std::string_view::npos && group.find('.') != std::string_view::npos) {
            if (words > 6) return std::nullopt;
            const auto v4 = parse_ipv4(group);
            if (!v4) return std::nullopt;
            for (int k = 0; k < 4; ++k) out[2 * words + k] = v4->raw()[k];
            words += 2;
            i = text.size();
            break;
        }
        if (group.empty() || group.size() > 4) return std::nullopt;
        unsigned value = 0;
        for (char c : group) {
            const auto d = hex_digit(c);
            if (!d) return std::nullopt;
            value = value << 4 | static_cast<unsigned>(*d);
        }
        out[2 * words] = static_cast<std::uint8_t>(value >> 8);
        out[2 * words + 1] = static_cast<std::uint8_t>(value);
        ++words;
        i += group.size();
        if (i == text.size()) break;
        // Here text[i] == ':'.
        if (i + 1 < text.size() && text[i + 1] == ':') {
            if (gap >= 0) return std::nullopt;
            gap = words;
            i += 2;
        } else {
            ++i;
            if (i == text.size()) return std::nullopt;  // trailing single ':'
        }
    }
    if (gap < 0) {
        if (words != 8) return std::nullopt;
    } else {
        if (words > 7) return std::nullopt;  // "::" must stand for at least one word
        const int tail = words - gap;
        std::array<std::uint8_t, 16> moved{};
        for (int k = 0; k < 2 * gap; ++k) moved[k] = out[k];
        for (int k = 0; k < 2 * tail; ++k) moved[16 - 2 * tail + k] = out[2 * gap + k];
        out = moved;
    }
    return IpAddress::v6(out);
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    return text.find(':') != std::string_view::npos ? parse_ipv6(text) : parse_ipv4(text);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    const auto value = parse_decimal(text, 5);
    if (!value || *value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(*value);
}

std::string Endpoint::to_string() const {
    const auto port_text = std::to_string(port);
    if (address.is_v6()) return "[" + address.to_string() + "]:" + port_text;
    return address.to_string() + ":" + port_text;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
    std::optional<IpAddress> address;
    std::string_view port_text;
    if (text.starts_with("[")) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) return std::nullopt;
        address = parse_ipv6(text.substr(1, close - 1));
        port_text = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        address = parse_ipv4(text.substr(0, colon));
        port_text = text.substr(colon + 1);
    }
    const auto port = parse_port(port_text);
    if (!address || !port) return std::nullopt;
    return Endpoint{*address, *port};
}

bool host_bits_zero(const IpAddress& address, unsigned prefix_length) {
    const unsigned bits = static_cast<unsigned>(address.size()) * 8;
    for (unsigned bit = prefix_length; bit < bits; ++bit)
        if (address.raw()[bit / 8] & (0x80u >> (bit % 8))) return false;
    return true;
}

std::optional<IpNetwork> make_network(const IpAddress& address, unsigned prefix_length) {
    if (prefix_length > address.size() * 8) return std::nullopt;
    auto raw = address.raw();
    for (unsigned bit = prefix_length; bit < address.size() * 8; ++bit)
        raw[bit / 8] = static_cast<std::uint8_t>(raw[bit / 8] & ~(0x80u >> (bit % 8)));
    IpAddress base =
        address.is_v4() ? IpAddress::v4({raw[0], raw[1], raw[2], raw[3]}) : IpAddress::v6(raw);
    return IpNetwork{base, prefix_length};
}

bool IpNetwork::contains(const IpAddress& address) const {
    if (address.family() != base.family()) return false;
    const auto& a = address.raw();
    const auto& b = base.raw();
    unsigned bit = 0;
    for (; bit + 8 <= prefix_length; bit += 8)
        if (a[bit / 8] != b[bit / 8]) return false;
    if (bit < prefix_length) {
        const auto mask = static_cast<std::uint8_t>(0xFF00u >> (prefix_length - bit));
        if ((a[bit / 8] & mask) != b[bit / 8]) return false;
    }
    return true;
}

IpNetwork IpNetwork::unmapped() const {
    if (!base.is_v4_mapped() || prefix_length < 96) return *this;
    return IpNetwork{base.normalized(), prefix_length - 96};
}

std::string IpNetwork::to_string() const {
    return base.to_string() + "/" + std::to_string(prefix_length);
}

}  // namespace hostgate::protocol
