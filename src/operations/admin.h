#pragma once
// The admin port: any MySQL client logs in with [admin] user and password and runs
// SHOW PROCESSLIST, SHOW FULL PROCESSLIST, SHOW GRANTS, SHOW BACKENDS, SHOW STATUS, KILL <id>,
// RELOAD GRANTS and EXPLAIN 'user'@'address'.

#include "src/io/net.h"

namespace hostgate {

class Runtime;

// Serves admin sessions on the acceptor until it is closed.
awaitable<void> serve_admin(Runtime& runtime, tcp::acceptor& acceptor);

}  // namespace hostgate
