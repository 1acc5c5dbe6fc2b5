#pragma once
// The command phase: bytes pumped both ways, with the client's commands framed so that
// COM_CHANGE_USER is checked against the grants before it reaches the backend, and the backend's
// responses followed so that the session changes user only when the backend accepts.

#include <functional>
#include <optional>
#include <string>

#include "auth/grant_table.h"
#include "protocol/byte_io.h"
#include "src/io/stream.h"
#include "src/operations/audit.h"
#include "src/runtime/registry.h"
#include "src/runtime/runtime.h"
#include "src/session/backend_login.h"

namespace hostgate {

struct RelayContext {
    Runtime& runtime;
    std::uint32_t session_id;
    const Backend* backend;
    auth::ClientHost client;
    std::uint32_t client_capabilities;
    std::uint32_t backend_capabilities;  // the backend leg's, as hostgate logged in with
    std::uint32_t backend_mariadb_capabilities;
    std::uint8_t character_set;
    auth::TlsFacts client_tls;
    unsigned max_user_name_length;             // longer COM_CHANGE_USER names get 1045
    std::string& user;                         // updated when the backend accepts a COM_CHANGE_USER
    std::optional<std::string>& counted_rule;  // the rule whose MAX_USER_CONNECTIONS place is held
    SessionStats& stats;                       // bytes, the last command, backend activity
    std::function<void(AuditEvent)> audit;     // the session's fields are filled in by the session
};

struct RelayEnd {
    // Set when the session ends on a command refused (a COM_CHANGE_USER the new user's rule does
    // not allow) or one the relay cannot take; the caller sends it to the client.
    std::optional<protocol::mysql::ErrPacket> error;
};

// Relays until either side closes. `client_pending` are client bytes already read.
awaitable<RelayEnd> run_relay(RelayContext& context, Stream& client, protocol::Bytes client_pending,
                              Stream& backend);

}  // namespace hostgate
