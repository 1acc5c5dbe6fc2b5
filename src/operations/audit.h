#pragma once
// The audit log: one JSON object per line per session event. Writers only queue a line; a
// thread of its own writes them, so the event loops never wait on the disk.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "src/session/session_event.h"

namespace hostgate {

// One event. Empty strings and absent numbers are left out of the JSON object. Text fields may
// hold any bytes a client sent: the line stays valid UTF-8 JSON (protocol/untrusted_text.h), and a
// field that is not UTF-8 is followed by "<field>_hex" with its exact bytes.
struct AuditEvent {
    SessionEvent event = SessionEvent::connect;
    std::uint32_t session = 0;
    std::string client;    // real client ip:port
    std::string via;       // trusted proxy ip:port, empty if direct
    std::string endpoint;  // the cloud endpoint the client came through, empty if none
    std::string user;
    std::string db;
    std::string rule;  // "'app'@'10.1.%' (line 7)"
    std::string backend;
    std::optional<std::uint32_t> backend_id;
    std::optional<bool> tls;
    std::string tls_subject;  // the client certificate's subject, when it presented one
    std::string proxy_tls;    // what a trusted proxy's PP2_TYPE_SSL TLV said, if it sent one
    std::string reason;
    std::optional<std::uint64_t> bytes_in;   // client to backend
    std::optional<std::uint64_t> bytes_out;  // backend to client
    std::optional<double> duration_s;

    // The JSON line, without the newline; `time` is RFC 3339 UTC with microseconds.
    std::string to_json(std::chrono::system_clock::time_point time) const;
};

// RFC 3339 UTC with microseconds, "2026-12-02T19:31:16.123456Z": the audit's and the events
// table's time, which sorts as text in time order.
std::string rfc3339_micros(std::chrono::system_clock::time_point time);

class AuditLog {
  public:
    // Opens (appends to) the file; throws std::system_error when it cannot.
    explicit AuditLog(std::filesystem::path path);
    ~AuditLog();  // writes everything queued, then closes
    AuditLog(const AuditLog&) = delete;
    AuditLog& operator=(const AuditLog&) = delete;

    // Queues the event's line; drops it, and counts it, when kMaxQueued lines wait already (the
    // disk is slower than the events), so that a flood of refused logins cannot fill memory.
    void record(const AuditEvent& event, std::chrono::system_clock::time_point time);
    // Events dropped so far.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

    static constexpr std::size_t kMaxQueued = 10000;
    // Closes and reopens the file by name (after log rotation moved it).
    void reopen();

  private:
    void run();

    std::filesystem::path path_;
    std::FILE* file_ = nullptr;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::string> queue_;
    bool reopen_ = false;
    std::atomic<std::uint64_t> dropped_{0};
    std::uint64_t dropped_logged_ = 0;  // by the writer thread
    bool stop_ = false;
    std::thread writer_;
};

}  // namespace hostgate
