#pragma once
// hostgate's log line: "<RFC 3339 UTC time> <level> <message>", one event per line, always.

#include <spdlog/formatter.h>

#include <memory>

namespace hostgate {

// The formatter every sink of the log uses. Messages carry names a client chose, which call sites
// write with protocol::text::log_literal(); as a last safety net, the formatter also writes each
// message in display form (protocol/untrusted_text.h), so that no byte of any message can end a
// line, move the cursor or make the line invalid UTF-8.
std::unique_ptr<spdlog::formatter> make_log_formatter();

}  // namespace hostgate
