#pragma once
// The daemon: event-loop threads, listeners, signals.

#include "src/runtime/runtime.h"
#include "src/runtime/upgrade.h"

namespace hostgate {

// Listens on every configured address with one acceptor per event-loop thread (SO_REUSEPORT), or
// on the listeners an upgrade handed over; runs sessions until SIGTERM or SIGINT, or until a new
// process started on SIGUSR2 (`command` again) serves. Returns the process exit status.
int run_server(Runtime& runtime, Inheritance& inherited, const Command& command);

}  // namespace hostgate
