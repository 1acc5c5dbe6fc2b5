#include "protocol/mysql_command_framer.h"

#include <algorithm>

namespace hostgate::protocol::mysql {

CommandFramer::Role CommandFramer::role_of(const FrameHeader& h) const {
    if (in_packet_) return packet_role_;                                    // a continuation frame
    if (stream_next_ && h.sequence_id == *stream_next_) return Role::data;  // the stream goes on
    return h.sequence_id == 0 ? Role::command : Role::data;
}

void CommandFramer::enter(const FrameHeader& h, Role role) {
    const bool starts_packet = !in_packet_;
    packet_role_ = role;
    in_packet_ = h.payload_length == kMaxFramePayload;
    frame_left_ = h.payload_length;
    if (role == Role::command) {
        stream_next_.reset();
    } else if (starts_packet && h.payload_length == 0) {
        stream_next_.reset();  // an empty packet ends a stream (LOCAL INFILE's last packet)
    } else {
        stream_next_ = static_cast<std::uint8_t>(h.sequence_id + 1);
    }
}

CommandFramer::Step CommandFramer::next(ByteSpan bytes) {
    if (frame_left_ > 0) {
        const std::size_t n = std::min(frame_left_, bytes.size());
        if (n == 0) return {};
        frame_left_ -= n;
        return {Step::Kind::pass, n, std::nullopt};
    }
    const auto parsed = parse_frame_header(bytes);
    const auto* header = complete(parsed);
    if (!header) return {};
    const FrameHeader h = header->value;
    const Role role = role_of(h);
    if (role == Role::command && !in_packet_) {
        Step step{Step::Kind::command, kFrameHeaderLength + h.payload_length, std::nullopt};
        if (h.payload_length > 0) {
            if (bytes.size() <= kFrameHeaderLength) return {};
            step.command = std::to_integer<std::uint8_t>(bytes[kFrameHeaderLength]);
        }
        waiting_ = h;
        return step;
    }
    enter(h, role);
    const std::size_t n = std::min(frame_left_, bytes.size() - kFrameHeaderLength);
    frame_left_ -= n;
    return {Step::Kind::pass, kFrameHeaderLength + n, std::nullopt};
}

void CommandFramer::pass_command() {
    if (!waiting_) return;
    enter(*waiting_, Role::command);
    frame_left_ += kFrameHeaderLength;  // the header is still to pass, with the payload
    waiting_.reset();
}

void CommandFramer::took_command() {
    if (!waiting_) return;
    enter(*waiting_, Role::command);
    frame_left_ = 0;
    in_packet_ = false;
    waiting_.reset();
}

}  // namespace hostgate::protocol::mysql
