#include "src/backends/monitor.h"

#include <spdlog/spdlog.h>

#include "protocol/mysql_messages.h"
#include "protocol/mysql_resultset.h"
#include "protocol/proxy_protocol.h"
#include "src/runtime/runtime.h"
#include "src/session/backend_login.h"
#include "src/session/native_password.h"
#include "src/session/watchdog.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
namespace cap = protocol::mysql::cap;

std::string describe_err(protocol::ByteSpan payload) {
    auto err = mysql::decode_err(payload);
    return err ? "ERROR " + std::to_string(err->error_code) + ": " + err->message
               : "a malformed error";
}

}  // namespace

awaitable<std::string> check_backend(Runtime& rt, Backend& backend) {
    const auto config = rt.config();
    const protocol::Bytes header = proxy_header_for(backend.config());
    auto connection = co_await connect_backend(backend, header, config->connect_timeout, 1 << 20);
    if (!connection) co_return connection.error().what;
    Stream& stream = *connection->stream;
    Watchdog deadline(co_await asio::this_coro::executor, config->connect_timeout,
                      [&stream] { stream.close(); });
    PacketChannel channel(stream, 1 << 20, std::move(connection->received));
    const auto& greeting = connection->greeting;
    // A backend that does not take the header says so right after its greeting, and closes.
    auto header_refused = [&](protocol::ByteSpan payload) -> std::optional<std::string> {
        const auto err = mysql::decode_err(payload);
        if (!err || !refuses_proxy_header(*err)) return std::nullopt;
        return proxy_header_refusal(*err, stream.local_endpoint().address.to_string());
    };
    if (!channel.buffered().empty()) {
        auto early = co_await channel.read_packet();
        if (!early) co_return "after the greeting: " + early.error().message();
        if (auto refused = header_refused(early->payload)) co_return *refused;
        co_return "after the greeting: " + describe_err(early->payload);
    }

    mysql::HandshakeResponse41 login;
    login.capabilities = (cap::kProtocol41 | cap::kSecureConnection | cap::kPluginAuth |
                          cap::kLongPassword | cap::kTransactions) &
                         greeting.capabilities;
    login.max_packet_size = 1 << 24;
    login.character_set = mysql::kUtf8GeneralCi;
    login.username = config->monitor_user;
    login.auth_response =
        native_password_response(config->monitor_password, greeting.auth_plugin_data);
    login.auth_plugin_name = std::string(kNativePassword);
    protocol::Bytes out;
    mysql::encode_handshake_response(login, out);
    if (co_await channel.write_packet(1, out)) {
        auto said = co_await channel.read_packet();  // what it said before it closed, if readable
        if (said)
            if (auto refused = header_refused(said->payload)) co_return *refused;
        co_return "login: write failed";
    }

    for (;;) {
        auto reply = co_await channel.read_packet();
        if (!reply) co_return "login: " + reply.error().message();
        const auto& p = reply->payload;
        const mysql::AuthReply kind = mysql::classify_auth_reply(p);
        if (kind == mysql::AuthReply::ok) break;
        if (kind == mysql::AuthReply::error) {
            if (auto refused = header_refused(p)) co_return *refused;
            co_return "login as '" + config->monitor_user + "': " + describe_err(p);
        }
        auto request = mysql::decode_auth_switch_request(p);
        if (!request || request->plugin_name != kNativePassword || request->plugin_data.size() < 20)
            co_return "login as '" + config->monitor_user +
                "': the account must use mysql_native_password";
        const auto answer = native_password_response(
            config->monitor_password, protocol::ByteSpan(request->plugin_data).first(20));
        if (co_await channel.write_packet(static_cast<std::uint8_t>(reply->last_sequence_id + 1),
                                          answer))
            co_return "login: write failed";
    }
    const std::byte ping[] = {std::byte{mysql::command::kPing}};
    if (co_await channel.write_packet(0, ping)) co_return "ping: write failed";
    auto pong = co_await channel.read_packet();
    if (!pong) co_return "ping: " + pong.error().message();
    if (pong->payload.empty() ||
        std::to_integer<std::uint8_t>(pong->payload[0]) != mysql::header::kOk)
        co_return "ping: " + describe_err(pong->payload);
    const std::byte quit[] = {std::byte{mysql::command::kQuit}};
    co_await channel.write_packet(0, quit);
    stream.close();
    co_return std::string();
}

awaitable<void> run_monitor(Runtime& rt) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        const auto config = rt.config();
        if (config->monitor_enabled) {
            for (Backend* b : rt.backends.all()) {
                const std::string problem = co_await check_backend(rt, *b);
                if (b->set_health(problem.empty(), problem)) {
                    if (problem.empty()) {
                        spdlog::info("backend {}: up", b->describe());
                    } else {
                        spdlog::warn("backend {}: down: {}", b->describe(), problem);
                    }
                }
            }
        }
        timer.expires_after(config->monitor_interval);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
    }
}

}  // namespace hostgate
