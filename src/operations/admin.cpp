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

struct Answer {
    std::vector<mysql::ColumnDefinition> columns;  // empty: an OK packet
    std::vector<mysql::TextRow> rows;
    std::optional<mysql::ErrPacket> error;
    std::string info;  // for OK
    bool quit = false;
};

// Text cells are UTF-8 and say so; table() makes them so.
mysql::ColumnDefinition text_column(std::string name) {
    return {.name = std::move(name), .character_set = mysql::kUtf8mb4GeneralCi};
}
mysql::ColumnDefinition number_column(std::string name) {
    return {.name = std::move(name),
            .character_set = mysql::kBinary,
            .type = mysql::column_type::kLongLong};
}

// A result set. Cells may hold bytes a client chose (user and database names): every text cell
// is written in display form, valid UTF-8 with control and invisible characters escaped, so that
// strict clients can decode it and an operator's terminal shows it as it is.
Answer table(std::initializer_list<mysql::ColumnDefinition> columns,
             std::vector<mysql::TextRow> rows) {
    for (auto& row : rows) {
        if (row.size() != columns.size()) {  // a programming error: say so, send no shifted cells
            spdlog::error("admin: a row of {} values for {} columns (first column {})", row.size(),
                          columns.size(), columns.begin()->name);
            Answer a;
            a.error = mysql::server_error(ServerError::unknown_error,
                                          "hostgate cannot answer this: a row does not fit its "
                                          "columns (a bug; the log has it)");
            return a;
        }
        for (auto& cell : row)
            if (cell) *cell = text::display(*cell);
    }
    return {std::vector<mysql::ColumnDefinition>(columns), std::move(rows), std::nullopt, "",
            false};
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
            if (rt_.audit)
                rt_.audit->record(
                    {.event = SessionEvent::admin_denied,
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
        const std::string q = upper_trimmed(sql);
        if (q == "SHOW PROCESSLIST" || q == "SHOW FULL PROCESSLIST") return processlist();
        if (q == "SHOW GRANTS") return grants();
        if (q == "SHOW BACKENDS") return backends();
        if (q == "SHOW STATUS") return status();
        if (q == "RELOAD GRANTS") return reload();
        if (q.starts_with("EXPLAIN ")) return explain(sql);
        if (q.starts_with("KILL ")) return kill(sql);
        if (q.starts_with("SET ")) return {};  // session settings clients send on connect
        if (q == "SELECT @@VERSION_COMMENT LIMIT 1")
            return table({text_column("@@version_comment")}, {{std::string("hostgate admin")}});
        return error(ServerError::parse_error,
                     "Unknown admin command '" + text::display(sql) +
                         "'; try SHOW PROCESSLIST, SHOW FULL PROCESSLIST, SHOW GRANTS, SHOW "
                         "BACKENDS, SHOW STATUS, "
                         "KILL <id>, RELOAD GRANTS, EXPLAIN 'user'@'address' [ENDPOINT 'id']");
    }

    Answer processlist() {
        std::vector<mysql::TextRow> rows;
        auto sessions = rt_.sessions.snapshot();
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
            rows.push_back(
                {std::to_string(id), e.user,
                 protocol::Endpoint{e.client.address, e.client_port}.to_string(), e.via,
                 e.client.endpoint.empty() ? std::nullopt : std::optional(e.client.endpoint),
                 e.backend_name, std::to_string(e.backend_thread),
                 e.db.empty() ? std::nullopt : std::optional(e.db),
                 running ? command_name(s.command.load()) : std::string("Sleep"),
                 std::to_string(seconds), std::string(), e.tls.tls ? "Yes" : "No",
                 e.tls.subject.empty() ? std::nullopt : std::optional(e.tls.subject),
                 std::to_string(s.bytes_in.load()), std::to_string(s.bytes_out.load())});
        }
        return table(
            {number_column("Id"), text_column("User"), text_column("Host"), text_column("Via"),
             text_column("Endpoint"), text_column("Backend"), number_column("Backend_id"),
             text_column("db"), text_column("Command"), number_column("Time"), text_column("State"),
             text_column("TLS"), text_column("TLS_subject"), number_column("Bytes_in"),
             number_column("Bytes_out")},
            std::move(rows));
    }

    Answer grants() {
        std::vector<mysql::TextRow> rows;
        const auto g = rt_.grants();
        std::size_t order = 0;
        for (const auth::Rule& r : g->rules())
            rows.push_back({std::to_string(++order), r.account(), auth::format_options(r.options),
                            r.host.describe(),
                            r.origin.empty()
                                ? rt_.config()->grants_file.string() + ":" + std::to_string(r.line)
                                : r.origin});
        return table({number_column("Order"), text_column("Account"), text_column("Options"),
                      text_column("Host"), text_column("Source")},
                     std::move(rows));
    }

    Answer backends() {
        std::vector<mysql::TextRow> rows;
        for (Backend* b : rt_.backends.all()) {
            const auto& c = b->config();
            const auto traits = b->traits();
            const char* pp = c.proxy_protocol == BackendProxyProtocol::v1   ? "v1"
                             : c.proxy_protocol == BackendProxyProtocol::v2 ? "v2"
                                                                            : "off";
            const char* tls = c.tls == BackendTls::off      ? "off"
                              : c.tls == BackendTls::mirror ? "mirror"
                                                            : "required";
            auto down = b->down_reason();
            rows.push_back({c.name, c.address.to_string(), c.group, std::string(pp),
                            std::string(tls), down ? "No" : "Yes", std::move(down),
                            std::to_string(b->connect_errors()),
                            traits ? std::optional(traits->server_version) : std::nullopt});
        }
        return table(
            {text_column("Name"), text_column("Address"), text_column("Group"),
             text_column("Proxy_protocol"), text_column("TLS"), text_column("Up"),
             text_column("Down_reason"), number_column("Connect_errors"), text_column("Version")},
            std::move(rows));
    }

    Answer status() {
        std::vector<mysql::TextRow> rows{{std::string("version"), std::string(HOSTGATE_VERSION)}};
        const std::string metrics = rt_.metrics.render(rt_);
        for (const std::string_view l : lines(metrics)) {
            if (l[0] == '#') continue;
            const auto space = l.rfind(' ');
            rows.push_back({std::string(l.substr(0, space)), std::string(l.substr(space + 1))});
        }
        return table({text_column("Variable_name"), text_column("Value")}, std::move(rows));
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
        std::vector<mysql::TextRow> rows;
        // ENDPOINT 'id' after the account: as if the client had come through that endpoint.
        const auth::Rule& asked = (*parsed)[0];
        if (asked.options != auth::RuleOptions{.endpoint = asked.options.endpoint})
            return error(ServerError::parse_error,
                         "EXPLAIN takes no option but ENDPOINT: the rules give the others");
        const std::string text = auth::explain(*rt_.grants(), asked.user,
                                               {*address, std::nullopt, asked.options.endpoint});
        for (const std::string_view l : lines(text)) rows.push_back({std::string(l)});
        return table({text_column("Explain")}, std::move(rows));
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
