// libFuzzer target: the MySQL frame reader, and write -> read round trips of its packets.
#include <cstdlib>

#include "protocol/mysql_frame.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const ByteSpan input(reinterpret_cast<const std::byte*>(data), size);
    constexpr std::size_t kLimit = 1 << 20;
    const auto parsed = read_packet(input, kLimit);
    if (const auto* n = need_more(parsed)) {
        if (n->min_total <= size) std::abort();
        return 0;
    }
    const auto* c = complete(parsed);
    if (!c) return 0;
    if (c->consumed > size || c->value.payload.size() > kLimit) std::abort();

    Bytes written;
    const std::uint8_t next = write_packet(written, c->value.sequence_id, c->value.payload);
    const auto again = read_packet(written, kLimit);
    const auto* c2 = complete(again);
    if (!c2 || c2->consumed != written.size() || c2->value.payload != c->value.payload)
        std::abort();
    if (static_cast<std::uint8_t>(c2->value.last_sequence_id + 1) != next) std::abort();
    return 0;
}
