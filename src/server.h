#pragma once
// The daemon: event-loop threads, listeners, signals.

#include "src/runtime.h"

namespace hostgate {

// Listens on every configured address with one acceptor per event-loop thread (SO_REUSEPORT),
// runs sessions until SIGTERM or SIGINT. Returns the process exit status.
int run_server(Runtime& runtime);

}  // namespace hostgate
