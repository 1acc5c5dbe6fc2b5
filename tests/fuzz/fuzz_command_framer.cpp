// libFuzzer target: the command framer over any client stream, delivered whole and in pieces cut
// where the input says. The commands it finds must not depend on how the stream was cut, every
// byte must be passed on or taken exactly once, and a pass step must never reach past what has
// arrived.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "protocol/mysql_command_framer.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

struct Seen {
    std::optional<std::uint8_t> command;
    std::size_t at, length;
    bool operator==(const Seen&) const = default;
};

// As the relay does: commands of up to 64 bytes held back whole and taken, others passed.
std::vector<Seen> relay(ByteSpan stream, const std::vector<std::size_t>& cuts) {
    CommandFramer framer;
    std::vector<Seen> seen;
    std::size_t pos = 0, accounted = 0, arrived = 0;
    std::vector<std::size_t> deliveries = cuts;
    deliveries.push_back(stream.size());
    for (const std::size_t upto : deliveries) {
        arrived = std::max(arrived, std::min(upto, stream.size()));
        for (;;) {
            const ByteSpan available = stream.subspan(pos, arrived - pos);
            const auto step = framer.next(available);
            if (step.kind == CommandFramer::Step::Kind::need_more) break;
            if (step.kind == CommandFramer::Step::Kind::pass) {
                require(step.length > 0 && step.length <= available.size());
                pos += step.length;
                accounted += step.length;
                continue;
            }
            require(step.length >= kFrameHeaderLength);
            seen.push_back({step.command, pos, step.length});
            if (step.length <= kFrameHeaderLength + 64) {
                if (available.size() < step.length) {
                    seen.pop_back();  // seen again once whole
                    break;
                }
                framer.took_command();
                pos += step.length;
                accounted += step.length;
            } else {
                framer.pass_command();
            }
        }
    }
    require(pos == accounted);
    return seen;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const ByteSpan stream(reinterpret_cast<const std::byte*>(data) + 2, size - 2);
    const auto whole = relay(stream, {});
    // Cut in two where the first byte says, and in pieces of the second byte's size.
    const std::size_t cut = stream.empty() ? 0 : data[0] % (stream.size() + 1);
    require(relay(stream, {cut}) == whole);
    std::vector<std::size_t> pieces;
    const std::size_t piece = 1 + data[1] % 16;
    for (std::size_t at = piece; at < stream.size(); at += piece) pieces.push_back(at);
    require(relay(stream, pieces) == whole);
    return 0;
}
