#include "src/operations/admin.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "auth/explain.h"
#include "auth/grants_file.h"
#include "protocol/mysql_messages.h"
#include "protocol/mysql_resultset.h"
#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"
#include "src/io/packet_channel.h"
#include "src/operations/admin_sql.h"
#include "src/operations/admin_tables.h"
#include "src/runtime/runtime.h"
#include "src/session/admission.h"
#include "src/session/kill_statement.h"
#include "src/session/native_password.h"
#include "src/session/watchdog.h"
#include "src/version.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
namespace cap = protocol::mysql::cap;
namespace text = protocol::text;
using mysql::Refusal;
using mysql::ServerError;

constexpr std::uint32_t kAdminCapabilities =
    cap::kLongPassword | cap::kFoundRows | cap::kConnectWithDb | cap::kProtocol41 |
    cap::kTransactions | cap::kSecureConnection | cap::kMultiResults | cap::kPluginAuth |
    cap::kPluginAuthLenencClientData | cap::kConnectAttrs | cap::kDeprecateEof;

std::string upper_trimmed(std::string_view sql) {
    while (!sql.empty() &&
           (std::isspace(static_cast<unsigned char>(sql.back())) || sql.back() == ';'))
        sql.remove_suffix(1);
    while (!sql.empty() && std::isspace(static_cast<unsigned char>(sql.front())))
        sql.remove_prefix(1);
    std::string out;
    bool space = false;
    for (char c : sql) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

struct Answer {
    std::vector<mysql::ColumnDefinition> columns;  // empty: an OK packet
    std::vector<mysql::TextRow> rows;
    std::optional<mysql::ErrPacket> error;
    std::string info;  // for OK
};

// A result set as an answer.
Answer rows(std::vector<mysql::ColumnDefinition> columns, std::vector<mysql::TextRow> rows) {
    return {std::move(columns), std::move(rows), std::nullopt, ""};
}
Answer shown(AdminTable table) {
    return rows(std::move(table.columns), std::move(table.rows));
}

Answer error(ServerError e, std::string message) {
    Answer a;
    a.error = mysql::server_error(e, std::move(message));
    return a;
}

class AdminSession {
    // Before the login, a few KiB: a login with the connection attributes clients send fits.
    static constexpr std::size_t kMaxLoginPacket = 8 * 1024;
    static constexpr std::size_t kMaxCommandPacket = 1 << 20;

  public:
    AdminSession(Runtime& rt, tcp::socket socket)
        : rt_(rt), stream_(std::move(socket)), channel_(stream_, kMaxLoginPacket) {}

    awaitable<void> run() {
        std::error_code ec;
        peer_ = to_endpoint(stream_.socket().remote_endpoint(ec));
        if (ec) co_return;
        peer_.address = peer_.address.normalized();
        if (rt_.admin_logins.locked(peer_.address, std::chrono::steady_clock::now())) {
            // Locked out after too many failed logins: refused in place of the greeting, as MySQL
            // refuses a blocked host. Logged at debug only, so that retries cannot fill the log.
            spdlog::debug("admin {}: refused: locked out", peer_.to_string());
            const Refusal refusal = Refusal::before_greeting(mysql::server_error(
                ServerError::host_is_blocked,
                "Host '" + peer_.address.to_string() +
                    "' is blocked because of many failed admin logins; try again later"));
            co_await end(refusal);
            co_return;
        }
        if (auto logged_in = co_await login(); !logged_in) {
            co_await end(logged_in.error());
            co_return;
        }
        channel_.set_max_packet(kMaxCommandPacket);
        for (;;) {
            auto packet = co_await channel_.read_packet();
            if (!packet || packet->payload.empty()) co_return;
            const auto command = std::to_integer<std::uint8_t>(packet->payload[0]);
            Answer answer;
            switch (command) {
                case mysql::command::kQuit:
                    co_return;
                case mysql::command::kPing:
                case mysql::command::kInitDb:
                case mysql::command::kResetConnection:
                    break;
                case mysql::command::kQuery:
                    answer = query(std::string(
                        protocol::as_chars(protocol::ByteSpan(packet->payload).subspan(1))));
                    break;
                default:
                    answer = error(ServerError::unknown_command,
                                   "Unknown command " + std::to_string(command));
            }
            if (co_await send(answer)) co_return;
        }
    }

  private:
    // The login: nothing when it succeeds, or how the session ends (a refusal, or none when the
    // client went away).
    awaitable<Expected<void, std::optional<Refusal>>> login() {
        const auto config = rt_.config();
        Watchdog deadline(co_await asio::this_coro::executor, config->handshake_timeout,
                          [this] { stream_.close(); });
        mysql::HandshakeV10 greeting;
        greeting.server_version = "5.5.5-hostgate-admin";
        greeting.connection_id = 0;
        greeting.auth_plugin_data = make_scramble();
        greeting.capabilities = kAdminCapabilities;
        greeting.character_set = mysql::kUtf8mb4GeneralCi;
        greeting.status_flags = mysql::status::kAutocommit;
        greeting.auth_plugin_name = std::string(kNativePassword);
        protocol::Bytes out;
        mysql::encode_handshake_v10(greeting, out);
        if (co_await channel_.write_packet(0, out)) co_return gone();

        auto packet = co_await channel_.read_packet();
        if (!packet) {
            if (packet.error() != mysql::errc::packet_too_large) co_return gone();
            spdlog::warn("admin {}: a login packet over {} bytes", peer_.to_string(),
                         kMaxLoginPacket);
            co_return Unexpected(std::optional(
                Refusal::answering(1, mysql::server_error(ServerError::packet_too_large))));
        }
        std::uint8_t seq = packet->last_sequence_id;
        auto response = mysql::decode_handshake_response(packet->payload);
        if (!response)
            co_return Unexpected(std::optional(
                Refusal::answering(seq, mysql::server_error(ServerError::bad_handshake))));
        capabilities_ = response->capabilities & kAdminCapabilities;
        user_ = response->username;
        protocol::Bytes auth = response->auth_response;
        if ((response->capabilities & cap::kPluginAuth) &&
            response->auth_plugin_name != kNativePassword) {
            // Ask for mysql_native_password with our scramble (and its NUL, which clients expect).
            protocol::Bytes data = greeting.auth_plugin_data;
            data.push_back(std::byte{0});
            out.clear();
            mysql::encode_auth_switch_request({std::string(kNativePassword), data}, out);
            if (co_await channel_.write_packet(++seq, out)) co_return gone();
            auto reply = co_await channel_.read_packet();
            if (!reply) co_return gone();
            seq = reply->last_sequence_id;
            auth = reply->payload;
        }
        if (user_ != config->admin_user ||
            !native_password_matches(greeting.auth_plugin_data, auth,
                                     config->admin_password_stage2)) {
            const auto now = std::chrono::steady_clock::now();
            const auto delay = rt_.admin_logins.failed(peer_.address, now);
            const bool locked = rt_.admin_logins.locked(peer_.address, now);
            spdlog::warn("admin {}: login refused for user {}{}", peer_.to_string(),
                         text::log_literal(user_),
                         locked ? fmt::format("; {} failures: locked out for {} min",
                                              LoginThrottle::kLockoutFailures,
                                              LoginThrottle::kLockout.count())
                                : "");
            rt_.record({.event = SessionEvent::admin_denied,
                        .client = peer_.to_string(),
                        .user = user_,
                        .reason = locked ? "wrong password; locked out" : "wrong password"});
            // Each failure from this address makes its next refusal wait longer.
            asio::steady_timer wait(co_await asio::this_coro::executor, delay);
            co_await wait.async_wait(use_nothrow);
            co_return Unexpected(std::optional(Refusal::answering(
                seq, mysql::server_error(
                         ServerError::access_denied,
                         "Access denied for user '" + user_ + "'@'" + peer_.address.to_string() +
                             "' (using password: " + (auth.empty() ? "NO" : "YES") + ")"))));
        }
        deadline.disarm();
        rt_.admin_logins.succeeded(peer_.address);
        out.clear();
        mysql::encode_ok({.status_flags = mysql::status::kAutocommit}, capabilities_, out);
        if (co_await channel_.write_packet(seq + 1, out)) co_return gone();
        spdlog::info("admin {}: {} logged in", peer_.to_string(), text::log_literal(user_));
        co_return Expected<void, std::optional<Refusal>>{};
    }
    static Unexpected<std::optional<Refusal>> gone() {
        return Unexpected(std::optional<Refusal>());
    }

    Answer query(const std::string& sql) {
        try {
            return dispatch(sql);
        } catch (const std::invalid_argument& e) {  // a row that does not fit its columns
            spdlog::error("admin: {} (a bug)", e.what());
            return error(ServerError::unknown_error,
                         "hostgate cannot answer this: a row does not fit its columns (a bug; "
                         "the log has it)");
        }
    }

    Answer dispatch(const std::string& sql) {
        const std::string q = upper_trimmed(sql);
        if (q == "SHOW PROCESSLIST" || q == "SHOW FULL PROCESSLIST")
            return shown(processlist_table(rt_));
        if (q == "SHOW GRANTS") return shown(grants_table(rt_));
        if (q == "SHOW BACKENDS") return shown(backends_table(rt_));
        if (q == "SHOW STATUS") return shown(status_table(rt_));
        if (q == "SHOW TABLES") {
            std::vector<mysql::TextRow> names;
            for (const auto name : kAdminTables) names.push_back({std::string(name)});
            return rows({text_column("Tables_in_hostgate")}, std::move(names));
        }
        if (q == "RELOAD GRANTS") return reload();
        if (q.starts_with("EXPLAIN ")) return explain(sql);
        if (q.starts_with("KILL ")) return kill(sql);
        if (q.starts_with("SET ")) return {};  // session settings clients send on connect
        if (q == "SELECT @@VERSION_COMMENT LIMIT 1")
            return rows({text_column("@@version_comment")}, {{std::string("hostgate admin")}});
        return select(sql);
    }

    // SQL over the admin tables, on a snapshot of those it names.
    Answer select(const std::string& sql) {
        std::vector<AdminTable> snapshot;
        for (const auto name : tables_named_in(sql)) snapshot.push_back(admin_table(rt_, name));
        auto result = run_admin_sql(sql, snapshot, {.time = rt_.config()->admin_query_time});
        if (!result) {
            Answer a;
            a.error = std::move(result).error();
            if (a.error->message.find("syntax error") != std::string::npos)
                a.error->message +=
                    "; the admin port takes SELECT over " + admin_tables_in_words() +
                    " (SQLite's SQL), and SHOW PROCESSLIST, SHOW FULL PROCESSLIST, SHOW GRANTS, "
                    "SHOW BACKENDS, SHOW STATUS, SHOW TABLES, KILL <id>, RELOAD GRANTS, EXPLAIN "
                    "'user'@'address' [ENDPOINT 'id']";
            return a;
        }
        return rows(std::move(result->columns), std::move(result->rows));
    }

    Answer reload() {
        auto result = rt_.reload();
        rt_.metrics.count_reload(result.has_value());
        if (!result) {
            spdlog::error("admin RELOAD GRANTS failed, the previous rules stay in force: {}",
                          result.error());
            return error(ServerError::unknown_error,
                         "Reload failed, the previous rules stay in force: " + result.error());
        }
        spdlog::info("admin RELOAD GRANTS: {}", *result);
        Answer a;
        a.info = *result;
        return a;
    }

    Answer explain(const std::string& sql) {
        // EXPLAIN 'user'@'address' [ENDPOINT 'id']: read as a grants-file line would be.
        const auto at = sql.find_first_not_of(" \t", upper_trimmed(sql).find("EXPLAIN") + 7);
        std::string account = sql.substr(std::min(at, sql.size()));
        while (!account.empty() &&
               (account.back() == ';' || std::isspace(static_cast<unsigned char>(account.back()))))
            account.pop_back();
        auto parsed = auth::parse_grants(account);
        const auto address = parsed && parsed->size() == 1
                                 ? protocol::parse_ip((*parsed)[0].host.text())
                                 : std::nullopt;
        if (!address)
            return error(ServerError::parse_error,
                         "EXPLAIN takes 'user'@'address' with an IPv4 or IPv6 address, and "
                         "optionally ENDPOINT 'id'");
        // ENDPOINT 'id' after the account: as if the client had come through that endpoint.
        const auth::Rule& asked = (*parsed)[0];
        if (asked.options != auth::RuleOptions{.endpoint = asked.options.endpoint})
            return error(ServerError::parse_error,
                         "EXPLAIN takes no option but ENDPOINT: the rules give the others");
        const std::string text = auth::explain(*rt_.grants(), asked.user,
                                               {*address, std::nullopt, asked.options.endpoint});
        return shown(lines_table("explain", "Explain", text));
    }

    Answer kill(const std::string& sql) {
        const auto k = parse_kill(sql);
        if (!k || k->modifiers.find("QUERY") != std::string::npos)
            return error(ServerError::parse_error,
                         "KILL takes a session id from SHOW PROCESSLIST: KILL <id>");
        const auto entry = rt_.sessions.find(k->id);
        if (!entry)
            return error(ServerError::no_such_thread,
                         "Unknown thread id: " + std::to_string(k->id));
        spdlog::info("admin {}: KILL {} (user {}, {})", peer_.to_string(), k->id,
                     text::log_literal(entry->user), entry->client.address.to_string());
        rt_.sessions.terminate(k->id);
        return {};
    }

    awaitable<std::error_code> send(const Answer& a) {
        protocol::Bytes out;
        if (a.error) {
            protocol::Bytes p;
            mysql::encode_err(*a.error, p);
            mysql::write_packet(out, 1, p);
        } else if (a.columns.empty()) {
            protocol::Bytes p;
            mysql::encode_ok({.status_flags = mysql::status::kAutocommit, .info = a.info},
                             capabilities_, p);
            mysql::write_packet(out, 1, p);
        } else {
            mysql::write_result_set(out, 1, capabilities_, a.columns, a.rows);
        }
        co_return co_await channel_.write_raw(out);
    }

    // Sends the refusal, if any, and closes the connection. Pass a named one: g++ 12 destroys
    // temporaries built in a co_await expression twice.
    awaitable<void> end(const std::optional<Refusal>& refusal) {
        if (refusal) {
            const protocol::Bytes wire = refusal->wire();
            co_await channel_.write_raw(wire);
        }
        stream_.close();
    }

    Runtime& rt_;
    Stream stream_;
    PacketChannel channel_;
    protocol::Endpoint peer_;
    std::uint32_t capabilities_ = 0;
    std::string user_;
};

awaitable<void> run_admin_session(Runtime& rt, tcp::socket socket) {
    Slot slot(rt.admin_connections, rt.config()->admin_max_connections);
    if (!slot.held()) {
        // As the client port answers over max_connections.
        const auto error = mysql::server_error(ServerError::too_many_connections);
        co_await refuse_before_greeting(socket, error);
        co_return;
    }
    try {
        AdminSession session(rt, std::move(socket));
        co_await session.run();
    } catch (const std::exception& e) {
        spdlog::error("admin session: {}", e.what());
    }
}

}  // namespace

awaitable<void> serve_admin(Runtime& rt, tcp::acceptor& acceptor) {
    co_await accept_each(
        acceptor, [&rt](tcp::socket socket) { return run_admin_session(rt, std::move(socket)); });
}

}  // namespace hostgate
