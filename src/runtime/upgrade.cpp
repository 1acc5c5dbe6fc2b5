#include "src/runtime/upgrade.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "src/io/event_loop.h"

extern char** environ;

namespace hostgate {
namespace {

constexpr std::string_view kListenersVariable = "HOSTGATE_LISTENERS";
constexpr std::string_view kReadyVariable = "HOSTGATE_READY_FD";
constexpr int kFirstHandedFd = 3;  // after stdin, stdout and stderr

std::string_view kind_name(Listener::Kind kind) {
    switch (kind) {
        case Listener::Kind::client:
            return "client";
        case Listener::Kind::admin:
            return "admin";
        case Listener::Kind::metrics:
            return "metrics";
    }
    return "client";
}

std::optional<Listener::Kind> kind_named(std::string_view name) {
    for (auto kind : {Listener::Kind::client, Listener::Kind::admin, Listener::Kind::metrics})
        if (kind_name(kind) == name) return kind;
    return std::nullopt;
}

std::optional<int> descriptor(std::string_view text) {
    if (text.empty() || text.size() > 9) return std::nullopt;
    int n = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + (c - '0');
    }
    return n >= kFirstHandedFd ? std::optional(n) : std::nullopt;
}

std::string error_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

}  // namespace

Inheritance Inheritance::from_environment() {
    Inheritance inherited;
    const char* ready = std::getenv(std::string(kReadyVariable).c_str());
    const char* listeners = std::getenv(std::string(kListenersVariable).c_str());
    if (ready) inherited.ready_fd_ = descriptor(ready).value_or(-1);
    // Listeners come only with the pipe that makes this an upgrade.
    std::string_view rest = listeners && inherited.ready_fd_ >= 0 ? listeners : "";
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        const std::string_view entry = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto equals = entry.find('='), at = entry.find('@');
        if (equals == std::string_view::npos || at == std::string_view::npos || at < equals)
            continue;
        const auto kind = kind_named(entry.substr(0, equals));
        const auto fd = descriptor(entry.substr(equals + 1, at - equals - 1));
        if (kind && fd)
            inherited.listeners_.push_back({*kind, std::string(entry.substr(at + 1)), *fd});
    }
    ::unsetenv(std::string(kReadyVariable).c_str());
    ::unsetenv(std::string(kListenersVariable).c_str());
    return inherited;
}

std::vector<int> Inheritance::take(Listener::Kind kind, const protocol::Endpoint& address) {
    std::vector<int> fds;
    const std::string wanted = address.to_string();
    for (Listener& l : listeners_) {
        if (l.fd < 0 || l.kind != kind || l.address != wanted) continue;
        fds.push_back(l.fd);
        ::fcntl(l.fd, F_SETFD, FD_CLOEXEC);
        l.fd = -1;
    }
    return fds;
}

std::vector<std::string> Inheritance::close_untaken() {
    std::vector<std::string> closed;
    for (Listener& l : listeners_) {
        if (l.fd < 0) continue;
        ::close(l.fd);
        l.fd = -1;
        closed.push_back(std::string(kind_name(l.kind)) + " " + l.address);
    }
    return closed;
}

void Inheritance::report_ready() {
    if (ready_fd_ < 0) return;
    static constexpr std::string_view kReady = "ready\n";
    [[maybe_unused]] const auto written = ::write(ready_fd_, kReady.data(), kReady.size());
    ::close(ready_fd_);
    ready_fd_ = -1;
}

Command this_command(int argc, char** argv) {
    Command c;
    std::error_code ec;
    c.path = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    if (ec || c.path.empty()) c.path = argv[0];
    c.argv.assign(argv, argv + argc);
    return c;
}

Expected<Successor, std::string> start_successor(const Command& command,
                                                 const std::vector<Listener>& listeners) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return Unexpected(error_text("pipe"));
    // The child gets the listeners at 3, 4, ... and the pipe's write end after them. Copies above
    // all those numbers first, so that placing one cannot overwrite another.
    std::vector<int> handed;
    for (const Listener& l : listeners) handed.push_back(l.fd);
    handed.push_back(pipe_fds[1]);
    const int count = static_cast<int>(handed.size());
    std::vector<int> copies;
    auto close_all = [&] {
        for (int fd : copies) ::close(fd);
        ::close(pipe_fds[1]);
    };
    for (int fd : handed) {
        const int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, kFirstHandedFd + count);
        if (copy < 0) {
            const std::string why = error_text("dup");
            close_all();
            ::close(pipe_fds[0]);
            return Unexpected(why);
        }
        copies.push_back(copy);
    }

    // Everything the child needs, built before fork(): after it only async-signal-safe calls.
    std::string listeners_variable = std::string(kListenersVariable) + "=";
    for (std::size_t i = 0; i < listeners.size(); ++i)
        listeners_variable += (i ? "," : "") + std::string(kind_name(listeners[i].kind)) + "=" +
                              std::to_string(kFirstHandedFd + static_cast<int>(i)) + "@" +
                              listeners[i].address;
    const std::string ready_variable =
        std::string(kReadyVariable) + "=" + std::to_string(kFirstHandedFd + count - 1);
    std::vector<std::string> environment;
    for (char** e = environ; *e; ++e) {
        const std::string_view v(*e);
        if (v.starts_with(std::string(kListenersVariable) + "=") ||
            v.starts_with(std::string(kReadyVariable) + "="))
            continue;
        environment.emplace_back(v);
    }
    environment.push_back(listeners_variable);
    environment.push_back(ready_variable);
    std::vector<char*> envp, argv;
    for (auto& e : environment) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = command.argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    pid_t pid;
    {
        const ForkFence fence;  // the loops' sockets open now are copied into the child
        pid = ::fork();
    }
    if (pid == 0) {
        for (int i = 0; i < count; ++i)
            if (::dup2(copies[i], kFirstHandedFd + i) < 0) ::_exit(127);  // clears FD_CLOEXEC
        ::syscall(SYS_close_range, kFirstHandedFd + count, UINT_MAX, 0);
        ::execve(command.path.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    const std::string why = pid < 0 ? error_text("fork") : std::string();
    close_all();
    if (pid < 0) {
        ::close(pipe_fds[0]);
        return Unexpected(why);
    }
    return Successor{pid, pipe_fds[0]};
}

void notify_systemd(const std::string& state) {
    const char* socket_path = std::getenv("NOTIFY_SOCKET");
    if (!socket_path || !*socket_path) return;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string_view path(socket_path);
    if (path.size() >= sizeof address.sun_path) return;
    std::memcpy(address.sun_path, path.data(), path.size());
    if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // an abstract socket
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return;
    [[maybe_unused]] const auto sent = ::sendto(
        fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address),
        static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size()));
    ::close(fd);
}

}  // namespace hostgate
