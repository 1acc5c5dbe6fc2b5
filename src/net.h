#pragma once
// asio names used across the daemon, in one place.

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl.hpp>

#include "protocol/address.h"

namespace hostgate {

using asio::awaitable;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

// A completion token that returns (error_code, results...) instead of throwing.
inline constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

// asio endpoint <-> protocol::Endpoint.
protocol::Endpoint to_endpoint(const tcp::endpoint& e);
tcp::endpoint to_asio(const protocol::Endpoint& e);

}  // namespace hostgate
