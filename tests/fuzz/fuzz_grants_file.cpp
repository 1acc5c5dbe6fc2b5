// libFuzzer target: the grants file parser, decisions over what it accepts, and format -> parse
// round trips.
#include <cstdlib>
#include <string_view>

#include "auth/grant_table.h"
#include "auth/grants_file.h"

using namespace hostgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto rules = auth::parse_grants(text);
    if (!rules) {
        if (rules.error().line == 0 || rules.error().column == 0) std::abort();
        return 0;
    }
    std::string written;
    for (const auth::Rule& r : *rules) written += auth::format_rule(r) + "\n";
    auto again = auth::parse_grants(written);
    if (!again || again->size() != rules->size()) std::abort();
    for (std::size_t i = 0; i < rules->size(); ++i) {
        auth::Rule a = (*rules)[i], b = (*again)[i];
        a.line = b.line = 0;
        if (!(a == b)) std::abort();
    }

    const auth::GrantTable table(std::move(*rules));
    const auth::ClientHost clients[] = {
        {*protocol::parse_ip("10.1.2.3"), std::nullopt},
        {*protocol::parse_ip("2001:db8::1"), std::string("db1.example.com")},
        {*protocol::parse_ip("::ffff:192.168.1.7"), std::nullopt},
        {*protocol::parse_ip("10.0.0.5"), std::nullopt, "vpce-0a1b2c3d4e5f67890"},
    };
    for (const auto& client : clients) {
        const auth::Decision d = table.decide("app", client);
        if (d.allowed() != (d.rule != nullptr)) std::abort();
        if (d.allowed() && !table.host_allowed(client)) std::abort();
        // A rule with ENDPOINT applies only through that endpoint.
        if (d.allowed() && !d.rule->options.endpoint.empty() &&
            d.rule->options.endpoint != client.endpoint)
            std::abort();
    }
    return 0;
}
