#include "src/operations/admin_tables.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <stdexcept>

#include "auth/grants_file.h"
#include "protocol/mysql_messages.h"
#include "protocol/untrusted_text.h"
#include "src/runtime/runtime.h"
#include "src/version.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
using mysql::TextRow;

std::string command_name(std::uint8_t c) {
    switch (c) {
        case mysql::command::kQuery:
            return "Query";
        case mysql::command::kInitDb:
            return "Init DB";
        case mysql::command::kPing:
            return "Ping";
        case mysql::command::kChangeUser:
            return "Change user";
        case mysql::command::kResetConnection:
            return "Reset connection";
        case 0x16:
            return "Prepare";
        case 0x17:
            return "Execute";
        case 0x19:
            return "Close stmt";
        case 0:
            return "Sleep";
        default:
            return "Command " + std::to_string(c);
    }
}

// The non-empty lines of a text.
std::vector<std::string_view> lines(std::string_view text) {
    std::vector<std::string_view> out;
    while (!text.empty()) {
        const auto end = text.find('\n');
        if (end != 0) out.push_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return out;
}

std::optional<std::string> unless_empty(const std::string& s) {
    return s.empty() ? std::nullopt : std::optional(s);
}
template <class Number>
std::optional<std::string> number_or_null(const std::optional<Number>& n) {
    return n ? std::optional(std::to_string(*n)) : std::nullopt;
}

// The table, its text cells in display form; check_row_widths() first.
AdminTable table(std::string name, std::vector<mysql::ColumnDefinition> columns,
                 std::vector<TextRow> rows) {
    AdminTable t{std::move(name), std::move(columns), std::move(rows)};
    check_row_widths(t);
    for (auto& row : t.rows)
        for (auto& cell : row)
            if (cell) *cell = protocol::text::display(*cell);
    return t;
}

}  // namespace

void check_row_widths(const AdminTable& table) {
    for (const auto& row : table.rows)
        if (row.size() != table.columns.size())
            throw std::invalid_argument("a row of " + std::to_string(row.size()) +
                                        " values for the " + std::to_string(table.columns.size()) +
                                        " columns of " + table.name);
}

mysql::ColumnDefinition text_column(std::string name) {
    return {.name = std::move(name), .character_set = mysql::kUtf8mb4GeneralCi};
}
mysql::ColumnDefinition number_column(std::string name) {
    return {.name = std::move(name),
            .character_set = mysql::kBinary,
            .type = mysql::column_type::kLongLong};
}
mysql::ColumnDefinition real_column(std::string name) {
    return {.name = std::move(name),
            .character_set = mysql::kBinary,
            .type = mysql::column_type::kDouble,
            .decimals = 31};  // as MariaDB marks a DOUBLE with no fixed decimals
}
bool is_number(const mysql::ColumnDefinition& column) {
    return column.type == mysql::column_type::kLongLong;
}
bool is_real(const mysql::ColumnDefinition& column) {
    return column.type == mysql::column_type::kDouble;
}

AdminTable processlist_table(Runtime& rt) {
    std::vector<TextRow> rows;
    auto sessions = rt.sessions.snapshot();
    std::sort(sessions.begin(), sessions.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const auto now = std::chrono::steady_clock::now();
    const auto now_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    for (const auto& [id, e] : sessions) {
        const auto& s = *e.stats;
        const std::int64_t started = s.command_started_ns.load(),
                           active = s.backend_active_ns.load();
        // A command is running while the backend has sent nothing since it started.
        const bool running = s.command.load() != 0 && started > active;
        const std::int64_t since = running ? started : std::max(active, started);
        const auto seconds =
            since ? (now_ns - since) / 1000000000
                  : std::chrono::duration_cast<std::chrono::seconds>(now - e.connected).count();
        rows.push_back({std::to_string(id), e.user,
                        protocol::Endpoint{e.client.address, e.client_port}.to_string(), e.via,
                        unless_empty(e.client.endpoint), e.backend_name,
                        std::to_string(e.backend_thread), unless_empty(e.db),
                        running ? command_name(s.command.load()) : std::string("Sleep"),
                        std::to_string(seconds), std::string(), e.tls.tls ? "Yes" : "No",
                        unless_empty(e.tls.subject), std::to_string(s.bytes_in.load()),
                        std::to_string(s.bytes_out.load())});
    }
    return table("processlist",
                 {number_column("Id"), text_column("User"), text_column("Host"), text_column("Via"),
                  text_column("Endpoint"), text_column("Backend"), number_column("Backend_id"),
                  text_column("db"), text_column("Command"), number_column("Time"),
                  text_column("State"), text_column("TLS"), text_column("TLS_subject"),
                  number_column("Bytes_in"), number_column("Bytes_out")},
                 std::move(rows));
}

AdminTable grants_table(Runtime& rt) {
    std::vector<TextRow> rows;
    const auto g = rt.grants();
    std::size_t order = 0;
    for (const auth::Rule& r : g->rules())
        rows.push_back({std::to_string(++order), r.account(), auth::format_options(r.options),
                        r.host.describe(),
                        r.origin.empty()
                            ? rt.config()->grants_file.string() + ":" + std::to_string(r.line)
                            : r.origin});
    return table("grants",
                 {number_column("Order"), text_column("Account"), text_column("Options"),
                  text_column("Host"), text_column("Source")},
                 std::move(rows));
}

AdminTable backends_table(Runtime& rt) {
    std::vector<TextRow> rows;
    for (Backend* b : rt.backends.all()) {
        const auto& c = b->config();
        const auto traits = b->traits();
        const char* pp = c.proxy_protocol == BackendProxyProtocol::v1   ? "v1"
                         : c.proxy_protocol == BackendProxyProtocol::v2 ? "v2"
                                                                        : "off";
        const char* tls = c.tls == BackendTls::off      ? "off"
                          : c.tls == BackendTls::mirror ? "mirror"
                                                        : "required";
        auto down = b->down_reason();
        rows.push_back({c.name, c.address.to_string(), c.group, std::string(pp), std::string(tls),
                        down ? "No" : "Yes", std::move(down), std::to_string(b->connect_errors()),
                        traits ? std::optional(traits->server_version) : std::nullopt});
    }
    return table(
        "backends",
        {text_column("Name"), text_column("Address"), text_column("Group"),
         text_column("Proxy_protocol"), text_column("TLS"), text_column("Up"),
         text_column("Down_reason"), number_column("Connect_errors"), text_column("Version")},
        std::move(rows));
}

AdminTable status_table(Runtime& rt) {
    std::vector<TextRow> rows{{std::string("version"), std::string(HOSTGATE_VERSION)}};
    const std::string metrics = rt.metrics.render(rt);
    for (const std::string_view l : lines(metrics)) {
        if (l[0] == '#') continue;
        const auto space = l.rfind(' ');
        rows.push_back({std::string(l.substr(0, space)), std::string(l.substr(space + 1))});
    }
    return table("status", {text_column("Variable_name"), text_column("Value")}, std::move(rows));
}

AdminTable events_table(Runtime& rt) {
    std::vector<TextRow> rows;
    for (const auto& [time, e] : rt.events.snapshot()) {
        rows.push_back(
            {rfc3339_micros(time), std::string(name(e.event)), std::to_string(e.session),
             unless_empty(e.client), unless_empty(e.via), unless_empty(e.endpoint),
             unless_empty(e.user), unless_empty(e.db), unless_empty(e.rule),
             unless_empty(e.backend), number_or_null(e.backend_id),
             e.tls ? std::optional<std::string>(*e.tls ? "Yes" : "No") : std::nullopt,
             unless_empty(e.tls_subject), unless_empty(e.proxy_tls), unless_empty(e.reason),
             number_or_null(e.bytes_in), number_or_null(e.bytes_out),
             e.duration_s ? std::optional(fmt::format("{:.6f}", *e.duration_s)) : std::nullopt});
    }
    // The audit log's fields, named as in its JSON lines.
    return table("events",
                 {text_column("time"), text_column("event"), number_column("session"),
                  text_column("client"), text_column("via"), text_column("endpoint"),
                  text_column("user"), text_column("db"), text_column("rule"),
                  text_column("backend"), number_column("backend_id"), text_column("tls"),
                  text_column("tls_subject"), text_column("proxy_tls"), text_column("reason"),
                  number_column("bytes_in"), number_column("bytes_out"), real_column("duration_s")},
                 std::move(rows));
}

AdminTable lines_table(std::string name, std::string column, std::string_view text) {
    std::vector<TextRow> rows;
    for (const std::string_view l : lines(text)) rows.push_back({std::string(l)});
    return table(std::move(name), {text_column(std::move(column))}, std::move(rows));
}

std::string admin_tables_in_words() {
    std::string out;
    for (const auto name : kAdminTables) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

AdminTable admin_table(Runtime& rt, std::string_view name) {
    if (name == "backends") return backends_table(rt);
    if (name == "events") return events_table(rt);
    if (name == "grants") return grants_table(rt);
    if (name == "processlist") return processlist_table(rt);
    if (name == "status") return status_table(rt);
    return {std::string(name), {}, {}};
}

}  // namespace hostgate
