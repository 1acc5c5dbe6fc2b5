#pragma once
// One client session, top to bottom: PROXY header, host check, greeting, TLS, grant check,
// backend with a PROXY header, authentication passed through, then the relay.

#include <cstdint>

#include "src/io/net.h"
#include "src/io/stream.h"
#include "src/runtime/runtime.h"

namespace hostgate {

// Runs the session to its end; never throws.
awaitable<void> run_session(Runtime& runtime, Stream client, std::uint32_t id);

}  // namespace hostgate
