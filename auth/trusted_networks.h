#pragma once
// The peers allowed to send a PROXY header: a set of IPv4/IPv6 addresses and CIDR blocks.

#include <string>
#include <string_view>
#include <vector>

#include "auth/error.h"
#include "protocol/address.h"
#include "protocol/expected.h"

namespace hostgate::auth {

class TrustedNetworks {
  public:
    TrustedNetworks() = default;  // trusts nobody

    // Each entry an address ("10.0.0.10", "::1") or a CIDR block ("10.1.0.0/16", "fd00::/8").
    // An entry with host bits set past its prefix is refused: "10.1.2.3/16" is most likely a typo.
    // The error (bad_network) names the entry by its index in `column`.
    static Expected<TrustedNetworks, Error> parse(const std::vector<std::string>& entries);

    // True when the peer (v4-mapped addresses as IPv4) is in any of the networks.
    bool contains(const protocol::IpAddress& peer) const;

    const std::vector<protocol::IpNetwork>& networks() const { return networks_; }

  private:
    std::vector<protocol::IpNetwork> networks_;
};

}  // namespace hostgate::auth
