#include "auth/grants_file.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <tuple>

#include "protocol/proxy_protocol.h"

namespace hostgate::auth {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}
bool is_identifier_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
}
bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Reads one line left to right; every error carries the column where the problem starts.
class LineParser {
  public:
    LineParser(std::string_view line, std::size_t number) : line_(line), number_(number) {}

    // nullopt for a blank or comment-only line.
    Expected<std::optional<Rule>, Error> parse() {
        skip_spaces();
        if (at_end_or_comment()) return std::optional<Rule>{};
        Rule rule;
        rule.line = number_;

        const std::size_t user_column = column();
        auto user = account_part("user");
        if (!user) return Unexpected(user.error());
        if (user->size() > kMaxUserLength)
            return fail(
                errc::bad_user, user_column,
                "user name is longer than " + std::to_string(kMaxUserLength) + " characters");
        rule.user = std::move(*user);

        std::string host = "%";
        std::size_t host_column = column();
        if (peek() == '@') {
            ++pos_;
            host_column = column();
            auto h = account_part("host");
            if (!h) return Unexpected(h.error());
            host = std::move(*h);
        } else if (!at_end() && !is_space(peek()) && peek() != '#') {
            return fail(errc::syntax, column(), "expected '@' after the user name");
        }
        if (host.size() > kMaxHostLength)
            return fail(errc::bad_host, host_column,
                        "host is longer than " + std::to_string(kMaxHostLength) + " characters");
        auto pattern = HostPattern::parse(host);
        if (!pattern) return fail(errc::bad_host, host_column, pattern.error().message);
        rule.host = std::move(*pattern);

        if (auto e = options(rule.options)) return Unexpected(*e);
        return std::optional<Rule>{std::move(rule)};
    }

  private:
    std::optional<Error> options(RuleOptions& out) {
        bool seen_require = false, seen_max = false, seen_backend = false, seen_endpoint = false;
        for (;;) {
            const bool spaced = skip_spaces();
            if (at_end_or_comment()) return std::nullopt;
            if (!spaced)
                return error(errc::syntax, column(), "expected white space before an option");
            const std::size_t option_column = column();
            const std::string_view keyword = word();
            if (keyword.empty())
                return error(errc::syntax, option_column,
                             std::string("unexpected '") + peek() + "'");
            auto once = [&](bool& seen) -> std::optional<Error> {
                if (std::exchange(seen, true))
                    return error(errc::duplicate_option, option_column,
                                 "option " + upper(keyword) + " given twice");
                return std::nullopt;
            };
            if (iequals(keyword, "REQUIRE")) {
                if (auto e = once(seen_require)) return e;
                skip_spaces();
                if (auto e = requirement(out.require)) return e;
            } else if (iequals(keyword, "MAX_USER_CONNECTIONS")) {
                if (auto e = once(seen_max)) return e;
                skip_spaces();
                const std::size_t value_column = column();
                const std::string_view value = word();
                unsigned n = 0;
                const auto [end, ec] =
                    std::from_chars(value.data(), value.data() + value.size(), n);
                if (value.empty() || ec != std::errc{} || end != value.data() + value.size() ||
                    !std::isdigit(static_cast<unsigned char>(value[0])))
                    return error(errc::bad_value, value_column,
                                 "MAX_USER_CONNECTIONS takes a whole number (0: no limit)");
                out.max_user_connections = n;
            } else if (iequals(keyword, "BACKEND")) {
                if (auto e = once(seen_backend)) return e;
                skip_spaces();
                const std::size_t value_column = column();
                std::string_view value = backend_name();
                if (value.empty())
                    return error(errc::bad_value, value_column,
                                 "BACKEND takes a group name (letters, digits, '_', '-', '.')");
                out.backend = std::string(value);
            } else if (iequals(keyword, "ENDPOINT")) {
                if (auto e = once(seen_endpoint)) return e;
                skip_spaces();
                const std::size_t value_column = column();
                auto value = endpoint_id();
                if (!value) return value.error();
                if (!protocol::proxy::valid_endpoint_id(*value))
                    return error(errc::bad_value, value_column,
                                 "ENDPOINT takes a quoted endpoint ID of 1 to " +
                                     std::to_string(protocol::proxy::kEndpointIdMaxLength) +
                                     " printable ASCII characters, such as 'vpce-0a1b2c3d'");
                out.endpoint = std::move(*value);
            } else {
                return error(errc::unknown_option, option_column,
                             "unknown option '" + std::string(keyword) +
                                 "' (expected REQUIRE, MAX_USER_CONNECTIONS, BACKEND or ENDPOINT)");
            }
        }
    }

    // What follows REQUIRE, as in CREATE USER: NONE, SSL, X509, or ISSUER 'i', SUBJECT 's' and
    // CIPHER 'c', each at most once, in any order, with or without AND between them.
    std::optional<Error> requirement(TlsRequirement& out) {
        using Kind = TlsRequirement::Kind;
        const std::size_t value_column = column();
        const std::string_view first = word();
        if (iequals(first, "NONE") || iequals(first, "SSL") || iequals(first, "X509")) {
            out.kind = iequals(first, "NONE")  ? Kind::none
                       : iequals(first, "SSL") ? Kind::ssl
                                               : Kind::x509;
            return std::nullopt;
        }
        pos_ = value_column - 1;
        out.kind = Kind::specified;
        for (bool first_part = true;; first_part = false) {
            const std::size_t before = pos_;
            if (!first_part) {
                skip_spaces();
                const std::size_t and_at = pos_;
                if (!iequals(word(), "AND"))
                    pos_ = and_at;
                else
                    skip_spaces();
            }
            const std::size_t part_column = column();
            const std::string_view part = word();
            std::string* field = iequals(part, "ISSUER")    ? &out.issuer
                                 : iequals(part, "SUBJECT") ? &out.subject
                                 : iequals(part, "CIPHER")  ? &out.cipher
                                                            : nullptr;
            if (!field) {
                if (first_part)
                    return error(errc::bad_value, part_column,
                                 "REQUIRE takes NONE, SSL, X509, or ISSUER, SUBJECT and CIPHER "
                                 "with quoted values");
                pos_ = before;  // the next option's, not REQUIRE's
                return std::nullopt;
            }
            if (!field->empty())
                return error(errc::duplicate_option, part_column,
                             "REQUIRE " + upper(part) + " given twice");
            skip_spaces();
            const std::size_t quoted_column = column();
            if (!at_quote())
                return error(errc::bad_value, quoted_column,
                             "REQUIRE " + upper(part) + " takes a quoted value");
            const std::string what = "REQUIRE " + upper(part);
            auto value = quoted(what.c_str(), errc::bad_value);
            if (!value) return value.error();
            if (value->empty())
                return error(errc::bad_value, quoted_column,
                             "REQUIRE " + upper(part) + " takes a value that is not empty");
            *field = std::move(*value);
        }
    }

    // A quoted string ('', "" or ``) or a bare identifier.
    Expected<std::string, Error> account_part(const char* what) {
        if (at_quote()) return quoted(what, what[0] == 'u' ? errc::bad_user : errc::bad_host);
        const std::size_t start_column = column();
        const std::string_view bare = identifier();
        if (bare.empty())
            return Unexpected(
                Error{make_error_code(errc::syntax),
                      std::string("expected a quoted ") + what + " such as 'app'@'10.0.0.%'",
                      number_, start_column});
        return std::string(bare);
    }

    // A string in '', "" or `` at the current position, quotes doubled or escaped as in MySQL.
    Expected<std::string, Error> quoted(const char* what, errc unclosed) {
        const std::size_t start_column = column();
        const char quote = line_[pos_++];
        std::string out;
        while (!at_end()) {
            const char c = line_[pos_++];
            if (c == quote) {
                if (peek() == quote) {  // doubled quote stands for itself
                    out += quote;
                    ++pos_;
                    continue;
                }
                return out;
            }
            if (c == '\\' && quote != '`' && !at_end()) {
                const char next = line_[pos_++];
                // As in MySQL string literals; \% and \_ keep their backslash for patterns.
                if (next == '%' || next == '_') out += '\\';
                out += next;
                continue;
            }
            out += c;
        }
        return Unexpected(Error{make_error_code(unclosed),
                                std::string(what) + " is missing its closing " + quote, number_,
                                start_column});
    }

    // ENDPOINT's value: quoted, since an AWS ID has a '-'.
    Expected<std::string, Error> endpoint_id() {
        if (at_quote()) return quoted("ENDPOINT", errc::bad_value);
        return Unexpected(error(errc::bad_value, column(),
                                "ENDPOINT takes a quoted endpoint ID, such as 'vpce-0a1b2c3d'"));
    }

    std::string_view identifier() {
        const std::size_t start = pos_;
        while (!at_end() && is_identifier_char(line_[pos_])) ++pos_;
        return line_.substr(start, pos_ - start);
    }
    std::string_view word() {
        const std::size_t start = pos_;
        while (!at_end() && !is_space(line_[pos_]) && line_[pos_] != '#') ++pos_;
        return line_.substr(start, pos_ - start);
    }
    std::string_view backend_name() {
        const std::string_view w = word();
        const bool ok = std::all_of(w.begin(), w.end(), [](char c) {
            return is_identifier_char(c) || c == '-' || c == '.';
        });
        return ok ? w : std::string_view{};
    }
    static std::string upper(std::string_view s) {
        std::string out(s);
        for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return out;
    }

    bool skip_spaces() {
        const std::size_t start = pos_;
        while (!at_end() && is_space(line_[pos_])) ++pos_;
        return pos_ != start;
    }
    bool at_end() const { return pos_ >= line_.size(); }
    bool at_end_or_comment() const { return at_end() || line_[pos_] == '#'; }
    char peek() const { return at_end() ? '\0' : line_[pos_]; }
    bool at_quote() const { return peek() == '\'' || peek() == '"' || peek() == '`'; }
    std::size_t column() const { return pos_ + 1; }

    Error error(errc code, std::size_t col, std::string message) const {
        return Error{make_error_code(code), std::move(message), number_, col};
    }
    Unexpected<Error> fail(errc code, std::size_t col, std::string message) const {
        return Unexpected(error(code, col, std::move(message)));
    }

    std::string_view line_;
    std::size_t number_;
    std::size_t pos_ = 0;
};

}  // namespace

std::string format_rule(const Rule& rule) {
    const std::string options = format_options(rule.options);
    return rule.account() + (options.empty() ? "" : "  " + options);
}

Expected<std::vector<Rule>, Error> parse_grants(std::string_view text) {
    std::vector<Rule> rules;
    // Accounts already defined: user, lower-cased host and endpoint -> line.
    std::map<std::tuple<std::string, std::string, std::string>, std::size_t> defined;
    std::size_t number = 0;
    while (!text.empty()) {
        ++number;
        const auto newline = text.find('\n');
        const std::string_view line = text.substr(0, newline);
        text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);

        auto parsed = LineParser(line, number).parse();
        if (!parsed) return Unexpected(parsed.error());
        if (!*parsed) continue;
        Rule& rule = **parsed;
        std::string host_key = rule.host.text();
        std::transform(host_key.begin(), host_key.end(), host_key.begin(), [](char c) {
            return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        });
        const auto [it, inserted] =
            defined.emplace(std::tuple{rule.user, host_key, rule.options.endpoint}, number);
        if (!inserted)
            return Unexpected(
                Error{make_error_code(errc::duplicate_account),
                      rule.key() + " is already defined on line " + std::to_string(it->second),
                      number, 1 + line.find_first_not_of(" \t")});
        rules.push_back(std::move(rule));
    }
    return rules;
}

}  // namespace hostgate::auth
