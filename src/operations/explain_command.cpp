#include "src/operations/explain_command.h"

#include <fstream>
#include <sstream>

#include "auth/explain.h"
#include "auth/grants_file.h"

namespace hostgate {

int run_explain(const ExplainArgs& args, std::ostream& out, std::ostream& err) {
    const auto address = protocol::parse_ip(args.address);
    if (!address) {
        err << "hostgate explain: '" << args.address << "' is not an IPv4 or IPv6 address\n";
        return 2;
    }
    std::ifstream file(args.grants_file, std::ios::binary);
    if (!file) {
        err << "hostgate explain: cannot read " << args.grants_file << "\n";
        return 2;
    }
    std::stringstream text;
    text << file.rdbuf();
    auto rules = auth::parse_grants(text.str());
    if (!rules) {
        err << rules.error().to_string(args.grants_file) << "\n";
        return 2;
    }
    const auth::GrantTable table(std::move(*rules));
    const auth::ClientHost client{*address, args.host_name, args.endpoint};
    out << auth::explain(table, args.user, client);
    return table.decide(args.user, client).allowed() ? 0 : 1;
}

}  // namespace hostgate
