#pragma once
// What every session shares: the configuration and grants in force, the backends, TLS contexts,
// the registry of live sessions.

#include <atomic>
#include <map>
#include <memory>
#include <mutex>

#include "auth/account_check.h"
#include "auth/grant_table.h"
#include "src/backends/backends.h"
#include "src/io/net.h"
#include "src/operations/audit.h"
#include "src/operations/event_history.h"
#include "src/operations/metrics.h"
#include "src/runtime/config.h"
#include "src/runtime/registry.h"
#include "src/session/admission.h"

namespace hostgate {

// Sessions per rule, for MAX_USER_CONNECTIONS. Rules are named by Rule::key() (the account, and
// its endpoint if any), so a count carries over a reload that keeps the rule.
class RuleCounters {
  public:
    // Takes a place for the rule; false when `limit` (0: none) places are taken already.
    bool acquire(const std::string& rule_key, unsigned limit, unsigned& current);
    // Takes a place under the rule's MAX_USER_CONNECTIONS for `user` (a login or a change of
    // user), or says why not: 1226, as MySQL refuses it.
    std::optional<auth::AccountDenial> take(const auth::Rule& rule, std::string_view user);
    void release(const std::string& rule_key);

  private:
    std::mutex mutex_;
    std::map<std::string, unsigned> counts_;
};

class Runtime {
  public:
    // Throws on unusable TLS files.
    Runtime(Config config, std::shared_ptr<const auth::GrantTable> grants);

    // The configuration and grants in force; a session keeps the snapshot it started with.
    std::shared_ptr<const Config> config() const { return std::atomic_load(&config_); }
    std::shared_ptr<const auth::GrantTable> grants() const { return std::atomic_load(&grants_); }

    // Re-reads the config file and the grants file. Either being bad keeps everything in force
    // and returns why; otherwise returns what changed. Listeners, threads, [tls] and backends
    // keep their start-up values (a change to them is reported as needing a restart). With
    // [grants] revoke_existing, sessions the new rules do not allow are closed.
    Expected<std::string, std::string> reload();

    Backends backends;
    std::unique_ptr<asio::ssl::context> client_tls;  // our certificate, when [tls] is set
    asio::ssl::context backend_tls{asio::ssl::context::tls_client};
    SessionRegistry sessions;  // authenticated sessions, for KILL and reloads
    RuleCounters rule_counters;
    std::unique_ptr<AuditLog> audit;  // when [audit] file is set; opened by the server
    EventHistory events;              // the last admin.events_kept events
    // A session event: into `events`, and into the audit log when it is on.
    void record(AuditEvent event);
    // Whether record() keeps anything: callers need not build an event otherwise.
    bool records_events() const { return audit || events.keeps(); }
    Metrics metrics;
    std::atomic<unsigned> active_sessions{0};
    std::atomic<unsigned> handshakes_in_flight{0};
    std::atomic<unsigned> admin_connections{0}, metrics_connections{0};
    ConnectRateLimiter connect_rate;
    LoginThrottle admin_logins;  // failed admin logins per address

    // Set on SIGTERM and after handing over to a new process: /ready answers 503 from then on.
    std::atomic<bool> draining{false};
    // Why a balancer should not send sessions here now (/ready): draining, or no backend of the
    // default group up; nullopt when ready.
    std::optional<std::string> not_ready();

    // A session's PP2_TYPE_UNIQUE_ID for backends: this process's random prefix and the id,
    // "3f2a9c0d71b4e865-42", unique across restarts and instances.
    std::string unique_id(std::uint32_t session) const;

    std::uint32_t next_session_id() {
        return next_session_id_.fetch_add(1, std::memory_order_relaxed);
    }

  private:
    std::shared_ptr<const Config> config_;
    std::shared_ptr<const auth::GrantTable> grants_;
    std::atomic<std::uint32_t> next_session_id_{1};
    // One reload at a time: SIGHUP (on the first event loop) and RELOAD GRANTS (on the admin
    // port's thread) must not leave one's configuration with the other's grants.
    std::mutex reload_mutex_;
};

// Reads the grants file named in the config; the error is ready to print.
Expected<std::shared_ptr<const auth::GrantTable>, std::string> load_grants(const Config& config);

}  // namespace hostgate
