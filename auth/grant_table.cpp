#include "auth/grant_table.h"

#include <algorithm>

namespace hostgate::auth {

std::string quote_account_part(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'' || c == '\\')
            out += c;  // doubled: the grants file reads '' as ' and \\ as one
        out += c;
    }
    return out + "'";
}

std::string format_options(const RuleOptions& o) {
    std::string out;
    auto add = [&](const std::string& s) { out += (out.empty() ? "" : " ") + s; };
    if (o.require.kind != TlsRequirement::Kind::none) add(o.require.text());
    if (o.max_user_connections)
        add("MAX_USER_CONNECTIONS " + std::to_string(o.max_user_connections));
    if (!o.backend.empty()) add("BACKEND " + o.backend);
    if (!o.endpoint.empty()) add("ENDPOINT " + quote_account_part(o.endpoint));
    return out;
}

std::string Rule::account() const {
    return quote_account_part(user) + "@" + quote_account_part(host.text());
}

std::string Rule::key() const {
    return options.endpoint.empty()
               ? account()
               : account() + " ENDPOINT " + quote_account_part(options.endpoint);
}

namespace {
bool endpoint_matches(const Rule& r, const ClientHost& client) {
    return r.options.endpoint.empty() || r.options.endpoint == client.endpoint;
}
}  // namespace

bool Rule::matches(const ClientHost& client) const {
    return host.matches(client) && endpoint_matches(*this, client);
}

GrantTable::GrantTable(std::vector<Rule> rules) : rules_(std::move(rules)) {
    std::stable_sort(rules_.begin(), rules_.end(), [](const Rule& a, const Rule& b) {
        if (a.host.specificity() != b.host.specificity())
            return a.host.specificity() > b.host.specificity();
        const unsigned ua = mysql_sort_value(a.user), ub = mysql_sort_value(b.user);
        if (ua != ub) return ua > ub;
        return a.host.span_bits() < b.host.span_bits();
    });
}

Decision GrantTable::decide(std::string_view user, const ClientHost& client) const {
    bool host_seen = false;
    for (const Rule& r : rules_) {
        if (!r.matches(client)) continue;
        host_seen = true;
        if (r.user.empty() || r.user == user) return Decision::allow(r);
    }
    return Decision::deny(host_seen ? DenyReason::no_rule_for_user : DenyReason::no_rule_for_host);
}

bool GrantTable::host_allowed(const ClientHost& client) const {
    return std::any_of(rules_.begin(), rules_.end(),
                       [&](const Rule& r) { return r.matches(client); });
}

std::vector<RuleCheck> GrantTable::check_all(std::string_view user,
                                             const ClientHost& client) const {
    std::vector<RuleCheck> out;
    out.reserve(rules_.size());
    for (const Rule& r : rules_)
        out.push_back({&r, r.host.matches(client), endpoint_matches(r, client),
                       r.user.empty() || r.user == user});
    return out;
}

std::string deny_message(DenyReason reason, std::string_view user, const ClientHost& client,
                         bool using_password) {
    const std::string address = client.address.normalized().to_string();
    if (reason == DenyReason::no_rule_for_host)
        return "Host '" + address + "' is not allowed to connect to this MySQL server";
    return "Access denied for user '" + std::string(user) + "'@'" + address +
           "' (using password: " + (using_password ? "YES" : "NO") + ")";
}

std::string max_user_connections_message(std::string_view user, unsigned current) {
    return "User '" + std::string(user) +
           "' has exceeded the 'max_user_connections' resource (current value: " +
           std::to_string(current) + ")";
}

unsigned deny_error_code(DenyReason reason) {
    return reason == DenyReason::no_rule_for_host ? 1130 : 1045;
}

}  // namespace hostgate::auth
