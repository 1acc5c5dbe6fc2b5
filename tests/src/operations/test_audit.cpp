// The audit log's queue is bounded: when the disk does not keep up, events are dropped and
// counted, never held without limit.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <thread>

#include "src/operations/audit.h"

TEST_CASE("a writer that cannot keep up drops events and counts them") {
    const auto dir =
        std::filesystem::temp_directory_path() / ("hostgate-audit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto fifo = dir / "audit.fifo";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    // A reader that reads nothing yet: the writer blocks once the pipe is full.
    const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    REQUIRE(reader >= 0);
    std::uint64_t dropped = 0;
    std::thread drain;
    {
        hostgate::AuditLog log(fifo);
        const hostgate::AuditEvent event{.event = hostgate::SessionEvent::denied_user,
                                         .user = std::string(200, 'u')};
        constexpr std::size_t kEvents = 40000;
        for (std::size_t i = 0; i < kEvents; ++i)
            log.record(event, std::chrono::system_clock::now());
        dropped = log.dropped();
        // At most kMaxQueued wait in the queue, and one batch of as many is with the writer.
        CHECK(dropped >= kEvents - 2 * hostgate::AuditLog::kMaxQueued - 1000);
        // Drain the pipe so that the log can write what it kept and close.
        drain = std::thread([reader] {
            ::fcntl(reader, F_SETFL, 0);
            char buf[65536];
            while (::read(reader, buf, sizeof buf) > 0) {
            }
        });
    }  // the log writes what it kept, then closes its end: the drain sees the end of the file
    drain.join();
    CHECK(dropped > 0);
    ::close(reader);
    std::filesystem::remove_all(dir);
}
