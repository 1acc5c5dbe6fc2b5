#include "src/session/relay.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "auth/account_check.h"
#include "protocol/mysql_command_framer.h"
#include "protocol/mysql_frame.h"
#include "protocol/mysql_messages.h"
#include "protocol/mysql_response_tracker.h"
#include "protocol/mysql_server_errors.h"
#include "protocol/untrusted_text.h"
#include "src/session/kill_statement.h"

namespace hostgate {
namespace {

namespace mysql = protocol::mysql;
namespace text = protocol::text;
using mysql::ServerError;

constexpr std::size_t kMaxKillStatement = 64;  // longer COM_QUERY packets are not looked at

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Relay buffers are lent for a read and its write, not owned by a session: a pump waits for bytes
// without a buffer, so an idle session holds none. Each event-loop thread keeps a few spare ones;
// a session's coroutines never change threads, so a buffer goes back to the list it came from.
class RelayBuffer {
  public:
    static constexpr std::size_t kSize = 16 * 1024;

    RelayBuffer() = default;
    RelayBuffer(const RelayBuffer&) = delete;
    RelayBuffer& operator=(const RelayBuffer&) = delete;
    ~RelayBuffer() { release(); }

    bool held() const { return !bytes_.empty(); }
    void acquire() {
        if (held()) return;
        if (spares().empty()) {
            bytes_.resize(kSize);
        } else {
            bytes_ = std::move(spares().back());
            spares().pop_back();
        }
    }
    void release() {
        if (held() && bytes_.size() == kSize && spares().size() < kSpares)
            spares().push_back(std::move(bytes_));
        bytes_ = {};
    }
    std::vector<std::byte>& bytes() { return bytes_; }

  private:
    static constexpr std::size_t kSpares = 64;
    static std::vector<std::vector<std::byte>>& spares() {
        thread_local std::vector<std::vector<std::byte>> list;
        return list;
    }
    std::vector<std::byte> bytes_;
};

// A pipe for splice(2), lent to a session while bulk bytes flow from its backend to its client on
// plain TCP. An empty pipe goes back to its thread's spares; one with bytes left in it (the
// session ended part way) is closed.
class SplicePipe {
  public:
    SplicePipe() = default;
    SplicePipe(const SplicePipe&) = delete;
    SplicePipe& operator=(const SplicePipe&) = delete;
    ~SplicePipe() { release(); }

    // False when no pipe can be had (out of file descriptors): the caller copies instead.
    bool acquire() {
        if (!spares().empty()) {
            ends_ = spares().back();
            spares().pop_back();
            return true;
        }
        return ::pipe2(ends_.data(), O_NONBLOCK | O_CLOEXEC) == 0;
    }
    int read_end() const { return ends_[0]; }
    int write_end() const { return ends_[1]; }
    std::size_t held = 0;  // bytes in the pipe

  private:
    using Ends = std::array<int, 2>;
    static constexpr std::size_t kSpares = 16;
    struct Spares : std::vector<Ends> {
        ~Spares() {
            for (const Ends& e : *this) close_ends(e);
        }
    };
    static Spares& spares() {
        thread_local Spares list;
        return list;
    }
    static void close_ends(const Ends& e) {
        ::close(e[0]);
        ::close(e[1]);
    }
    void release() {
        if (ends_[0] < 0) return;
        if (held == 0 && spares().size() < kSpares) {
            spares().push_back(ends_);
        } else {
            close_ends(ends_);
        }
        ends_ = {-1, -1};
    }
    Ends ends_{-1, -1};
};

// The rest of a packet at least this long, which the response tracker needs not see (a large
// row), goes from a plaintext backend to a plaintext client through a pipe with splice(2), never
// copied to user space.
constexpr std::size_t kSpliceAtLeast = 32 * 1024;
constexpr std::size_t kSpliceChunk = 64 * 1024;  // a pipe's default capacity

// Reads and writes on the spot never wait while both sides keep up, so a pump could hold its
// thread for as long as a stream lasts. Each pump counts what it moves between waits and, past
// kBytesPerTurn, lets its thread's other sessions run.
class Turns {
  public:
    static constexpr std::size_t kBytesPerTurn = 1024 * 1024;

    void waited() { unwaited_ = 0; }
    // After `n` bytes moved without a wait: whether the pump is to give_others_a_turn() now.
    bool moved(std::size_t n) {
        unwaited_ += n;
        if (unwaited_ < kBytesPerTurn) return false;
        unwaited_ = 0;
        return true;
    }

  private:
    std::size_t unwaited_ = 0;
};

awaitable<void> give_others_a_turn() {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

// A COM_CHANGE_USER hostgate allowed and forwarded, until the backend answers it. hostgate's view
// of the session (its user, its rule's MAX_USER_CONNECTIONS place, the process list, the audit)
// changes only when the backend accepts: a change the backend refuses leaves the session as it
// was. The new rule's place is held meanwhile, and given back if the backend refuses or the
// session ends first.
class UserChange {
  public:
    UserChange(RelayContext& context, std::string user, std::string rule, bool took_place,
               AuditEvent event)
        : ctx_(context),
          user_(std::move(user)),
          rule_(std::move(rule)),
          took_place_(took_place),
          event_(std::move(event)) {}
    UserChange(const UserChange&) = delete;
    UserChange& operator=(const UserChange&) = delete;
    ~UserChange() {
        if (took_place_) ctx_.runtime.rule_counters.release(rule_);
    }

    // The backend's answer.
    void settle(bool accepted) {
        if (!accepted) {
            spdlog::info(
                "session {}: the backend refused COM_CHANGE_USER to {}; the session stays {}'s",
                ctx_.session_id, text::log_literal(user_), text::log_literal(ctx_.user));
            event_.reason = "refused by the backend; still user " + text::log_literal(ctx_.user);
            ctx_.audit(std::move(event_));
            return;
        }
        if (took_place_) {
            if (ctx_.counted_rule) ctx_.runtime.rule_counters.release(*ctx_.counted_rule);
            ctx_.counted_rule = rule_;
            took_place_ = false;
        }
        spdlog::info("session {}: the backend accepted COM_CHANGE_USER from {} to {}",
                     ctx_.session_id, text::log_literal(ctx_.user), text::log_literal(user_));
        event_.reason = "allowed; from user " + text::log_literal(ctx_.user);
        ctx_.audit(std::move(event_));
        ctx_.user = user_;
        ctx_.runtime.sessions.set_user(ctx_.session_id, ctx_.user);
    }

  private:
    RelayContext& ctx_;
    std::string user_;
    std::string rule_;  // the new rule's account
    bool took_place_;   // a MAX_USER_CONNECTIONS place was taken under rule_
    AuditEvent event_;
};

// What the two pumps share: the backend's responses as followed so far, and a change of user
// waiting for its answer.
struct RelayState {
    RelayContext& ctx;
    mysql::ResponseTracker responses;
    std::optional<UserChange> change;
    bool lost_logged = false;
};

// Reads the backend's bytes through the response tracker, settling a COM_CHANGE_USER answered in
// them, before they are passed on: a client that has its answer sees the session as the backend
// has it. A RelayEnd when the backend's answer to a change can no longer be known.
std::optional<RelayEnd> follow(RelayState& relay, protocol::ByteSpan bytes) {
    while (!bytes.empty()) {
        const auto step = relay.responses.read(bytes);
        bytes = bytes.subspan(step.length);
        if (step.change_user_accepted && relay.change) {
            relay.change->settle(*step.change_user_accepted);
            relay.change.reset();
        }
        if (step.length == 0 && !step.change_user_accepted) break;
    }
    if (relay.responses.lost() && !relay.lost_logged) {
        relay.lost_logged = true;
        spdlog::warn(
            "session {}: the backend's responses are no longer followed ({}); a "
            "COM_CHANGE_USER will be refused",
            relay.ctx.session_id, relay.responses.lost_reason());
    }
    if (relay.responses.lost() && relay.change) {
        spdlog::warn("session {}: the answer to COM_CHANGE_USER cannot be known: closed",
                     relay.ctx.session_id);
        return RelayEnd{};
    }
    return std::nullopt;
}

// Splices the rest of a packet the response tracker needs not see (a large row) from the backend
// to the client, never copying it to user space. nullopt once it has passed (or when no pipe can
// be had: the pump copies it instead), or a RelayEnd when either side has closed or failed.
awaitable<std::optional<RelayEnd>> splice_unseen(RelayState& relay, Stream& backend, Stream& client,
                                                 Turns& turns) {
    SplicePipe pipe;
    if (!pipe.acquire()) co_return std::nullopt;
    // The descriptors are asked for at each call, never kept: a session can be closed (KILL,
    // shutdown) while the pump waits, and a number kept could by then name another connection.
    const auto from = [&] { return backend.native_handle(); };  // -1 once closed
    const auto to = [&] { return client.native_handle(); };
    constexpr unsigned kFlags = SPLICE_F_MOVE | SPLICE_F_NONBLOCK;
    for (;;) {
        const std::size_t left = relay.responses.skippable();
        if (left == 0) co_return std::nullopt;
        const ssize_t in = ::splice(from(), nullptr, pipe.write_end(), nullptr,
                                    std::min(left, kSpliceChunk), kFlags);
        if (in == 0) co_return RelayEnd{};  // the backend closed
        if (in > 0) {
            pipe.held += static_cast<std::size_t>(in);
            relay.responses.skip(static_cast<std::size_t>(in));
        } else if (errno == EINTR) {
            continue;
        } else if (errno != EAGAIN) {
            co_return RelayEnd{};
        } else {
            turns.waited();
            backend.drained();
            if (co_await backend.wait_readable()) co_return RelayEnd{};
            continue;
        }
        while (pipe.held > 0) {
            const ssize_t out =
                ::splice(pipe.read_end(), nullptr, to(), nullptr, pipe.held, kFlags);
            if (out > 0) {
                const auto n = static_cast<std::size_t>(out);
                pipe.held -= n;
                relay.ctx.stats.bytes_out.fetch_add(n, std::memory_order_relaxed);
                relay.ctx.runtime.metrics.add_spliced(n);
                if (turns.moved(n)) co_await give_others_a_turn();
            } else if (errno == EAGAIN) {
                turns.waited();
                client.full();
                if (co_await client.wait_writable()) co_return RelayEnd{};
            } else if (errno != EINTR) {
                co_return RelayEnd{};  // the client closed or failed
            }
        }
        relay.ctx.stats.backend_active_ns.store(now_ns(), std::memory_order_relaxed);
    }
}

// Backend to client: bytes as they come, read through the response tracker. The pump waits for
// the backend before it takes a buffer, unless the last read filled one (more is likely waiting).
// The rest of a large packet on plain TCP is handed to splice_unseen().
awaitable<RelayEnd> pump_backend_to_client(RelayState& relay, Stream& backend, Stream& client) {
    RelayContext& ctx = relay.ctx;
    RelayBuffer buffer;
    const bool plaintext = !backend.tls() && !client.tls();
    Turns turns;
    for (bool more = false;;) {
        if (!more) {
            buffer.release();
            turns.waited();
            if (co_await backend.wait_readable()) co_return RelayEnd{};
        }
        buffer.acquire();
        auto [ec, n] = co_await backend.read_ready(asio::buffer(buffer.bytes()));
        if (ec) co_return RelayEnd{};
        if (auto end = follow(relay, {buffer.bytes().data(), n})) co_return *end;
        if (co_await client.write(asio::buffer(buffer.bytes().data(), n))) co_return RelayEnd{};
        ctx.stats.bytes_out.fetch_add(n, std::memory_order_relaxed);
        ctx.stats.backend_active_ns.store(now_ns(), std::memory_order_relaxed);
        more = n == buffer.bytes().size();
        if (turns.moved(n)) co_await give_others_a_turn();
        if (plaintext && relay.responses.skippable() >= kSpliceAtLeast) {
            buffer.release();
            if (auto end = co_await splice_unseen(relay, backend, client, turns)) co_return *end;
            more = true;  // the packet's end, and likely more, is waiting
        }
    }
}

// Client to backend: frames are followed by their headers so that a command's first byte is
// seen. COM_CHANGE_USER is held back whole and decided on; a short COM_QUERY is held back to see
// whether it is a KILL of one of hostgate's connection ids; everything else streams through.
class ClientPump {
    using Step = mysql::CommandFramer::Step;

  public:
    ClientPump(RelayState& relay, Stream& client, Stream& backend, protocol::Bytes pending)
        : relay_(relay), ctx_(relay.ctx), client_(client), backend_(backend) {
        if (pending.empty()) return;
        buffer_.acquire();
        if (pending.size() > buffer_.bytes().size()) buffer_.bytes().resize(pending.size());
        std::copy(pending.begin(), pending.end(), buffer_.bytes().begin());
        end_ = pending.size();
    }

    awaitable<RelayEnd> run() {
        for (;;) {
            std::size_t pos = start_;
            std::optional<RelayEnd> stop;
            while (!stop) {
                const auto step = framer_.next(span(pos, end_ - pos));
                if (step.kind == Step::Kind::need_more) break;
                if (step.kind == Step::Kind::pass) {
                    pos += step.length;
                    continue;
                }
                const std::uint8_t command = step.command.value_or(0);
                ctx_.stats.command.store(command, std::memory_order_relaxed);
                ctx_.stats.command_started_ns.store(now_ns(), std::memory_order_relaxed);
                const bool change_user_command = command == mysql::command::kChangeUser;
                const bool maybe_kill =
                    command == mysql::command::kQuery &&
                    step.length <= mysql::kFrameHeaderLength + kMaxKillStatement;
                if (change_user_command || maybe_kill) {
                    if (step.length > kMaxLoginPacket) co_return oversized_change_user(step.length);
                    if (end_ - pos < step.length) break;  // wait for the whole packet
                    const auto payload = span(pos + mysql::kFrameHeaderLength,
                                              step.length - mysql::kFrameHeaderLength);
                    const auto kill = maybe_kill ? kill_target(payload) : std::nullopt;
                    if (change_user_command || kill) {  // held back: not forwarded as sent
                        if (co_await flush(pos)) co_return RelayEnd{};
                        if (change_user_command) {
                            stop = co_await change_user(payload);
                        } else if (co_await route_kill(kill->first, kill->second)) {
                            co_return RelayEnd{};
                        }
                        framer_.took_command();
                        pos += step.length;
                        start_ = pos;
                        continue;
                    }
                }
                framer_.pass_command();  // streams through with the rest
                relay_.responses.expect(step.command);
            }
            if (stop) co_return *stop;
            if (co_await flush(pos)) co_return RelayEnd{};
            if (start_ == end_) {  // everything passed on: wait without a buffer
                start_ = end_ = 0;
                if (!more_) {
                    buffer_.release();
                    turns_.waited();
                    if (co_await client_.wait_readable()) co_return RelayEnd{};
                }
                buffer_.acquire();
            } else {
                compact();
            }
            auto& bytes = buffer_.bytes();
            auto [ec, n] =
                co_await client_.read_ready(asio::buffer(bytes.data() + end_, bytes.size() - end_));
            if (ec) co_return RelayEnd{};
            more_ = n == bytes.size() - end_;  // a full read: more is likely waiting
            end_ += n;
            if (turns_.moved(n)) co_await give_others_a_turn();
        }
    }

  private:
    protocol::ByteSpan span(std::size_t at, std::size_t n) {
        return {buffer_.bytes().data() + at, n};
    }

    // Writes [start_, to) to the backend.
    awaitable<std::error_code> flush(std::size_t to) {
        if (to == start_) co_return std::error_code{};
        auto ec =
            co_await backend_.write(asio::buffer(buffer_.bytes().data() + start_, to - start_));
        ctx_.stats.bytes_in.fetch_add(to - start_, std::memory_order_relaxed);
        start_ = to;
        co_return ec;
    }

    // Bytes the pump wrote itself (a rewritten command), counted like relayed ones.
    awaitable<std::error_code> to_backend(const protocol::Bytes& bytes) {
        ctx_.stats.bytes_in.fetch_add(bytes.size(), std::memory_order_relaxed);
        co_return co_await backend_.write(asio::buffer(bytes));
    }

    // Moves the bytes not yet passed on (part of a frame header, a held-back packet) to the
    // front, and makes room for more.
    void compact() {
        auto& bytes = buffer_.bytes();
        std::copy(bytes.begin() + static_cast<std::ptrdiff_t>(start_),
                  bytes.begin() + static_cast<std::ptrdiff_t>(end_), bytes.begin());
        end_ -= start_;
        start_ = 0;
        if (end_ == bytes.size()) bytes.resize(bytes.size() * 2);  // a held-back COM_CHANGE_USER
    }

    // Decides a COM_CHANGE_USER by the whole rule of the new user, as a login would be: no rule
    // from this address or REQUIRE SSL on a plaintext session (1045), a rule that names another
    // backend group than the session's (1105), MAX_USER_CONNECTIONS reached (1226). Refused: the
    // relay ends with the error (a byte relay cannot move a session to another backend). So does
    // a change that comes while another waits for its answer, or after a command whose response
    // hostgate cannot follow (1105): the backend's answer could not be known. Allowed: the new
    // rule's place is taken, and the command is forwarded with the auth data emptied and a plugin
    // name no server knows, so that the backend re-challenges with its own switch; the session
    // becomes the new user's when the backend accepts (UserChange).
    awaitable<std::optional<RelayEnd>> change_user(protocol::ByteSpan payload) {
        auto request = mysql::decode_change_user(payload, ctx_.client_capabilities);
        if (!request) {
            spdlog::warn("session {}: malformed COM_CHANGE_USER: {}", ctx_.session_id,
                         request.error().message());
            co_return RelayEnd{};
        }
        const std::string& to = request->username;
        AuditEvent event{.event = SessionEvent::change_user, .user = to, .db = request->database};
        auto refuse = [&](std::string why, mysql::ErrPacket error) {
            spdlog::info("session {}: COM_CHANGE_USER from {} to {} denied: {}", ctx_.session_id,
                         text::log_literal(ctx_.user), text::log_literal(to), why);
            event.reason = "denied: " + why;
            ctx_.audit(std::move(event));
            return RelayEnd{std::move(error)};
        };
        if (relay_.change)
            co_return refuse(
                "another COM_CHANGE_USER still waits for the backend's answer",
                mysql::server_error(ServerError::unknown_error,
                                    "COM_CHANGE_USER refused: another is still under way"));
        if (relay_.responses.lost())
            co_return refuse(
                "the backend's responses are not followed since " + relay_.responses.lost_reason(),
                mysql::server_error(ServerError::unknown_error,
                                    "COM_CHANGE_USER refused after a command hostgate cannot "
                                    "follow; connect as this user instead"));
        const auto checked = auth::check_account(
            *ctx_.runtime.grants(), {.user = to,
                                     .client = ctx_.client,
                                     .tls = ctx_.client_tls,
                                     .using_password = !request->auth_response.empty(),
                                     .max_user_name_length = ctx_.max_user_name_length});
        if (!checked) {
            if (checked.error().rule) event.rule = checked.error().rule->account();
            co_return refuse(checked.error().reason, checked.error().error);
        }
        const auth::Rule& rule = *checked;
        event.rule = rule.account();
        const std::string group = rule.options.backend.empty() ? "default" : rule.options.backend;
        if (group != ctx_.backend->config().group)
            co_return refuse(rule.account() + " is served by backend group '" + group + "', not '" +
                                 ctx_.backend->config().group + "'",
                             mysql::server_error(ServerError::unknown_error,
                                                 "COM_CHANGE_USER refused: this account is served "
                                                 "by another backend group; connect as this user "
                                                 "instead"));
        const bool take_place = ctx_.counted_rule != rule.key();
        if (take_place) {
            if (auto full = ctx_.runtime.rule_counters.take(rule, to))
                co_return refuse(full->reason, full->error);
        }

        spdlog::info(
            "session {}: COM_CHANGE_USER from {} to {} allowed by {}; the backend "
            "checks the password",
            ctx_.session_id, text::log_literal(ctx_.user), text::log_literal(to), rule.account());
        relay_.change.emplace(ctx_, to, rule.key(), take_place, std::move(event));
        request->auth_response.clear();
        request->auth_plugin_name = std::string(kForcedSwitchPlugin);
        if (!request->character_set) request->character_set = ctx_.character_set;
        protocol::Bytes forward;
        mysql::write_packet(forward, 0, [&] {
            protocol::Bytes p;
            mysql::encode_change_user(*request, ctx_.backend_capabilities, p);
            return p;
        }());
        relay_.responses.expect(mysql::command::kChangeUser);
        if (co_await to_backend(forward)) co_return RelayEnd{};
        co_return std::nullopt;
    }

    // A statement the backend answers with `error`, whose message holds no quote.
    static std::string refusal_signal(const mysql::ErrPacket& error) {
        return fmt::format("SIGNAL SQLSTATE '{}' SET MYSQL_ERRNO = {}, MESSAGE_TEXT = '{}'",
                           error.sql_state, error.error_code, error.message);
    }

    // A COM_CHANGE_USER too large to hold back and decide on: the session ends with 1153.
    RelayEnd oversized_change_user(std::size_t size) const {
        spdlog::warn("session {}: a COM_CHANGE_USER of {} bytes, over {}: closed", ctx_.session_id,
                     size, kMaxLoginPacket);
        return RelayEnd{.error = mysql::server_error(ServerError::packet_too_large)};
    }

    // A short COM_QUERY that is a KILL of one of hostgate's connection ids (the mariadb CLI sends
    // KILL QUERY <the id from our greeting> on Ctrl-C): the statement and the session it names.
    std::optional<std::pair<KillStatement, SessionEntry>> kill_target(
        protocol::ByteSpan payload) const {
        auto kill = parse_kill(protocol::as_chars(payload.subspan(1)));
        if (!kill) return std::nullopt;
        auto target = ctx_.runtime.sessions.find(kill->id);
        if (!target) return std::nullopt;  // not ours: the backend's own id, forwarded as sent
        return std::pair{std::move(*kill), std::move(*target)};
    }

    // Rewrites the KILL to the backend's thread id, or refuses it: another user's session (1095),
    // a session on another backend (1094). A refusal is a SIGNAL the backend answers with that
    // error, so that it reaches the client in its turn, behind whatever the backend still sends
    // for earlier commands: only the backend ever writes to the client in the command phase.
    awaitable<std::error_code> route_kill(const KillStatement& kill, const SessionEntry& target) {
        std::string rewritten;
        if (target.user != ctx_.user) {
            rewritten = refusal_signal(
                mysql::server_error(ServerError::kill_denied,
                                    "You are not owner of thread " + std::to_string(kill.id)));
        } else if (target.backend != ctx_.backend) {
            rewritten = refusal_signal(mysql::server_error(
                ServerError::no_such_thread, "Unknown thread id: " + std::to_string(kill.id)));
        } else {
            rewritten = kill.with_id(target.backend_thread);
        }
        spdlog::info("session {}: {} -> {} on the backend", ctx_.session_id, kill.with_id(kill.id),
                     rewritten);
        protocol::Bytes forward;
        const std::string statement = static_cast<char>(mysql::command::kQuery) + rewritten;
        mysql::write_packet(forward, 0, protocol::as_bytes(statement));
        relay_.responses.expect(mysql::command::kQuery);
        co_return co_await to_backend(forward);
    }

    RelayState& relay_;
    RelayContext& ctx_;
    Stream& client_;
    Stream& backend_;
    RelayBuffer buffer_;  // held while bytes wait in it, or a read is under way
    std::size_t start_ = 0, end_ = 0;
    bool more_ = false;
    Turns turns_;
    mysql::CommandFramer framer_;  // where the client's commands start
};

awaitable<RelayEnd> pump_client_to_backend(RelayState& relay, Stream& client, Stream& backend,
                                           protocol::Bytes pending) {
    ClientPump pump(relay, client, backend, std::move(pending));
    co_return co_await pump.run();
}

}  // namespace

awaitable<RelayEnd> run_relay(RelayContext& context, Stream& client, protocol::Bytes client_pending,
                              Stream& backend) {
    RelayState relay{.ctx = context,
                     .responses = mysql::ResponseTracker(context.backend_capabilities,
                                                         context.backend_mariadb_capabilities)};
    auto result =
        co_await (pump_client_to_backend(relay, client, backend, std::move(client_pending)) ||
                  pump_backend_to_client(relay, backend, client));
    co_return std::visit([](RelayEnd e) { return e; }, result);
}

}  // namespace hostgate
