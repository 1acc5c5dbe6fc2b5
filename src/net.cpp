#include "src/net.h"

namespace hostgate {

protocol::Endpoint to_endpoint(const tcp::endpoint& e) {
    protocol::Endpoint out;
    out.port = e.port();
    if (e.address().is_v4()) {
        out.address = protocol::IpAddress::v4(e.address().to_v4().to_bytes());
    } else {
        out.address = protocol::IpAddress::v6(e.address().to_v6().to_bytes());
    }
    return out;
}

tcp::endpoint to_asio(const protocol::Endpoint& e) {
    const auto& raw = e.address.raw();
    if (e.address.is_v4()) return {asio::ip::address_v4({raw[0], raw[1], raw[2], raw[3]}), e.port};
    return {asio::ip::address_v6(raw), e.port};
}

}  // namespace hostgate
