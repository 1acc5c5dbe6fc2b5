#include "src/log_format.h"

#include <spdlog/pattern_formatter.h>

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
