#pragma once
// The backend health monitor: every interval it connects to each backend with the PROXY header
// the backend expects (v2 LOCAL, v1 UNKNOWN), logs in as [monitor] user, pings, and quits, so the
// backend counts no aborted connection against hostgate's address. A failure marks the backend
// down (sessions skip it) with the reason; the next success marks it up again.

#include "src/io/net.h"

namespace hostgate {

class Runtime;
class Backend;

// Checks one backend once; returns "" when healthy, else why not.
awaitable<std::string> check_backend(Runtime& runtime, Backend& backend);

// Checks every backend each [monitor] interval_ms, until the executor stops.
awaitable<void> run_monitor(Runtime& runtime);

}  // namespace hostgate
