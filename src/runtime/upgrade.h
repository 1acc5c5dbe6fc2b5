#pragma once
// Hitless binary upgrade. On SIGUSR2 a running hostgate starts the binary at its path again, with
// the same arguments, and hands it its listening sockets (the same sockets, so that no connection
// waiting in a backlog is lost). The new process loads its configuration, starts serving on them,
// and writes "ready" on a pipe; only then does the old one stop accepting and drain, as on SIGTERM.
// A new process that fails exits, the pipe ends without "ready", and the old one keeps serving.
//
// What the new process inherits, in its environment:
//   HOSTGATE_LISTENERS = "client=3@127.0.0.1:3306,client=4@127.0.0.1:3306,admin=5@127.0.0.1:4333"
//   HOSTGATE_READY_FD  = "6"
// Descriptors 3 and up are those; every other descriptor of the old process is closed in the new.
//
// systemd (Type=notify): a process started by systemd says READY=1 once it listens; the old one
// says MAINPID=<new pid> once the new one is ready, so systemd follows the new process.

#include <sys/types.h>

#include <string>
#include <vector>

#include "protocol/address.h"
#include "protocol/expected.h"

namespace hostgate {

struct Listener {
    enum class Kind { client, admin, metrics };
    Kind kind = Kind::client;
    std::string address;  // protocol::Endpoint::to_string()
    int fd = -1;
};

// What a process started by an upgrade was handed; nothing for a process started otherwise.
class Inheritance {
  public:
    // Reads HOSTGATE_LISTENERS and HOSTGATE_READY_FD, and removes them from the environment.
    static Inheritance from_environment();

    bool upgrade() const { return ready_fd_ >= 0; }
    // The inherited descriptors of this kind and address, each handed out once.
    std::vector<int> take(Listener::Kind kind, const protocol::Endpoint& address);
    // Closes what no listener took (an address no longer configured); returns their addresses.
    std::vector<std::string> close_untaken();
    // Tells the old process that this one serves. Once.
    void report_ready();

  private:
    std::vector<Listener> listeners_;
    int ready_fd_ = -1;
};

// The binary to start again and its arguments, as this process was started.
struct Command {
    std::string path;  // resolved at start: a package upgrade replaces the file at this path
    std::vector<std::string> argv;
};
Command this_command(int argc, char** argv);

struct Successor {
    pid_t pid = -1;
    int ready_fd = -1;  // read end: "ready\n", or the end of the pipe if it failed
};
// Starts the new process with these listeners.
Expected<Successor, std::string> start_successor(const Command& command,
                                                 const std::vector<Listener>& listeners);

// Sends `state` to systemd's notification socket ($NOTIFY_SOCKET), if there is one.
void notify_systemd(const std::string& state);

}  // namespace hostgate
