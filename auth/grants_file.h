#pragma once
// The grants file: one account per line in MySQL account syntax, options after it, # comments.
//
//   'app'@'10.0.0.0/255.255.0.0'
//   'app'@'10.1.%'            REQUIRE SSL
//   'report'@'10.2.0.0/16'    MAX_USER_CONNECTIONS 20  BACKEND replicas
//   ''@'10.9.9.9'             # anonymous: any user from this address
//   'app'@'10.0.0.5'          ENDPOINT 'vpce-0a1b2c3d4e5f67890'  BACKEND tenant_a
//
// Users and hosts are quoted with '', "" or `` (or bare when they are plain identifiers, as in
// MySQL); a user without @host means @'%'. Options: REQUIRE SSL | REQUIRE NONE,
// MAX_USER_CONNECTIONS n, BACKEND name, ENDPOINT 'id' (only clients that came through that cloud
// endpoint). Keywords are case-insensitive. An account may appear once per endpoint.

#include <string_view>
#include <vector>

#include "auth/error.h"
#include "auth/grant_table.h"
#include "protocol/expected.h"

namespace hostgate::auth {

inline constexpr std::size_t kMaxUserLength = 128;  // MariaDB's USERNAME_CHAR_LENGTH
inline constexpr std::size_t kMaxHostLength = 255;  // MariaDB's HOSTNAME_LENGTH

// The rules of a whole file in file order, or the first error with its line and column.
Expected<std::vector<Rule>, Error> parse_grants(std::string_view text);

// One grants-file line for the rule (no newline); parse_grants reads it back as the same rule.
std::string format_rule(const Rule& rule);

}  // namespace hostgate::auth
