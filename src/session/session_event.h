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

}  // namespace hostgate
