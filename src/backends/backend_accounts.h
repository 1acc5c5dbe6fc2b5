#pragma once
// [grants] from_backend: the accounts (User, Host) of a backend's mysql.user, as grant rules.

#include <string>
#include <vector>

#include "auth/grant_table.h"
#include "protocol/expected.h"
#include "src/runtime/config.h"

namespace hostgate {

// Logs in to the first backend of the default group as [monitor] user (with the PROXY header it
// expects) and reads mysql.user. Accounts whose host hostgate cannot read (a pattern it refuses)
// are left out and named in `skipped`. Blocking: for start-up and reloads only.
Expected<std::vector<auth::Rule>, std::string> read_backend_accounts(
    const Config& config, std::vector<std::string>& skipped);

// The file's rules and the backend's; an account in both keeps the file's rule (and options).
std::vector<auth::Rule> merge_rules(std::vector<auth::Rule> file, std::vector<auth::Rule> backend);

}  // namespace hostgate
