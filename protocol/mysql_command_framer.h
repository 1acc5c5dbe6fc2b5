#pragma once
// Where the client's commands start in the command phase, for a relay that passes the client's
// bytes on and looks only at commands.
//
// A command is a packet with sequence id 0 that the server reads as a command. Packets that are
// not: continuation frames of a packet of 16 MiB or more, and the packets of a client stream.
// After a command the client sends packets with other sequence ids only in a stream of its own:
// LOCAL INFILE data (from sequence id 2, after the server's 0xFB request, through an empty packet)
// or its replies in an authentication exchange. Inside a stream each packet follows the last
// (2, 3, ..., 255, 0, 1, ...), so a packet with sequence id 0 that follows one with 255 is data,
// whatever its bytes say. All of this is read from the client's stream alone.
//
// What the framer can get wrong is safe: a packet a client sends out of turn with a sequence id
// that is not 0 is never taken for a command, and the server refuses it
// (ER_NET_PACKETS_OUT_OF_ORDER closes the connection), so the server never runs a command the
// framer let through unseen.

#include <cstdint>
#include <optional>

#include "protocol/byte_io.h"
#include "protocol/mysql_frame.h"

namespace hostgate::protocol::mysql {

class CommandFramer {
  public:
    struct Step {
        enum class Kind : std::uint8_t { pass, command, need_more };
        Kind kind = Kind::need_more;
        // pass: bytes to pass on. command: the command's first frame, header included.
        std::size_t length = 0;
        // command: its first byte (the command), or none for an empty packet.
        std::optional<std::uint8_t> command;
    };

    // What the front of `bytes`, the client's next bytes after every step taken, is:
    // - pass: that many bytes are not the start of a command (frame headers, payloads, data); the
    //   framer has moved past them;
    // - command: a command's first frame starts here; the framer waits at its start until told
    //   what became of it: pass_command() or took_command();
    // - need_more: more bytes are needed to tell (a frame header, or a command's first byte).
    Step next(ByteSpan bytes);

    // After a command step: the command goes on as it is; its frames come as pass steps.
    void pass_command();
    // After a command step of one frame (shorter than kMaxFramePayload): the caller took all of
    // its `length` bytes.
    void took_command();

  private:
    enum class Role : std::uint8_t { command, data };
    Role role_of(const FrameHeader& h) const;
    // Moves past a frame header of the given role.
    void enter(const FrameHeader& h, Role role);

    std::size_t frame_left_ = 0;  // payload bytes of the current frame not yet passed
    bool in_packet_ = false;      // the last frame was full: the next one continues its packet
    Role packet_role_ = Role::command;
    std::optional<std::uint8_t> stream_next_;  // in a client stream: its next sequence id
    std::optional<FrameHeader> waiting_;       // the command a command step stopped at
};

}  // namespace hostgate::protocol::mysql
