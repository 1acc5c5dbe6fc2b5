#include "auth/explain.h"

#include <algorithm>

namespace hostgate::auth {
namespace {

std::string where(const Rule& r) {
    if (!r.origin.empty()) return " (" + r.origin + ")";
    return r.line ? " (line " + std::to_string(r.line) + ")" : "";
}

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

}  // namespace

std::string explain(const GrantTable& table, std::string_view user, const ClientHost& client) {
    const Decision d = table.decide(user, client);
    const std::string address = client.address.normalized().to_string();
    std::string out;
    if (d.allowed()) {
        out += "allow: " + d.rule->account() + where(*d.rule) + " applies to " +
               quote_account_part(user) + "@" + address + "\n";
        out += "  host " + quote_account_part(d.rule->host.text()) + ": " +
               d.rule->host.describe() + "\n";
        out += std::string("  user: ") +
               (d.rule->user.empty() ? "anonymous, matches any user" : "exact match") + "\n";
        const std::string options = format_options(d.rule->options);
        out += "  options: " + (options.empty() ? std::string("none") : options) + "\n";
    } else {
        const unsigned code = deny_error_code(d.reason);
        out += "deny: ERROR " + std::to_string(code) +
               (code == 1045 ? " (28000): " : " (HY000): ") +
               deny_message(d.reason, user, client, true) + "\n";
        const std::string from =
            address + (client.endpoint.empty() ? "" : " through endpoint " + client.endpoint);
        if (d.reason == DenyReason::no_rule_for_host) {
            out += "  no rule matches " + from + "; the client is refused before the greeting\n";
        } else {
            out += "  rules match " + from + ", but none is for user " + quote_account_part(user) +
                   " or anonymous\n";
        }
    }
    if (client.name) out += "  host name: " + *client.name + "\n";
    if (!client.endpoint.empty()) out += "  endpoint: " + client.endpoint + "\n";

    out += "rules in match order:\n";
    if (table.rules().empty()) out += "  (none)\n";
    std::size_t width = 0;
    for (const Rule& r : table.rules()) width = std::max(width, r.account().size());
    for (const RuleCheck& c : table.check_all(user, client)) {
        const std::string source = !c.rule->origin.empty() ? c.rule->origin
                                   : c.rule->line          ? "line " + std::to_string(c.rule->line)
                                                           : "";
        std::string line = "  " + pad(source, 10) + pad(c.rule->account(), width + 2);
        line += c.host_matches ? "host yes" : "host no ";
        if (c.host_matches && !c.rule->options.endpoint.empty())
            line += c.endpoint_matches ? "  endpoint yes" : "  endpoint no";
        if (c.host_matches && c.endpoint_matches)
            line += c.user_matches ? "  user yes" : "  user no";
        if (c.rule == d.rule) line += "  <- applies";
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
    return out;
}

}  // namespace hostgate::auth
