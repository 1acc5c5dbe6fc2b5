#include "src/operations/log_format.h"

#include <spdlog/pattern_formatter.h>
#include <unistd.h>

#include <cerrno>

#include "protocol/untrusted_text.h"

namespace hostgate {
namespace {

// %* in the pattern: the message in display form.
class OneLineMessage : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        line_.clear();
        protocol::text::append_display(line_, {msg.payload.data(), msg.payload.size()});
        dest.append(line_.data(), line_.data() + line_.size());
    }
    std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<OneLineMessage>();
    }

  private:
    std::string line_;  // kept between lines, so that formatting one allocates nothing
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_log_formatter() {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<OneLineMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %*");
    return formatter;
}

}  // namespace hostgate

namespace hostgate {

LineBatchSink::~LineBatchSink() {
    std::lock_guard lock(mutex_);
    flush_();
}

void LineBatchSink::sink_it_(const spdlog::details::log_msg& msg) {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    pending_.append(line.data(), line.size());
    if (pending_.size() >= kBatch) flush_();
}

void LineBatchSink::flush_() {
    std::string_view rest(pending_);
    while (!rest.empty()) {
        const ssize_t n = ::write(fd_, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // nowhere to write: the lines are dropped, never the process
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    pending_.clear();
}

}  // namespace hostgate
