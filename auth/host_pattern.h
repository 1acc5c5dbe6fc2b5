#pragma once
// The host part of a 'user'@'host' account, with MySQL's matching and ordering semantics.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/error.h"
#include "protocol/address.h"
#include "protocol/expected.h"

namespace hostgate::auth {

// Who is connecting, as the grant check sees it.
struct ClientHost {
    protocol::IpAddress address;      // the real client address (v4-mapped is matched as IPv4)
    std::optional<std::string> name;  // its host name, only when name resolution is on
    // The cloud private endpoint it came through (a PROXY v2 TLV from a trusted balancer); empty
    // when none. Tenants behind such a service can share addresses: this tells them apart.
    std::string endpoint;
};

class HostPattern {
  public:
    enum class Kind : std::uint8_t {
        any,          // '%'
        empty,        // '' : any host, ordered after '%'
        address,      // a literal IPv4 or IPv6 address
        network,      // IPv4 addr/netmask, or CIDR addr/len (v4 and v6)
        ip_wildcard,  // an IP-looking pattern with % or _, matched against the address text
        localhost,    // 'localhost': unix-socket clients only, so never a TCP client
        host_name,    // a host name, literal or with wildcards: needs name resolution
    };

    // A pattern from its account text; an error (bad_host) says what is wrong with it.
    static Expected<HostPattern, Error> parse(std::string_view text);

    // True when the pattern matches this client. IP patterns look at the address only, host-name
    // patterns at the resolved name only.
    bool matches(const ClientHost& client) const;

    // MySQL's host sort value: 128 without wildcards, the 1-based position of the first wildcard
    // (at most 127) otherwise, 0 for ''. Higher sorts first.
    unsigned specificity() const { return specificity_; }
    // log2 of how many addresses a network covers (32 - prefix for IPv4, 128 - prefix for
    // IPv6); 0 for a literal and for every other kind. Orders equally specific rules: the
    // narrower network first.
    unsigned span_bits() const { return span_bits_; }

    Kind kind() const { return kind_; }
    const std::string& text() const { return text_; }
    // One line for people: "IPv4 network 10.0.0.0/16 (netmask form)", "any host", ...
    std::string describe() const;

    bool operator==(const HostPattern&) const = default;

  private:
    Kind kind_ = Kind::any;
    std::string text_;
    protocol::IpNetwork network_;  // address and network kinds
    unsigned specificity_ = 0;
    unsigned span_bits_ = 0;
};

// MySQL's sort value of a user or host string (get_sort in sql_acl): see specificity().
unsigned mysql_sort_value(std::string_view text);

// Case-insensitive LIKE-style match: % any run, _ one character, \ escapes the next character.
bool wildcard_match(std::string_view pattern, std::string_view text);

}  // namespace hostgate::auth
