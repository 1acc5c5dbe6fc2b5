// libFuzzer target: the response tracker over any server stream after any commands, delivered
// whole, in pieces cut where the input says, and with the bytes it may skip skipped. Its verdicts
// must not depend on how the stream arrives, no step may reach past what has arrived, and a
// skippable count never exceeds what is left of the stream's current frame.
//
// Input: a count byte, that many command bytes, two cutting bytes, then the server's stream.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/mysql_response_tracker.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

struct Result {
    std::vector<std::pair<std::size_t, bool>> verdicts;
    bool lost;
    bool operator==(const Result&) const = default;
};

Result track(const std::vector<std::uint8_t>& commands, std::uint32_t caps, ByteSpan stream,
             const std::vector<std::size_t>& cuts, bool skip) {
    ResponseTracker tracker(caps, mariadb_cap::kProgress);
    for (const std::uint8_t c : commands) tracker.expect(c == 0xFF ? std::nullopt : std::optional(c));
    Result r{{}, false};
    std::size_t pos = 0;
    auto deliveries = cuts;
    deliveries.push_back(stream.size());
    for (std::size_t upto : deliveries) {
        upto = std::max(pos, std::min(upto, stream.size()));
        while (pos < upto) {
            if (skip && tracker.skippable() > 0) {
                const std::size_t n = std::min(tracker.skippable(), upto - pos);
                tracker.skip(n);
                pos += n;
                continue;
            }
            const auto step = tracker.read(stream.subspan(pos, upto - pos));
            require(step.length <= upto - pos);
            pos += step.length;
            if (step.change_user_accepted) {
                r.verdicts.emplace_back(pos, *step.change_user_accepted);
            } else {
                require(pos == upto);
            }
        }
    }
    r.lost = tracker.lost();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t n = data[0] % 16;
    if (size < 1 + n + 2) return 0;
    std::vector<std::uint8_t> commands(data + 1, data + 1 + n);
    const std::uint8_t cut_byte = data[1 + n], piece_byte = data[2 + n];
    const ByteSpan stream(reinterpret_cast<const std::byte*>(data) + 3 + n, size - 3 - n);
    const std::uint32_t caps = (cut_byte & 1) ? cap::kDeprecateEof : 0;
    const Result whole = track(commands, caps, stream, {}, false);
    require(track(commands, caps, stream, {}, true) == whole);
    const std::size_t cut = stream.empty() ? 0 : cut_byte % (stream.size() + 1);
    require(track(commands, caps, stream, {cut}, piece_byte & 1) == whole);
    std::vector<std::size_t> pieces;
    const std::size_t piece = 1 + piece_byte % 16;
    for (std::size_t at = piece; at < stream.size(); at += piece) pieces.push_back(at);
    require(track(commands, caps, stream, pieces, false) == whole);
    return 0;
}
