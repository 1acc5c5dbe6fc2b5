#pragma once
// The auth layer's error domain: what is wrong with a grants file, a host pattern or a network.

#include <cstddef>
#include <string>
#include <system_error>

namespace hostgate::auth {

enum class errc {
    syntax = 1,         // not an account, an option or a comment where one was expected
    bad_user,           // user name too long or not closed
    bad_host,           // host pattern that can never be right (bad address, mask, characters)
    unknown_option,     // an option hostgate does not know
    duplicate_option,   // the same option twice on one rule
    bad_value,          // an option's value is out of range or missing
    duplicate_account,  // the same 'user'@'host' on two lines
    bad_network,        // a trusted network that is not an address or CIDR block
};
const std::error_category& error_category();
inline std::error_code make_error_code(errc e) {
    return {static_cast<int>(e), error_category()};
}

// An error with what a person needs to fix it. line and column are 1-based; 0 when they do not
// apply (a pattern parsed on its own).
struct Error {
    std::error_code code;
    std::string message;
    std::size_t line = 0;
    std::size_t column = 0;

    // "grants.conf:3:12: unknown option 'REQUIRE_SSL'"
    std::string to_string(const std::string& source = "") const;
    bool operator==(const Error&) const = default;
};

}  // namespace hostgate::auth

template <>
struct std::is_error_code_enum<hostgate::auth::errc> : std::true_type {};
