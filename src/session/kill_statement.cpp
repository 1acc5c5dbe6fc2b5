#include "src/session/kill_statement.h"

#include <cctype>
#include <charconv>
#include <vector>

namespace hostgate {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::vector<std::string_view> words(std::string_view sql) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < sql.size()) {
        while (i < sql.size() && std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
        const std::size_t start = i;
        while (i < sql.size() && !std::isspace(static_cast<unsigned char>(sql[i]))) ++i;
        if (i > start) out.push_back(sql.substr(start, i - start));
    }
    return out;
}

}  // namespace

std::string KillStatement::with_id(std::uint32_t new_id) const {
    return "KILL " + (modifiers.empty() ? "" : modifiers + " ") + std::to_string(new_id);
}

std::optional<KillStatement> parse_kill(std::string_view sql) {
    while (!sql.empty() &&
           (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';'))
        sql.remove_suffix(1);
    const auto w = words(sql);
    if (w.size() < 2 || w.size() > 4 || upper(w[0]) != "KILL") return std::nullopt;
    KillStatement k;
    std::size_t i = 1;
    if (i < w.size() - 1 && (upper(w[i]) == "HARD" || upper(w[i]) == "SOFT"))
        k.modifiers = upper(w[i++]);
    if (i < w.size() - 1 && (upper(w[i]) == "CONNECTION" || upper(w[i]) == "QUERY"))
        k.modifiers += (k.modifiers.empty() ? "" : " ") + upper(w[i++]);
    if (i != w.size() - 1) return std::nullopt;
    const std::string_view id = w[i];
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), k.id);
    if (ec != std::errc{} || end != id.data() + id.size()) return std::nullopt;
    return k;
}

}  // namespace hostgate
