#pragma once
// Why a client is allowed or refused, in words: what `hostgate explain` and the admin port's
// EXPLAIN print.

#include <string>
#include <string_view>

#include "auth/grant_table.h"

namespace hostgate::auth {

// Several lines, each ending in '\n':
//   allow: 'app'@'10.1.%' (line 3) applies to 'app'@10.1.2.3
//   deny: ERROR 1045 (28000): Access denied for user 'bob'@'10.1.2.3' (using password: YES)
// then why, the options that hold, and every rule in match order with its verdict.
std::string explain(const GrantTable& table, std::string_view user, const ClientHost& client);

}  // namespace hostgate::auth
