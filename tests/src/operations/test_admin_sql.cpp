// SQL on the admin port: reads over the snapshot, answered with the types a strict client
// converts by; anything but a read refused; time and size bounded.
#include <catch2/catch.hpp>

#include "src/operations/admin_sql.h"
#include "src/operations/event_history.h"

using namespace hostgate;
namespace mysql = hostgate::protocol::mysql;

namespace {

std::vector<AdminTable> sample() {
    AdminTable processlist{"processlist",
                           {number_column("Id"), text_column("User"), text_column("Backend")},
                           {{"1", "app", "db1"}, {"2", "app", "db2"}, {"3", "etl", "db1"}}};
    AdminTable backends{"backends",
                        {text_column("Name"), text_column("Up"), real_column("Weight")},
                        {{"db1", "Yes", "1.5"}, {"db2", "No", std::nullopt}}};
    return {processlist, backends};
}

mysql::ErrPacket refusal(std::string_view sql, const SqlLimits& limits = {}) {
    auto result = run_admin_sql(sql, sample(), limits);
    REQUIRE_FALSE(result);
    return result.error();
}

std::vector<std::string> names(const SqlResult& r) {
    std::vector<std::string> out;
    for (const auto& c : r.columns) out.push_back(c.name);
    return out;
}

}  // namespace

TEST_CASE("admin SQL: WHERE, GROUP BY, ORDER BY, LIMIT, LIKE and joins over the snapshot") {
    auto r = run_admin_sql(
        "SELECT p.User, COUNT(*) AS sessions, SUM(b.Up = 'Yes') AS up FROM processlist p "
        "JOIN backends b ON b.Name = p.Backend WHERE p.User LIKE 'A%' GROUP BY p.User "
        "ORDER BY sessions DESC LIMIT 5",
        sample());
    REQUIRE(r);
    CHECK(names(*r) == std::vector<std::string>{"User", "sessions", "up"});
    CHECK(r->rows == std::vector<mysql::TextRow>{{"app", "2", "1"}});
    // Counts are integers to a client; text stays text.
    CHECK(is_number(r->columns[1]));
    CHECK(is_number(r->columns[2]));
    CHECK_FALSE(is_number(r->columns[0]));
}

TEST_CASE("admin SQL: each column's type comes from its values, or from the table") {
    auto r = run_admin_sql(
        "SELECT 2 AS i, 1.5 AS r, 'x' AS t, NULL AS n, x'ff00' AS b, "
        "CASE WHEN 1 THEN 1 ELSE 'a' END AS mixed",
        {});
    REQUIRE(r);
    REQUIRE(r->rows.size() == 1);
    CHECK(is_number(r->columns[0]));
    CHECK(is_real(r->columns[1]));
    CHECK_FALSE(is_number(r->columns[2]));
    CHECK_FALSE(is_number(r->columns[3]));
    // Bytes that are not UTF-8 reach the client escaped.
    CHECK(r->rows[0] == mysql::TextRow{"2", "1.5", "x", std::nullopt, "\\xff\\x00", "1"});
    // A column of integers and text is text: a strict client would fail on int("a").
    auto mixed = run_admin_sql("SELECT Id FROM processlist UNION ALL SELECT 'a'", sample());
    REQUIRE(mixed);
    CHECK_FALSE(is_number(mixed->columns[0]));
    CHECK(mixed->rows.size() == 4);
    // No rows: the declared type holds.
    auto none = run_admin_sql("SELECT Id, Weight FROM processlist, backends WHERE 0", sample());
    REQUIRE(none);
    CHECK(none->rows.empty());
    CHECK(is_number(none->columns[0]));
    CHECK(is_real(none->columns[1]));
    // NULL stays NULL in a REAL column.
    auto weights = run_admin_sql("SELECT Weight FROM backends ORDER BY Name", sample());
    REQUIRE(weights);
    CHECK(weights->rows == std::vector<mysql::TextRow>{{"1.5"}, {std::nullopt}});
}

TEST_CASE("admin SQL: anything but a read is refused with 1290 and names what") {
    const std::pair<const char*, const char*> writes[] = {
        {"DELETE FROM processlist", "DELETE"},
        {"INSERT INTO backends VALUES ('x', 'Yes', 1)", "INSERT"},
        {"UPDATE backends SET Up = 'No'", "UPDATE"},
        {"DROP TABLE backends", "DROP TABLE"},
        {"CREATE TABLE t (a)", "CREATE TABLE"},
        {"CREATE TEMP VIEW v AS SELECT 1", "CREATE VIEW"},
        {"CREATE INDEX i ON backends (Name)", "CREATE INDEX"},
        {"ATTACH DATABASE '/tmp/hostgate-admin-sql-test.db' AS x", "ATTACH"},
        {"PRAGMA writable_schema = 1", "PRAGMA writable_schema"},
        {"BEGIN", "a transaction"},
        {"ALTER TABLE backends ADD COLUMN x", "ALTER TABLE"},
    };
    for (const auto& [sql, what] : writes) {
        INFO(sql);
        const auto e = refusal(sql);
        CHECK(e.error_code == 1290);
        CHECK(e.message == std::string("The admin port is read-only: ") + what +
                               " is refused; SELECT reads backends, events, grants, processlist, "
                               "status");
    }
    // ATTACH was refused before it could create a file.
    CHECK_FALSE(std::filesystem::exists("/tmp/hostgate-admin-sql-test.db"));
    // A write hidden in a CTE or after a read is refused too.
    CHECK(refusal("WITH x AS (SELECT 1) DELETE FROM backends").error_code == 1290);
    // The columns of a table may be read.
    auto columns = run_admin_sql("PRAGMA table_info(processlist)", sample());
    REQUIRE(columns);
    CHECK(columns->rows.size() == 3);
}

TEST_CASE("admin SQL: SQL SQLite cannot run gets 1064 with its message") {
    auto e = refusal("SELEC 1");
    CHECK(e.error_code == 1064);
    CHECK(e.sql_state == "42000");
    CHECK(e.message == "near \"SELEC\": syntax error");
    CHECK(refusal("SELECT nope FROM processlist").message == "no such column: nope");
    CHECK(refusal("SELECT * FROM users").message ==
          "no such table: users; the admin tables are backends, events, grants, processlist, "
          "status");
    CHECK(refusal("  -- nothing\n ;").message == "Query was empty");
    // SQLite quotes the query in its messages: control bytes and bytes that are not UTF-8 reach
    // the client escaped, as every text the admin port sends.
    CHECK(refusal("SELECT `\x1b[2J\xff` FROM processlist").message ==
          "no such column: \\x1b[2J\\xff");
    // One statement per query: a second one, even a read, is not run.
    e = refusal("SELECT 1; SELECT 2");
    CHECK(e.error_code == 1064);
    CHECK(e.message == "the admin port runs one statement per query; send the next one on its own");
    CHECK(refusal("SELECT 1; DELETE FROM processlist").error_code == 1064);
    // What may follow a statement: space, comments and semicolons.
    CHECK(run_admin_sql("SELECT 1; -- done\n ;", {}));
    // A NUL in the query would end it early for SQLite: what follows would go unseen.
    CHECK(refusal(std::string_view("SELECT 1\0; DELETE FROM processlist", 35)).message ==
          "a query may not hold a NUL byte");
}

TEST_CASE("admin SQL: a query past its time is interrupted with 1317") {
    const auto e = refusal(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        {.time = std::chrono::milliseconds(50)});
    CHECK(e.error_code == 1317);
    CHECK(e.sql_state == "70100");
    CHECK(e.message == "Query execution was interrupted: the admin port gives a query 50 ms");
}

TEST_CASE("admin SQL: a result past its size, or a value past 1 MiB, is refused") {
    auto e = refusal(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < "
        "100000) SELECT printf('%.100c', 'x') FROM c",
        {.result_bytes = 1 << 20});
    CHECK(e.error_code == 1105);
    CHECK(e.message == "the result is over 1 MiB; narrow it with WHERE or LIMIT");
    e = refusal("SELECT zeroblob(2000000)");
    CHECK(e.error_code == 1064);
    CHECK(e.message == "string or blob too big");
}

TEST_CASE("admin SQL: only the tables a query names are built") {
    using V = std::vector<std::string_view>;
    CHECK(tables_named_in("SELECT * FROM processlist") == V{"processlist"});
    CHECK(tables_named_in("select * from \"EVENTS\" e join [Grants] g") == V{"events", "grants"});
    CHECK(tables_named_in("SELECT * FROM `status`, backends") == V{"backends", "status"});
    // Part of a longer name is not the table.
    CHECK(tables_named_in("SELECT * FROM processlists, my_events, events2") == V{});
    CHECK(tables_named_in("SELECT 1") == V{});
}

TEST_CASE("the event history keeps the last events, oldest first") {
    EventHistory none(0);
    none.record({.user = "a"}, std::chrono::system_clock::now());
    CHECK(none.snapshot().empty());

    EventHistory history(3);
    const auto t0 = std::chrono::system_clock::now();
    for (int i = 0; i < 5; ++i)
        history.record({.session = static_cast<std::uint32_t>(i)}, t0 + std::chrono::seconds(i));
    const auto kept = history.snapshot();
    REQUIRE(kept.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        CHECK(kept[i].event.session == i + 2);
        CHECK(kept[i].time == t0 + std::chrono::seconds(i + 2));
    }
}
