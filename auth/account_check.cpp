#include "auth/account_check.h"

#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"

namespace hostgate::auth {

namespace mysql = protocol::mysql;
namespace text = protocol::text;

Expected<Rule, AccountDenial> check_account(const GrantTable& grants, const AccountRequest& r) {
    const auto access_denied = [&](std::string_view user) {
        return mysql::server_error(
            mysql::ServerError::access_denied,
            deny_message(DenyReason::no_rule_for_user, user, r.client, r.using_password));
    };
    if (const std::size_t n = text::characters(r.user); n > r.max_user_name_length)
        return Unexpected(AccountDenial{
            AccountDenial::Kind::user_name_too_long,
            "a user name of " + std::to_string(n) + " characters, over max_user_name_length (" +
                std::to_string(r.max_user_name_length) + ")",
            access_denied(text::first_characters(r.user, r.max_user_name_length)), std::nullopt});
    const Decision d = grants.decide(r.user, r.client);
    if (!d.allowed())
        return Unexpected(AccountDenial{AccountDenial::Kind::no_rule_for_user,
                                        "no rule for this user from this address",
                                        access_denied(r.user), std::nullopt});
    if (auto why = unmet(d.rule->options.require, r.tls))
        return Unexpected(AccountDenial{AccountDenial::Kind::require_not_met,
                                        d.rule->account() + " " + *why, access_denied(r.user),
                                        *d.rule});
    return *d.rule;
}

}  // namespace hostgate::auth
