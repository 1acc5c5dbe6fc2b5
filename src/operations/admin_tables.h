#pragma once
// The admin port's tables: what its SHOW commands answer, and what its SQL reads. Each is built
// from hostgate's state when asked; cells that may hold bytes a client chose (user and database
// names) are in display form (protocol/untrusted_text.h), so that strict clients can decode them
// and an operator's terminal shows them as they are.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/mysql_resultset.h"

namespace hostgate {

class Runtime;

struct AdminTable {
    std::string name;  // as SQL names it: "processlist"
    std::vector<protocol::mysql::ColumnDefinition> columns;
    std::vector<protocol::mysql::TextRow> rows;  // each as wide as `columns`
};

// Throws std::invalid_argument, naming the table, when a row is not as wide as its columns: a
// programming error, which the admin port answers with 1105 and logs.
void check_row_widths(const AdminTable& table);

// A column of text (UTF-8) or of integers; SQL on the admin port keeps the type.
protocol::mysql::ColumnDefinition text_column(std::string name);
protocol::mysql::ColumnDefinition number_column(std::string name);
protocol::mysql::ColumnDefinition real_column(std::string name);
bool is_number(const protocol::mysql::ColumnDefinition& column);
bool is_real(const protocol::mysql::ColumnDefinition& column);

// The tables by name, in the order SHOW TABLES lists them.
inline constexpr std::string_view kAdminTables[] = {"backends", "events", "grants", "processlist",
                                                    "status"};

// "backends, events, grants, processlist, status", for messages.
std::string admin_tables_in_words();

AdminTable processlist_table(Runtime& rt);  // SHOW [FULL] PROCESSLIST
AdminTable grants_table(Runtime& rt);       // SHOW GRANTS
AdminTable backends_table(Runtime& rt);     // SHOW BACKENDS
AdminTable status_table(Runtime& rt);       // SHOW STATUS
AdminTable events_table(Runtime& rt);       // the last admin.events_kept events
// A table of one text column, a row per non-empty line of `text` (EXPLAIN's answer).
AdminTable lines_table(std::string name, std::string column, std::string_view text);
// One of the above by name; an empty table with no columns for a name not in kAdminTables.
AdminTable admin_table(Runtime& rt, std::string_view name);

}  // namespace hostgate
