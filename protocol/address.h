#pragma once
// IP addresses, endpoints and networks as plain values, with strict text forms.

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostgate::protocol {

class IpAddress {
  public:
    enum class Family : std::uint8_t { v4, v6 };

    // 0.0.0.0
    IpAddress() = default;
    static IpAddress v4(std::array<std::uint8_t, 4> octets);
    static IpAddress v6(std::array<std::uint8_t, 16> octets);

    Family family() const { return family_; }
    bool is_v4() const { return family_ == Family::v4; }
    bool is_v6() const { return family_ == Family::v6; }
    // Network-order bytes: 4 for v4, 16 for v6.
    const std::array<std::uint8_t, 16>& raw() const { return bytes_; }
    std::size_t size() const { return is_v4() ? 4 : 16; }

    // True for ::ffff:a.b.c.d.
    bool is_v4_mapped() const;
    // The IPv4 address inside a v4-mapped address; any other address unchanged.
    IpAddress unmapped() const;
    // True for the deprecated IPv4-compatible form ::a.b.c.d, except :: and ::1
    // (IN6_IS_ADDR_V4COMPAT).
    bool is_v4_compatible() const;
    // The address as MySQL and MariaDB see a client (vio_get_normalized_ip): the IPv4 address
    // inside a v4-mapped or v4-compatible address; any other address unchanged.
    IpAddress normalized() const;

    // Dotted quad for v4; for v6 the form glibc's inet_ntop prints (RFC 5952 compression,
    // lower case, ::ffff:a.b.c.d for mapped addresses), which is what MySQL matches patterns
    // against.
    std::string to_string() const;

    auto operator<=>(const IpAddress&) const = default;

  private:
    Family family_ = Family::v4;
    std::array<std::uint8_t, 16> bytes_{};
};

// "a.b.c.d": four decimal parts 0-255, no leading zeros, nothing else. nullopt otherwise.
std::optional<IpAddress> parse_ipv4(std::string_view text);
// RFC 4291 text form (hex groups, one "::", optional trailing dotted quad), no zone id.
std::optional<IpAddress> parse_ipv6(std::string_view text);
// parse_ipv6 if the text contains ':', otherwise parse_ipv4.
std::optional<IpAddress> parse_ip(std::string_view text);

// Decimal 0-65535 without sign, spaces or leading zeros ("0" itself is allowed).
std::optional<std::uint16_t> parse_port(std::string_view text);

struct Endpoint {
    IpAddress address;
    std::uint16_t port = 0;

    // "1.2.3.4:5" or "[::1]:5".
    std::string to_string() const;
    auto operator<=>(const Endpoint&) const = default;
};

// "1.2.3.4:5" or "[v6]:5"; nullopt for anything else.
std::optional<Endpoint> parse_endpoint(std::string_view text);

// A CIDR block. Addresses of the other family are never contained.
struct IpNetwork {
    IpAddress base;  // host bits are zero
    unsigned prefix_length = 0;

    bool contains(const IpAddress& address) const;
    // ::ffff:a.b.c.d/96+n as the IPv4 network a.b.c.d/n; any other network unchanged.
    IpNetwork unmapped() const;
    std::string to_string() const;  // "10.0.0.0/8"
    auto operator<=>(const IpNetwork&) const = default;
};

// The network of the given prefix length around an address (host bits cleared); nullopt when the
// prefix is longer than the address.
std::optional<IpNetwork> make_network(const IpAddress& address, unsigned prefix_length);
// True when the address has no bits set past the prefix.
bool host_bits_zero(const IpAddress& address, unsigned prefix_length);

}  // namespace hostgate::protocol
