// libFuzzer target: every connection-phase decoder, and encode -> decode round trips of what
// each accepts. The first input byte picks the decoder; for capability-dependent packets the next
// four bytes are the capabilities.
#include <cstdlib>
#include <cstring>

#include "protocol/mysql_messages.h"

using namespace hostgate::protocol;
using namespace hostgate::protocol::mysql;

namespace {

template <class T, class Decode, class Encode>
void round_trip(ByteSpan payload, Decode decode, Encode encode) {
    const auto first = decode(payload);
    if (!first) return;
    Bytes encoded;
    encode(*first, encoded);
    const auto second = decode(encoded);
    if (!second || !(*second == *first)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    const std::uint8_t which = data[0];
    std::uint32_t caps;
    std::memcpy(&caps, data + 1, 4);
    const ByteSpan payload(reinterpret_cast<const std::byte*>(data + 5), size - 5);

    switch (which % 9) {
        case 0:
            round_trip<HandshakeV10>(payload, decode_handshake_v10, encode_handshake_v10);
            break;
        case 1:
            round_trip<SslRequest>(payload, decode_ssl_request, encode_ssl_request);
            (void)is_ssl_request(payload);
            break;
        case 2:
            round_trip<HandshakeResponse41>(payload, decode_handshake_response,
                                            encode_handshake_response);
            break;
        case 3:
            round_trip<AuthSwitchRequest>(payload, decode_auth_switch_request,
                                          encode_auth_switch_request);
            break;
        case 4:
            round_trip<AuthMoreData>(payload, decode_auth_more_data, encode_auth_more_data);
            break;
        case 5:
            round_trip<OkPacket>(
                payload, [&](ByteSpan b) { return decode_ok(b, caps); },
                [&](const OkPacket& ok, Bytes& out) { encode_ok(ok, caps, out); });
            break;
        case 6: {
            // An ERR without SQL state whose message starts with '#' reads back differently in
            // every client; the protocol cannot tell them apart.
            const auto err = decode_err(payload);
            if (err && err->sql_state.empty() && !err->message.empty() && err->message[0] == '#')
                break;
            round_trip<ErrPacket>(payload, decode_err, encode_err);
            break;
        }
        case 7:
            round_trip<ChangeUser>(
                payload, [&](ByteSpan b) { return decode_change_user(b, caps); },
                [&](const ChangeUser& c, Bytes& out) { encode_change_user(c, caps, out); });
            break;
        case 8:
            (void)decode_connect_attributes(payload);
            (void)is_quit(payload);
            break;
    }
    return 0;
}
