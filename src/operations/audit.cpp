#include "src/operations/audit.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <ctime>
#include <system_error>

#include "protocol/untrusted_text.h"

namespace hostgate {

namespace text = protocol::text;

std::string rfc3339_micros(std::chrono::system_clock::time_point time) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(time.time_since_epoch()).count();
    const std::time_t seconds = static_cast<std::time_t>(micros / 1000000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<long long>(micros % 1000000));
    return stamp;
}

std::string AuditEvent::to_json(std::chrono::system_clock::time_point time) const {
    text::JsonObject o;
    o.text("time", rfc3339_micros(time));
    o.text("event", name(event));
    o.unsigned_number("session", session);
    auto text = [&](const char* key, const std::string& value) {
        if (!value.empty()) o.text(key, value);
    };
    auto number = [&](const char* key, auto value) {
        if (value) o.unsigned_number(key, *value);
    };
    text("client", client);
    text("via", via);
    text("endpoint", endpoint);
    // Names a client chose: a server takes none longer than a few hundred bytes.
    constexpr std::size_t kNameLimit = 1024;
    if (!user.empty()) o.text("user", user, kNameLimit);
    if (!db.empty()) o.text("db", db, kNameLimit);
    text("rule", rule);
    text("backend", backend);
    number("backend_id", backend_id);
    if (tls) o.boolean("tls", *tls);
    text("tls_subject", tls_subject);
    text("proxy_tls", proxy_tls);
    text("reason", reason);
    number("bytes_in", bytes_in);
    number("bytes_out", bytes_out);
    if (duration_s) o.real("duration_s", *duration_s);
    return std::move(o).close();
}

AuditLog::AuditLog(std::filesystem::path path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "a");
    if (!file_)
        throw std::system_error(errno, std::generic_category(), "audit log " + path_.string());
    writer_ = std::thread([this] { run(); });
}

AuditLog::~AuditLog() {
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    wake_.notify_one();
    writer_.join();
    if (file_) std::fclose(file_);
}

void AuditLog::record(const AuditEvent& event, std::chrono::system_clock::time_point time) {
    std::string line = event.to_json(time);
    {
        std::lock_guard lock(mutex_);
        if (queue_.size() >= kMaxQueued) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        queue_.push_back(std::move(line));
    }
    wake_.notify_one();
}

void AuditLog::reopen() {
    {
        std::lock_guard lock(mutex_);
        reopen_ = true;
    }
    wake_.notify_one();
}

void AuditLog::run() {
    std::vector<std::string> batch;
    for (;;) {
        bool reopen = false, stop = false;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || reopen_ || !queue_.empty(); });
            batch.swap(queue_);
            reopen = std::exchange(reopen_, false);
            stop = stop_;
        }
        for (const auto& line : batch) {
            std::fwrite(line.data(), 1, line.size(), file_);
            std::fputc('\n', file_);
        }
        batch.clear();
        std::fflush(file_);
        if (const std::uint64_t dropped = dropped_.load(std::memory_order_relaxed);
            dropped != dropped_logged_) {
            spdlog::warn("audit log {}: {} events dropped so far, the disk being behind",
                         path_.string(), dropped);
            dropped_logged_ = dropped;
        }
        if (reopen) {
            std::FILE* fresh = std::fopen(path_.c_str(), "a");
            if (fresh) {
                std::fclose(file_);
                file_ = fresh;
                spdlog::info("audit log {} reopened", path_.string());
            } else {
                spdlog::error("audit log {}: cannot reopen, still writing the old file",
                              path_.string());
            }
        }
        if (stop) return;
    }
}

}  // namespace hostgate
