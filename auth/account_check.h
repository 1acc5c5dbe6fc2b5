#pragma once
// The check a login and a COM_CHANGE_USER share, as one decision: the user name's length, the
// rule for this user from this client, and its REQUIRE (auth/tls_requirement.h). What holds places
// (MAX_USER_CONNECTIONS) and where the session may go (BACKEND) are the caller's.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/grant_table.h"
#include "protocol/expected.h"
#include "protocol/mysql_messages.h"

namespace hostgate::auth {

struct AccountRequest {
    std::string_view user;
    ClientHost client;
    TlsFacts tls;                 // what the client's TLS shows
    bool using_password = false;  // for the error's "(using password: YES)"
    unsigned max_user_name_length = 0;
};

struct AccountDenial {
    enum class Kind : std::uint8_t {
        user_name_too_long,    // over max_user_name_length
        no_rule_for_user,      // no rule for this user from this client
        require_not_met,       // the rule's REQUIRE, against the client's TLS
        max_user_connections,  // the rule's MAX_USER_CONNECTIONS places are taken
    };
    Kind kind;
    std::string reason;                // for the log and the audit
    protocol::mysql::ErrPacket error;  // for the client: 1045, as MySQL sends it
    std::optional<Rule> rule;          // the rule that matched, if one did (its REQUIRE)
};

// The rule the user is allowed by, or why not: a name longer than max_user_name_length
// characters (refused before the grants, the name in the error cut to the limit), no rule for
// this user from this client, or a REQUIRE the client's TLS does not meet.
Expected<Rule, AccountDenial> check_account(const GrantTable& grants, const AccountRequest& r);

}  // namespace hostgate::auth
