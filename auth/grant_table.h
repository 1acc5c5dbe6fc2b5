#pragma once
// The grant rules in force, in MySQL's match order, and the decision for one client.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/host_pattern.h"
#include "auth/tls_requirement.h"

namespace hostgate::auth {

struct RuleOptions {
    TlsRequirement require;             // REQUIRE SSL, X509, ISSUER, SUBJECT, CIPHER
    unsigned max_user_connections = 0;  // 0: no limit, as in MySQL
    std::string backend;                // backend group; empty: the default group
    // Only clients that came through this cloud endpoint (ClientHost::endpoint) match the rule;
    // empty: any client, with an endpoint or without.
    std::string endpoint;

    bool operator==(const RuleOptions&) const = default;
};

struct Rule {
    std::string user;  // empty: the anonymous user, matching any user name
    HostPattern host;
    RuleOptions options;
    std::size_t line = 0;  // where it was defined, for people; 0 if not from a file
    std::string origin;    // empty: the grants file; otherwise where else it came from

    // "'app'@'10.1.%'", quoted as MySQL prints accounts.
    std::string account() const;
    // What tells rules apart: the account, and the endpoint when the rule names one. Two rules
    // may share an account through different endpoints (tenants with the same addresses).
    std::string key() const;
    // The host matches the client, and so does the endpoint if the rule names one. The user is
    // the caller's part.
    bool matches(const ClientHost& client) const;
    bool operator==(const Rule&) const = default;
};

enum class DenyReason {
    no_rule_for_host,  // no rule of any user matches the address: ERR 1130 before the greeting
    no_rule_for_user,  // rules match the address, none for this user: ERR 1045
};

struct Decision {
    const Rule* rule = nullptr;  // the rule that applies; nullptr when denied
    DenyReason reason = DenyReason::no_rule_for_host;

    bool allowed() const { return rule != nullptr; }
    static Decision allow(const Rule& r) { return {&r, {}}; }
    static Decision deny(DenyReason why) { return {nullptr, why}; }
    bool operator==(const Decision&) const = default;
};

// One rule's verdict for a client, for `explain`.
struct RuleCheck {
    const Rule* rule;
    bool host_matches;
    bool endpoint_matches;  // true for a rule that names no endpoint
    bool user_matches;
};

class GrantTable {
  public:
    GrantTable() = default;
    // Sorts the rules into MySQL's order: host specificity (literal/network before wildcards, a
    // later first wildcard before an earlier one, '%' then '' last), then user specificity (the
    // anonymous user last). Ties, which MySQL leaves undefined, go to the narrower network, then
    // to the rule defined first.
    explicit GrantTable(std::vector<Rule> rules);

    // The first rule, in match order, that matches the client (host, and endpoint if it names
    // one) and whose user is this user or anonymous; otherwise why not.
    Decision decide(std::string_view user, const ClientHost& client) const;

    // True when any rule matches the client, users aside (MySQL's check before the greeting).
    bool host_allowed(const ClientHost& client) const;

    // Every rule in match order with its verdict for this client: what `explain` shows.
    std::vector<RuleCheck> check_all(std::string_view user, const ClientHost& client) const;

    const std::vector<Rule>& rules() const { return rules_; }

  private:
    std::vector<Rule> rules_;
};

// MySQL's error text for a denial, without the code: what a client would see.
// no_rule_for_host: "Host '10.0.0.1' is not allowed to connect to this MySQL server"
// no_rule_for_user: "Access denied for user 'bob'@'10.0.0.1' (using password: YES)"
std::string deny_message(DenyReason reason, std::string_view user, const ClientHost& client,
                         bool using_password);
// 1130 or 1045.
unsigned deny_error_code(DenyReason reason);

// MySQL's ER_TOO_MANY_USER_CONNECTIONS text, for a rule whose MAX_USER_CONNECTIONS places,
// `current` of them, are all taken: "User 'app' has exceeded the 'max_user_connections' resource
// (current value: 20)". Sent with 1226 (42000).
std::string max_user_connections_message(std::string_view user, unsigned current);

// Quotes a user or host so that the grants file reads it back unchanged: 'it''s', 'a\\b'.
std::string quote_account_part(std::string_view text);

// The options as grants-file text: "REQUIRE SSL MAX_USER_CONNECTIONS 20 BACKEND replicas
// ENDPOINT 'vpce-0a1b'"; empty when none is set.
std::string format_options(const RuleOptions& options);

}  // namespace hostgate::auth
