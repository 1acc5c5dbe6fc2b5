#include "src/operations/admin_sql.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <mutex>

#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
using mysql::ErrPacket;
using mysql::ServerError;

// SQLite's memory for every admin query at once (sqlite3_hard_heap_limit64 is the process's; only
// the admin port uses SQLite), and the longest value a query may make.
constexpr sqlite3_int64 kHeapLimit = 256 << 20;
constexpr int kMaxValueBytes = 1 << 20;

struct CloseDatabase {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct FinalizeStatement {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Database = std::unique_ptr<sqlite3, CloseDatabase>;
using Statement = std::unique_ptr<sqlite3_stmt, FinalizeStatement>;

// SQLite's message quotes the query (`near "...": syntax error`, `no such column: ...`): in
// display form, as every text the admin port answers with.
ErrPacket sql_error(sqlite3* db) {
    std::string message = protocol::text::display(sqlite3_errmsg(db));
    if (message.starts_with("no such table"))
        message += "; the admin tables are " + admin_tables_in_words();
    return mysql::server_error(ServerError::parse_error, std::move(message));
}

// What a query may do: read. Everything else is denied, and the first denial named.
struct Authorizer {
    std::string denied;  // the action refused, for the error

    static int check(void* self, int action, const char* a, const char*, const char*, const char*) {
        switch (action) {
            case SQLITE_SELECT:
            case SQLITE_READ:
            case SQLITE_FUNCTION:
            case SQLITE_RECURSIVE:  // WITH RECURSIVE; the time limit bounds it
                return SQLITE_OK;
            case SQLITE_PRAGMA:  // the columns of a table, and nothing else
                if (a && std::string_view(a) == "table_info") return SQLITE_OK;
                break;
            case SQLITE_INSERT:
            case SQLITE_UPDATE:
            case SQLITE_DELETE:
                // CREATE and DROP write the schema table first, then ask for their own action,
                // which is refused and names the statement better. Nothing else writes it:
                // SQLite refuses such a write itself, and PRAGMA writable_schema is refused.
                if (schema_table(a)) return SQLITE_OK;
                break;
            default:
                break;
        }
        auto& authorizer = *static_cast<Authorizer*>(self);
        if (authorizer.denied.empty()) authorizer.denied = action_name(action, a);
        return SQLITE_DENY;
    }

    static std::string action_name(int action, const char* a) {
        switch (action) {
            case SQLITE_INSERT:
                return "INSERT";
            case SQLITE_UPDATE:
                return "UPDATE";
            case SQLITE_DELETE:
                return "DELETE";
            case SQLITE_ATTACH:
                return "ATTACH";
            case SQLITE_DETACH:
                return "DETACH";
            case SQLITE_TRANSACTION:
                return "a transaction";
            case SQLITE_SAVEPOINT:
                return "SAVEPOINT";
            case SQLITE_PRAGMA:
                return "PRAGMA " + std::string(a ? a : "");
            case SQLITE_ALTER_TABLE:
                return "ALTER TABLE";
            case SQLITE_ANALYZE:
                return "ANALYZE";
            case SQLITE_REINDEX:
                return "REINDEX";
            case SQLITE_CREATE_TABLE:
            case SQLITE_CREATE_TEMP_TABLE:
                return "CREATE TABLE";
            case SQLITE_CREATE_INDEX:
            case SQLITE_CREATE_TEMP_INDEX:
                return "CREATE INDEX";
            case SQLITE_CREATE_VIEW:
            case SQLITE_CREATE_TEMP_VIEW:
                return "CREATE VIEW";
            case SQLITE_CREATE_TRIGGER:
            case SQLITE_CREATE_TEMP_TRIGGER:
                return "CREATE TRIGGER";
            case SQLITE_CREATE_VTABLE:
                return "CREATE VIRTUAL TABLE";
            case SQLITE_DROP_TABLE:
            case SQLITE_DROP_TEMP_TABLE:
            case SQLITE_DROP_VTABLE:
                return "DROP TABLE";
            case SQLITE_DROP_INDEX:
            case SQLITE_DROP_TEMP_INDEX:
                return "DROP INDEX";
            case SQLITE_DROP_VIEW:
            case SQLITE_DROP_TEMP_VIEW:
                return "DROP VIEW";
            case SQLITE_DROP_TRIGGER:
            case SQLITE_DROP_TEMP_TRIGGER:
                return "DROP TRIGGER";
            default:
                return "this statement";
        }
    }

    static bool schema_table(const char* table) {
        const std::string_view t = table ? table : "";
        return t == "sqlite_master" || t == "sqlite_temp_master" || t == "sqlite_schema";
    }
};

const char* declared_type(const mysql::ColumnDefinition& c) {
    return is_number(c) ? "INTEGER" : is_real(c) ? "REAL" : "TEXT";
}

// Creates the table and fills it with its snapshot, in one transaction.
bool load(sqlite3* db, const AdminTable& table) {
    std::string create = "CREATE TABLE \"" + table.name + "\" (";
    std::string insert = "INSERT INTO \"" + table.name + "\" VALUES (";
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        create +=
            (i ? ", \"" : "\"") + table.columns[i].name + "\" " + declared_type(table.columns[i]);
        insert += i ? ", ?" : "?";
    }
    create += ")";
    insert += ")";
    if (sqlite3_exec(db, create.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return false;
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db, insert.c_str(), -1, &raw, nullptr) != SQLITE_OK) return false;
    const Statement statement(raw);
    check_row_widths(table);
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < row.size(); ++i) {
            const int at = static_cast<int>(i) + 1;
            const auto& cell = row[i];
            const auto& column = table.columns[i];
            std::int64_t n = 0;
            if (!cell) {
                sqlite3_bind_null(raw, at);
            } else if (is_number(column) &&
                       std::from_chars(cell->data(), cell->data() + cell->size(), n).ec ==
                           std::errc{}) {
                sqlite3_bind_int64(raw, at, n);
            } else if (is_real(column)) {
                sqlite3_bind_double(raw, at, std::strtod(cell->c_str(), nullptr));
            } else {
                sqlite3_bind_text(raw, at, cell->data(), static_cast<int>(cell->size()),
                                  SQLITE_STATIC);
            }
        }
        if (sqlite3_step(raw) != SQLITE_DONE) return false;
        sqlite3_reset(raw);
    }
    return true;
}

// A column's type, from the values it holds: integers, reals (with or without integers), or
// anything else as text. A strict client converts each cell by its column's type.
enum class Kind : std::uint8_t { none, integer, real, text };

Kind widen(Kind seen, int sqlite_type) {
    const Kind value = sqlite_type == SQLITE_INTEGER ? Kind::integer
                       : sqlite_type == SQLITE_FLOAT ? Kind::real
                                                     : Kind::text;
    if (seen == Kind::none || seen == value) return value;
    if (seen != Kind::text && value != Kind::text) return Kind::real;
    return Kind::text;
}

bool only_comments_and_space(sqlite3* db, const char* tail) {
    sqlite3_stmt* next = nullptr;
    // Preparing what follows the first statement: nothing but space, comments and `;` makes none.
    const int rc = sqlite3_prepare_v2(db, tail, -1, &next, nullptr);
    const Statement held(next);
    return rc == SQLITE_OK && next == nullptr;
}

}  // namespace

std::vector<std::string_view> tables_named_in(std::string_view sql) {
    std::string lower(sql);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto word_char = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
               static_cast<unsigned char>(c) >= 0x80;
    };
    std::vector<std::string_view> named;
    for (const auto table : kAdminTables) {
        for (auto at = lower.find(table); at != std::string::npos; at = lower.find(table, at + 1)) {
            const auto end = at + table.size();
            if ((at == 0 || !word_char(lower[at - 1])) &&
                (end == lower.size() || !word_char(lower[end]))) {
                named.push_back(table);
                break;
            }
        }
    }
    return named;
}

Expected<SqlResult, ErrPacket> run_admin_sql(std::string_view sql,
                                             const std::vector<AdminTable>& tables,
                                             const SqlLimits& limits) {
    // SQLite would end the query at a NUL: what follows would go unseen.
    if (sql.find('\0') != std::string_view::npos)
        return Unexpected(
            mysql::server_error(ServerError::parse_error, "a query may not hold a NUL byte"));
    static std::once_flag heap_limit;
    std::call_once(heap_limit, [] { sqlite3_hard_heap_limit64(kHeapLimit); });
    auto out_of_memory = [] {
        return Unexpected(mysql::server_error(
            ServerError::unknown_error,
            "the admin port's queries are out of memory (" + std::to_string(kHeapLimit >> 20) +
                " MiB for all at once); narrow this one with WHERE or LIMIT"));
    };

    sqlite3* raw_db = nullptr;
    const int opened =
        sqlite3_open_v2(":memory:", &raw_db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    const Database db(raw_db);
    if (opened != SQLITE_OK) return out_of_memory();
    sqlite3_limit(raw_db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_db_config(raw_db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
    sqlite3_db_config(raw_db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, nullptr);
    sqlite3_db_config(raw_db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
    // Sorts and temporary results stay in memory, under the heap limit: no file is written.
    sqlite3_exec(raw_db, "PRAGMA temp_store = MEMORY", nullptr, nullptr, nullptr);

    sqlite3_exec(raw_db, "BEGIN", nullptr, nullptr, nullptr);
    for (const AdminTable& table : tables)
        if (!load(raw_db, table)) return out_of_memory();
    sqlite3_exec(raw_db, "COMMIT", nullptr, nullptr, nullptr);
    // What the query makes is bounded; the snapshot it reads was loaded whole before.
    sqlite3_limit(raw_db, SQLITE_LIMIT_LENGTH, kMaxValueBytes);

    Authorizer authorizer;
    sqlite3_set_authorizer(raw_db, &Authorizer::check, &authorizer);
    auto deadline = std::chrono::steady_clock::now() + limits.time;
    sqlite3_progress_handler(
        raw_db, 1000,
        [](void* until) {
            return std::chrono::steady_clock::now() >
                           *static_cast<std::chrono::steady_clock::time_point*>(until)
                       ? 1
                       : 0;
        },
        &deadline);

    const std::string text(sql);  // NUL-terminated: what follows the statement is read to the end
    sqlite3_stmt* raw = nullptr;
    const char* tail = nullptr;
    const int prepared = sqlite3_prepare_v2(raw_db, text.c_str(), -1, &raw, &tail);
    const Statement statement(raw);
    const auto read_only = [&] {
        return Unexpected(mysql::server_error(
            ServerError::read_only,
            "The admin port is read-only: " +
                (authorizer.denied.empty() ? std::string("this statement") : authorizer.denied) +
                " is refused; SELECT reads " + admin_tables_in_words()));
    };
    if (!authorizer.denied.empty()) return read_only();
    if (prepared == SQLITE_NOMEM) return out_of_memory();
    if (prepared != SQLITE_OK) return Unexpected(sql_error(raw_db));
    if (!raw) return Unexpected(mysql::server_error(ServerError::parse_error, "Query was empty"));
    if (!sqlite3_stmt_readonly(raw)) return read_only();
    if (!only_comments_and_space(raw_db, tail))
        return Unexpected(
            mysql::server_error(ServerError::parse_error,
                                "the admin port runs one statement per query; send the "
                                "next one on its own"));

    SqlResult result;
    const int width = sqlite3_column_count(raw);
    std::vector<Kind> kinds(static_cast<std::size_t>(width), Kind::none);
    std::size_t bytes = 0;
    int rc;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
        mysql::TextRow row;
        row.reserve(static_cast<std::size_t>(width));
        for (int i = 0; i < width; ++i) {
            const int type = sqlite3_column_type(raw, i);
            if (type == SQLITE_NULL) {
                row.emplace_back();
                continue;
            }
            auto& kind = kinds[static_cast<std::size_t>(i)];
            kind = widen(kind, type);
            const auto* data = static_cast<const char*>(
                type == SQLITE_BLOB ? sqlite3_column_blob(raw, i)
                                    : static_cast<const void*>(sqlite3_column_text(raw, i)));
            const std::string_view value(data ? data : "",
                                         static_cast<std::size_t>(sqlite3_column_bytes(raw, i)));
            row.emplace_back(type == SQLITE_TEXT || type == SQLITE_BLOB
                                 ? protocol::text::display(value)
                                 : std::string(value));
            bytes += row.back()->size();
        }
        if (bytes > limits.result_bytes)
            return Unexpected(mysql::server_error(ServerError::unknown_error,
                                                  "the result is over " +
                                                      std::to_string(limits.result_bytes >> 20) +
                                                      " MiB; narrow it with WHERE or LIMIT"));
        result.rows.push_back(std::move(row));
    }
    if (rc == SQLITE_INTERRUPT)
        return Unexpected(
            mysql::server_error(ServerError::query_interrupted,
                                "Query execution was interrupted: the admin port gives a query " +
                                    std::to_string(limits.time.count()) + " ms"));
    if (rc == SQLITE_NOMEM) return out_of_memory();
    if (rc != SQLITE_DONE) return Unexpected(sql_error(raw_db));

    for (int i = 0; i < width; ++i) {
        std::string name = protocol::text::display(sqlite3_column_name(raw, i));
        // A column of the tables keeps its declared type even when the rows leave it empty.
        const char* declared = sqlite3_column_decltype(raw, i);
        Kind kind = kinds[static_cast<std::size_t>(i)];
        if (declared && kind == Kind::none)
            kind = std::string_view(declared) == "INTEGER" ? Kind::integer
                   : std::string_view(declared) == "REAL"  ? Kind::real
                                                           : Kind::text;
        result.columns.push_back(kind == Kind::integer ? number_column(std::move(name))
                                 : kind == Kind::real  ? real_column(std::move(name))
                                                       : text_column(std::move(name)));
    }
    return result;
}

}  // namespace hostgate
