#pragma once
// `hostgate explain --grants FILE [--host-name NAME] [--endpoint ID] USER ADDRESS`: the grant
// decision for one client, and why.

#include <optional>
#include <ostream>
#include <string>

namespace hostgate {

struct ExplainArgs {
    std::string grants_file;
    std::string user;
    std::string address;
    std::optional<std::string> host_name;  // as if name resolution had found this name
    std::string endpoint;  // as if a balancer's PROXY header had named this cloud endpoint
};

// Prints the decision to `out` (errors to `err`). Returns the exit status: 0 allow, 1 deny,
// 2 unreadable or bad grants file, or a bad address.
int run_explain(const ExplainArgs& args, std::ostream& out, std::ostream& err);

}  // namespace hostgate
