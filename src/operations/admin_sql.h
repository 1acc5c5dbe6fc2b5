#pragma once
// Read-only SQL over the admin tables, on SQLite. Each query gets a fresh in-memory database that
// holds a snapshot of the tables it names, taken for it, and an authorizer that lets it read and
// nothing else: no write, no ATTACH (no file is ever opened), no PRAGMA but table_info. A query
// has a time limit, and SQLite's memory for all of them at once has a ceiling.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/expected.h"
#include "protocol/mysql_messages.h"
#include "src/operations/admin_tables.h"

namespace hostgate {

struct SqlResult {
    std::vector<protocol::mysql::ColumnDefinition> columns;
    std::vector<protocol::mysql::TextRow> rows;
};

struct SqlLimits {
    std::chrono::milliseconds time{5000};
    std::size_t result_bytes = 64 << 20;
};

// The admin tables `sql` names (a word of it, in any case or quoting), which are the only ones it
// can read: only those need a snapshot.
std::vector<std::string_view> tables_named_in(std::string_view sql);

// Runs one statement over `tables`. Errors are those a MySQL client expects: 1064 with SQLite's
// message for SQL it cannot run, 1290 for a write or anything else that is not a read, 1317 past
// the time limit, 1105 past the result or memory limit.
Expected<SqlResult, protocol::mysql::ErrPacket> run_admin_sql(std::string_view sql,
                                                              const std::vector<AdminTable>& tables,
                                                              const SqlLimits& limits = {});

}  // namespace hostgate
