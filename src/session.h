#pragma once
// One client session, top to bottom: PROXY header, host check, greeting, TLS, grant check,
// backend with a PROXY header, authentication passed through, then the relay.

#include <cstdint>

#include "src/net.h"
#include "src/runtime.h"
#include "src/stream.h"

namespace hostgate {

// Runs the session to its end; never throws.
awaitable<void> run_session(Runtime& runtime, Stream client, std::uint32_t id);

}  // namespace hostgate
