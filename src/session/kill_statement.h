#pragma once
// Recognises MariaDB/MySQL KILL statements that name a connection id:
//   KILL [HARD | SOFT] [CONNECTION | QUERY] <id> [;]
// (not KILL QUERY ID <query id> nor KILL USER <name>), case-insensitive, any white space.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hostgate {

struct KillStatement {
    std::string
        modifiers;  // "HARD QUERY", "CONNECTION", "" ... as written, upper-cased, single spaces
    std::uint32_t id = 0;

    // The statement again with another id: "KILL QUERY 42".
    std::string with_id(std::uint32_t new_id) const;
    bool operator==(const KillStatement&) const = default;
};

std::optional<KillStatement> parse_kill(std::string_view sql);

}  // namespace hostgate
