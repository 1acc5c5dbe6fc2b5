#include "auth/trusted_networks.h"

#include <algorithm>

namespace hostgate::auth {

Expected<TrustedNetworks, Error> TrustedNetworks::parse(const std::vector<std::string>& entries) {
    TrustedNetworks out;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        const std::string_view entry = entries[i];
        auto fail = [&](const std::string& why) {
            return Unexpected(Error{make_error_code(errc::bad_network),
                                    "trusted network '" + std::string(entry) + "': " + why, 0,
                                    i + 1});
        };
        const auto slash = entry.find('/');
        auto address = protocol::parse_ip(entry.substr(0, slash));
        if (!address) return fail("not an IP address");
        unsigned prefix = static_cast<unsigned>(address->size() * 8);
        if (slash != std::string_view::npos) {
            const auto bits = protocol::parse_port(entry.substr(slash + 1));
            if (!bits || *bits > prefix) return fail("prefix length out of range");
            prefix = *bits;
        }
        if (!protocol::host_bits_zero(*address, prefix))
            return fail("address bits set past the prefix; did you mean " +
                        protocol::make_network(*address, prefix)->to_string() + "?");
        out.networks_.push_back(protocol::make_network(*address, prefix)->unmapped());
    }
    return out;
}

bool TrustedNetworks::contains(const protocol::IpAddress& peer) const {
    const auto address = peer.normalized();
    return std::any_of(networks_.begin(), networks_.end(),
                       [&](const protocol::IpNetwork& n) { return n.contains(address); });
}

}  // namespace hostgate::auth
