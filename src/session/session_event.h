#pragma once
// The events of a session, each named once: the log, the audit's "event" field and the metrics'
// hostgate_connections_total{outcome} label take their names from here, so that an event no
// table knows fails to compile.

#include <array>
#include <cstdint>
#include <string_view>

namespace hostgate {

enum class SessionEvent : std::uint8_t {
    connect,               // a client connected (audit only)
    proxy_rejected,        // a PROXY header missing, malformed or from an untrusted peer
    denied_rate,           // over max_connect_rate_per_ip or max_handshakes
    denied_host,           // no rule for the client's host (1130)
    denied_user,           // no rule for the user, REQUIRE SSL, MAX_USER_CONNECTIONS
    bad_handshake,         // a login packet hostgate cannot take
    auth_ok,               // the backend accepted the login
    auth_failed,           // no backend, or the backend refused
    too_many_connections,  // over max_connections, refused before a session started
    change_user,           // a COM_CHANGE_USER, allowed or denied
    disconnect,            // the session ended
    admin_denied,          // a failed admin login
};

struct SessionEventInfo {
    SessionEvent event;
    std::string_view name;
    bool outcome;  // counted in hostgate_connections_total{outcome="<name>"}
};

// Every event, in the order the metrics list their outcomes.
inline constexpr std::array<SessionEventInfo, 12> kSessionEvents = {{
    {SessionEvent::auth_ok, "auth_ok", true},
    {SessionEvent::auth_failed, "auth_failed", true},
    {SessionEvent::denied_host, "denied_host", true},
    {SessionEvent::denied_user, "denied_user", true},
    {SessionEvent::proxy_rejected, "proxy_rejected", true},
    {SessionEvent::too_many_connections, "too_many_connections", true},
    {SessionEvent::change_user, "change_user", true},
    {SessionEvent::connect, "connect", false},
    {SessionEvent::denied_rate, "denied_rate", false},
    {SessionEvent::bad_handshake, "bad_handshake", false},
    {SessionEvent::disconnect, "disconnect", false},
    {SessionEvent::admin_denied, "admin_denied", false},
}};

constexpr const SessionEventInfo& info(SessionEvent e) {
    for (const auto& i : kSessionEvents)
        if (i.event == e) return i;
    return kSessionEvents[0];  // unreachable: every event is in the table (checked below)
}

constexpr std::string_view name(SessionEvent e) {
    return info(e).name;
}

namespace detail {
constexpr bool every_event_listed_once() {
    for (std::uint8_t v = 0; v <= static_cast<std::uint8_t>(SessionEvent::admin_denied); ++v) {
        int found = 0;
        for (const auto& i : kSessionEvents) found += static_cast<std::uint8_t>(i.event) == v;
        if (found != 1) return false;
    }
    return true;
}
}  // namespace detail
static_assert(detail::every_event_listed_once(), "kSessionEvents lists each event once");

// Why a connection was refused, for hostgate_refusals_total{reason}: a few stable names, each
// under one event (whose log line and audit reason say more).
enum class RefusalReason : std::uint8_t {
    proxy_header_missing,    // a trusted peer sent none (proxy_protocol = "required")
    proxy_header_malformed,  // a header hostgate cannot read
    proxy_header_untrusted,  // a header from a peer not in trusted_proxies
    connect_rate,            // over max_connect_rate_per_ip
    max_handshakes,          // over max_handshakes in flight
    max_connections,         // over max_connections
    bad_handshake,           // a login packet hostgate cannot take
    no_rule_for_host,        // 1130
    no_rule_for_user,        // 1045: no rule for this user from this address
    user_name_too_long,      // over max_user_name_length
    require_not_met,         // the rule's REQUIRE
    max_user_connections,    // 1226
    no_backend,              // no backend of the rule's group answers, or none is up
    backend_refused,         // the backend refused the login (its own grants, a wrong password)
    backend_error,           // the backend's greeting, TLS or answer did not let the login go on
};

struct RefusalReasonInfo {
    RefusalReason reason;
    std::string_view name;
    SessionEvent event;
};

inline constexpr std::array<RefusalReasonInfo, 15> kRefusalReasons = {{
    {RefusalReason::proxy_header_missing, "proxy_header_missing", SessionEvent::proxy_rejected},
    {RefusalReason::proxy_header_malformed, "proxy_header_malformed", SessionEvent::proxy_rejected},
    {RefusalReason::proxy_header_untrusted, "proxy_header_untrusted", SessionEvent::proxy_rejected},
    {RefusalReason::connect_rate, "connect_rate", SessionEvent::denied_rate},
    {RefusalReason::max_handshakes, "max_handshakes", SessionEvent::denied_rate},
    {RefusalReason::max_connections, "max_connections", SessionEvent::too_many_connections},
    {RefusalReason::bad_handshake, "bad_handshake", SessionEvent::bad_handshake},
    {RefusalReason::no_rule_for_host, "no_rule_for_host", SessionEvent::denied_host},
    {RefusalReason::no_rule_for_user, "no_rule_for_user", SessionEvent::denied_user},
    {RefusalReason::user_name_too_long, "user_name_too_long", SessionEvent::denied_user},
    {RefusalReason::require_not_met, "require_not_met", SessionEvent::denied_user},
    {RefusalReason::max_user_connections, "max_user_connections", SessionEvent::denied_user},
    {RefusalReason::no_backend, "no_backend", SessionEvent::auth_failed},
    {RefusalReason::backend_refused, "backend_refused", SessionEvent::auth_failed},
    {RefusalReason::backend_error, "backend_error", SessionEvent::auth_failed},
}};

constexpr const RefusalReasonInfo& info(RefusalReason r) {
    return kRefusalReasons[static_cast<std::size_t>(r)];
}

namespace detail {
constexpr bool reasons_in_order() {
    for (std::size_t i = 0; i < kRefusalReasons.size(); ++i)
        if (static_cast<std::size_t>(kRefusalReasons[i].reason) != i) return false;
    return static_cast<std::size_t>(RefusalReason::backend_error) + 1 == kRefusalReasons.size();
}
}  // namespace detail
static_assert(detail::reasons_in_order(), "kRefusalReasons lists each reason once, in order");

}  // namespace hostgate
