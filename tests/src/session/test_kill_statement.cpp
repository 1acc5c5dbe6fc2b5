#include <catch2/catch.hpp>

#include "src/session/kill_statement.h"

using hostgate::KillStatement;
using hostgate::parse_kill;

TEST_CASE("KILL statements that name a connection id") {
    struct Row {
        const char* sql;
        std::optional<KillStatement> expected;
    };
    const Row rows[] = {
        {"KILL 5", KillStatement{"", 5}},
        {"kill query 42", KillStatement{"QUERY", 42}},
        {"KILL CONNECTION 7;", KillStatement{"CONNECTION", 7}},
        {"  KILL\tHARD  QUERY  9 ; ", KillStatement{"HARD QUERY", 9}},
        {"KILL SOFT 3", KillStatement{"SOFT", 3}},
        {"KILL QUERY ID 5", std::nullopt},  // a query id, not a connection id
        {"KILL USER app", std::nullopt},
        {"KILL QUERY", std::nullopt},
        {"KILL 5 6", std::nullopt},
        {"KILL -5", std::nullopt},
        {"KILL 5x", std::nullopt},
        {"KILL 99999999999", std::nullopt},
        {"SELECT 1", std::nullopt},
        {"KILLQUERY 5", std::nullopt},
        {"", std::nullopt},
    };
    for (const auto& r : rows) {
        INFO(r.sql);
        CHECK(parse_kill(r.sql) == r.expected);
    }
    CHECK(parse_kill("kill hard connection 4")->with_id(1234) == "KILL HARD CONNECTION 1234");
    CHECK(parse_kill("kill 4")->with_id(1234) == "KILL 1234");
}
