#pragma once
// hostgate's log line: "<RFC 3339 UTC time> <level> <message>", one event per line, always.

#include <spdlog/formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

namespace hostgate {

// The formatter every sink of the log uses. Messages carry names a client chose, which call sites
// write with protocol::text::log_literal(); as a last safety net, the formatter also writes each
// message in display form (protocol/untrusted_text.h), so that no byte of any message can end a
// line, move the cursor or make the line invalid UTF-8.
std::unique_ptr<spdlog::formatter> make_log_formatter();

// Lines for a descriptor that is not a terminal (a file, a pipe, the journal), gathered and
// written in batches of whole lines, each batch with one write(2). Two processes that share the
// descriptor (the old and the new during an upgrade) never split each other's lines.
class LineBatchSink : public spdlog::sinks::base_sink<std::mutex> {
  public:
    explicit LineBatchSink(int fd) : fd_(fd) {}
    ~LineBatchSink() override;

  protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override;

  private:
    static constexpr std::size_t kBatch = 64 * 1024;
    int fd_;
    std::string pending_;
};

}  // namespace hostgate
