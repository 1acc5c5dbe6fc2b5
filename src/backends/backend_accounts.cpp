#include "src/backends/backend_accounts.h"

#include <mysql.h>

#include <algorithm>
#include <set>

#include "src/backends/backends.h"

namespace hostgate {

Expected<std::vector<auth::Rule>, std::string> read_backend_accounts(
    const Config& config, std::vector<std::string>& skipped) {
    const auto backend = std::find_if(config.backends.begin(), config.backends.end(),
                                      [](const BackendConfig& b) { return b.group == "default"; });
    if (backend == config.backends.end())
        return Unexpected(std::string("no backend in the default group"));

    MYSQL* m = mysql_init(nullptr);
    const protocol::Bytes header = proxy_header_for(*backend);
    if (!header.empty()) mysql_optionsv(m, MARIADB_OPT_PROXY_HEADER, header.data(), header.size());
    const std::string source = backend->source ? backend->source->to_string() : "";
    if (!source.empty()) mysql_optionsv(m, MYSQL_OPT_BIND, source.c_str());
    const unsigned timeout =
        static_cast<unsigned>(std::max<long long>(1, config.connect_timeout.count() / 1000));
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    const std::string host = backend->address.address.to_string();
    auto fail = [&](const std::string& what) {
        std::string message =
            "grants from backend " + backend->name + ": " + what + ": " + mysql_error(m);
        mysql_close(m);
        return Unexpected(message);
    };
    if (!mysql_real_connect(m, host.c_str(), config.monitor_user.c_str(),
                            config.monitor_password.c_str(), nullptr, backend->address.port,
                            nullptr, 0))
        return fail("login");
    // MariaDB keeps roles in mysql.user with an empty host; they are not accounts.
    if (mysql_query(m, "SELECT User, Host FROM mysql.user WHERE Host <> '' ORDER BY User, Host"))
        return fail("SELECT User, Host FROM mysql.user");
    MYSQL_RES* result = mysql_store_result(m);
    if (!result) return fail("reading mysql.user");
    std::vector<auth::Rule> rules;
    while (MYSQL_ROW row = mysql_fetch_row(result)) {
        auth::Rule r;
        r.user = row[0] ? row[0] : "";
        auto pattern = auth::HostPattern::parse(row[1] ? row[1] : "");
        if (!pattern) {
            skipped.push_back(auth::quote_account_part(r.user) + "@" +
                              auth::quote_account_part(row[1] ? row[1] : "") + ": " +
                              pattern.error().message);
            continue;
        }
        r.host = std::move(*pattern);
        r.origin = "backend " + backend->name;
        rules.push_back(std::move(r));
    }
    mysql_free_result(result);
    mysql_close(m);
    return rules;
}

std::vector<auth::Rule> merge_rules(std::vector<auth::Rule> file, std::vector<auth::Rule> backend) {
    std::set<std::string> defined;
    for (const auth::Rule& r : file) defined.insert(r.account());
    for (auth::Rule& r : backend)
        if (!defined.contains(r.account())) file.push_back(std::move(r));
    return file;
}

}  // namespace hostgate
