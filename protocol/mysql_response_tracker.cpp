#include "protocol/mysql_response_tracker.h"

#include <algorithm>
#include <utility>

#include "protocol/mysql_messages.h"

namespace hostgate::protocol::mysql {

namespace {

// Commands and what their responses are, beyond the result-set family.
namespace com {
constexpr std::uint8_t kSleep = 0x00;
constexpr std::uint8_t kFieldList = 0x04;
constexpr std::uint8_t kStatistics = 0x09;
constexpr std::uint8_t kProcessInfo = 0x0A;
constexpr std::uint8_t kStmtPrepare = 0x16;
constexpr std::uint8_t kStmtExecute = 0x17;
constexpr std::uint8_t kStmtSendLongData = 0x18;
constexpr std::uint8_t kStmtClose = 0x19;
constexpr std::uint8_t kStmtFetch = 0x1C;
constexpr std::uint8_t kStmtBulkExecute = 0xFA;  // MariaDB
}  // namespace com

constexpr std::uint16_t kCursorExists = 0x0040;  // SERVER_STATUS_CURSOR_EXISTS
constexpr std::size_t kOkPrepareLength = 12;     // up to the warning count
constexpr std::size_t kEofPacketLimit = 9;       // an EOF packet is shorter than this
constexpr std::uint8_t kCatalogDef = 0x03;       // a column definition starts with lenenc "def"

// One-packet answers: OK, ERR or EOF. COM_SLEEP stands for the commands that servers answer with
// "unknown command" (an empty packet counts as COM_SLEEP), which they still recognise.
bool one_packet_answer(std::uint8_t c) {
    switch (c) {
        case com::kSleep:
        case command::kInitDb:
        case 0x05:  // COM_CREATE_DB
        case 0x06:  // COM_DROP_DB
        case 0x07:  // COM_REFRESH
        case 0x08:  // COM_SHUTDOWN
        case 0x0B:  // COM_CONNECT
        case command::kProcessKill:
        case 0x0D:  // COM_DEBUG
        case command::kPing:
        case 0x0F:  // COM_TIME
        case 0x10:  // COM_DELAYED_INSERT
        case 0x14:  // COM_CONNECT_OUT
        case 0x15:  // COM_REGISTER_SLAVE
        case 0x1A:  // COM_STMT_RESET
        case 0x1B:  // COM_SET_OPTION
        case 0x1D:  // COM_DAEMON
        case command::kResetConnection:
            return true;
        default:
            return false;
    }
}

}  // namespace

ResponseTracker::ResponseTracker(std::uint32_t capabilities, std::uint32_t mariadb_capabilities)
    : deprecate_eof_(capabilities & cap::kDeprecateEof),
      progress_(!(capabilities & cap::kMysql) && (mariadb_capabilities & mariadb_cap::kProgress)) {}

void ResponseTracker::expect(std::optional<std::uint8_t> command) {
    if (lost()) return;
    const std::uint8_t c = command.value_or(com::kSleep);
    if (c == command::kQuit || c == com::kStmtClose || c == com::kStmtSendLongData) return;
    queue_.push_back(c);
    if (expecting_ == Expecting::nothing) start_next_response();
}

void ResponseTracker::start_next_response() {
    expecting_ = Expecting::nothing;
    cursor_possible_ = false;
    change_user_started_ = false;
    if (queue_.empty()) return;
    const std::uint8_t c = queue_.front();
    queue_.pop_front();
    switch (c) {
        case command::kQuery:
        case com::kProcessInfo:
        case com::kStmtBulkExecute:
            expecting_ = Expecting::first;
            return;
        case com::kStmtExecute:
            expecting_ = Expecting::first;
            cursor_possible_ = true;
            return;
        case com::kStmtFetch:
            expecting_ = Expecting::rows;
            return;
        case com::kStmtPrepare:
            expecting_ = Expecting::prepare_ok;
            return;
        case com::kFieldList:
            expecting_ = Expecting::field_list;
            return;
        case com::kStatistics:
            expecting_ = Expecting::one_packet;
            return;
        case command::kChangeUser:
            expecting_ = Expecting::change_user;
            return;
        default:
            if (one_packet_answer(c)) {
                expecting_ = Expecting::one_packet;
                return;
            }
            lose("command " + std::to_string(c) + ", whose response is not followed");
    }
}

void ResponseTracker::definitions(std::uint64_t count, AfterDefinitions after) {
    after_definitions_ = after;
    if (count == 0) {
        after_definitions();
        return;
    }
    definitions_left_ = count;
    expecting_ = Expecting::column_defs;
}

void ResponseTracker::after_definitions() {
    switch (after_definitions_) {
        case AfterDefinitions::rows:
            expecting_ = Expecting::rows;
            return;
        case AfterDefinitions::prepared_columns:
            definitions(std::exchange(prepared_columns_, 0), AfterDefinitions::end);
            return;
        case AfterDefinitions::end:
            end_response();
            return;
    }
}

void ResponseTracker::lose(std::string why) {
    if (lost()) return;
    lost_reason_ = std::move(why);
    queue_.clear();
    expecting_ = Expecting::nothing;
}

namespace {
std::uint8_t byte_at(ByteSpan head, std::size_t i) {
    return i < head.size() ? std::to_integer<std::uint8_t>(head[i]) : 0;
}
}  // namespace

bool ResponseTracker::closing_packet(ByteSpan head) const {
    if (head.empty() || byte_at(head, 0) != header::kEof) return false;
    // A row that starts with 0xFE (an 8-byte length) is longer than either form.
    return deprecate_eof_ ? !continues_ : frame_.payload_length < kEofPacketLimit;
}

std::optional<std::uint16_t> ResponseTracker::status_flags(ByteSpan head, bool ok_form) const {
    ByteReader r(head);
    r.u8();
    if (ok_form) {
        r.lenenc_int();  // affected rows
        r.lenenc_int();  // last insert id
    } else if (r.remaining() < 4) {
        return std::uint16_t{0};  // a pre-4.1 EOF: no flags
    } else {
        r.le16();  // warnings
    }
    const std::uint16_t flags = r.le16();
    if (!r.ok()) return std::nullopt;
    return flags;
}

void ResponseTracker::closed(std::uint16_t flags) {
    if (flags & status::kMoreResultsExist) {
        expecting_ = Expecting::first;
    } else {
        end_response();
    }
}

std::optional<bool> ResponseTracker::classify(ByteSpan head) {
    const bool empty = head.empty();
    const std::uint8_t first = byte_at(head, 0);
    if (progress_ && first == header::kErr && byte_at(head, 1) == 0xFF && byte_at(head, 2) == 0xFF)
        return std::nullopt;  // MariaDB's progress report: the statement goes on
    switch (expecting_) {
        case Expecting::nothing:
            // A server may say why before it closes (KILL, shutdown, wait_timeout).
            if (first != header::kErr) lose("a packet the server sent unasked");
            return std::nullopt;
        case Expecting::one_packet:
            end_response();
            return std::nullopt;
        case Expecting::first:
            if (empty) {
                lose("an empty packet where a response starts");
            } else if (first == header::kOk) {
                if (const auto flags = status_flags(head, true)) {
                    closed(*flags);
                } else {
                    lose("a malformed OK packet");
                }
            } else if (first == header::kErr) {
                end_response();
            } else if (first == header::kLocalInfile) {
                // The client sends its file; the server's OK or ERR comes next.
            } else {
                ByteReader r(head);
                const std::uint64_t columns = r.lenenc_int();
                if (!r.ok() || columns == 0 || first == header::kEof) {
                    lose("a response that starts with byte " + std::to_string(first));
                } else {
                    definitions(columns, AfterDefinitions::rows);
                }
            }
            return std::nullopt;
        case Expecting::column_defs:
            if (first != kCatalogDef) {
                lose("a column definition that starts with byte " + std::to_string(first));
            } else if (--definitions_left_ == 0) {
                if (deprecate_eof_) {
                    after_definitions();
                } else {
                    expecting_ = Expecting::definitions_eof;
                }
            }
            return std::nullopt;
        case Expecting::definitions_eof:
            if (first == header::kErr) {
                end_response();
            } else if (!closing_packet(head)) {
                lose("no EOF after the column definitions");
            } else if (const auto flags = status_flags(head, false); !flags) {
                lose("a malformed EOF packet");
            } else if (cursor_possible_ && (*flags & kCursorExists)) {
                end_response();  // a cursor: its rows come with COM_STMT_FETCH
            } else {
                after_definitions();
            }
            return std::nullopt;
        case Expecting::rows:
            if (first == header::kErr) {
                end_response();
            } else if (closing_packet(head)) {
                if (const auto flags = status_flags(head, deprecate_eof_)) {
                    closed(*flags);
                } else {
                    lose("a malformed closing packet");
                }
            } else if (empty) {
                lose("an empty row");
            }
            return std::nullopt;
        case Expecting::prepare_ok:
            if (first == header::kErr) {
                end_response();
            } else if (first != header::kOk || head.size() < kOkPrepareLength) {
                lose("a malformed COM_STMT_PREPARE response");
            } else {
                ByteReader r(head);
                r.bytes(5);  // header, statement id
                const std::uint16_t columns = r.le16();
                const std::uint16_t params = r.le16();
                prepared_columns_ = columns;
                definitions(params, AfterDefinitions::prepared_columns);
            }
            return std::nullopt;
        case Expecting::field_list:
            if (first == header::kErr) {
                end_response();
            } else if (closing_packet(head)) {
                end_response();
            } else if (first != kCatalogDef) {
                lose("a column definition that starts with byte " + std::to_string(first));
            }
            return std::nullopt;
        case Expecting::change_user:
            if (!change_user_started_ && frame_.sequence_id != 1) {
                lose("a COM_CHANGE_USER answer out of sequence");
                return std::nullopt;
            }
            change_user_started_ = true;
            if (empty) {
                lose("an empty packet in an authentication exchange");
                return std::nullopt;
            }
            switch (classify_auth_reply(head)) {
                case AuthReply::ok:
                    end_response();
                    return true;
                case AuthReply::error:
                    end_response();
                    return false;
                default:
                    return std::nullopt;  // a switch or plugin data: the exchange goes on
            }
    }
    return std::nullopt;
}

ResponseTracker::Step ResponseTracker::read(ByteSpan bytes) {
    std::size_t pos = 0;
    for (;;) {
        if (lost()) return {bytes.size(), std::nullopt};  // passed on unread from now on
        if (!in_frame_) {
            // The header, from the bytes where it is whole (as it mostly is), or a piece at a time.
            const std::byte* at = bytes.data() + pos;
            if (header_have_ == 0 && bytes.size() - pos >= kFrameHeaderLength) {
                pos += kFrameHeaderLength;
            } else {
                const std::size_t n =
                    std::min(kFrameHeaderLength - header_have_, bytes.size() - pos);
                std::copy_n(at, n, header_.begin() + static_cast<std::ptrdiff_t>(header_have_));
                header_have_ += n;
                pos += n;
                if (header_have_ < kFrameHeaderLength) break;
                header_have_ = 0;
                at = header_.data();
            }
            start_frame({static_cast<std::uint32_t>(std::to_integer<std::uint32_t>(at[0]) |
                                                    std::to_integer<std::uint32_t>(at[1]) << 8 |
                                                    std::to_integer<std::uint32_t>(at[2]) << 16),
                         std::to_integer<std::uint8_t>(at[3])});
        }
        if (!classified_) {
            // The packet's first bytes: where they lie when they are all here, else gathered.
            ByteSpan head;
            if (head_size_ == 0 && bytes.size() - pos >= head_want_) {
                head = bytes.subspan(pos, head_want_);
                pos += head_want_;
                frame_left_ -= head_want_;
            } else {
                const std::size_t n = std::min(head_want_ - head_size_, bytes.size() - pos);
                std::copy_n(bytes.data() + pos, n,
                            head_.begin() + static_cast<std::ptrdiff_t>(head_size_));
                head_size_ += n;
                pos += n;
                frame_left_ -= n;
                if (head_size_ < head_want_) break;
                head = ByteSpan(head_.data(), head_size_);
                head_size_ = 0;
            }
            classified_ = true;
            const auto verdict = classify(head);
            if (frame_left_ == 0) in_frame_ = false;
            if (verdict) return {pos, verdict};
            continue;
        }
        if (pos == bytes.size()) break;
        const std::size_t n = std::min(frame_left_, bytes.size() - pos);
        pos += n;
        frame_left_ -= n;
        if (frame_left_ == 0) in_frame_ = false;
    }
    return {pos, std::nullopt};
}

void ResponseTracker::start_frame(const FrameHeader& h) {
    frame_ = h;
    in_frame_ = true;
    frame_left_ = h.payload_length;
    const bool continuation = continues_;
    continues_ = h.payload_length == kMaxFramePayload;
    if (continuation) return;  // its packet was classified from its first frame
    head_size_ = 0;
    head_want_ = std::min<std::size_t>(h.payload_length, kHead);
    classified_ = false;
}

void ResponseTracker::skip(std::size_t n) {
    n = std::min(n, skippable());
    frame_left_ -= n;
    if (frame_left_ == 0) in_frame_ = false;
}

}  // namespace hostgate::protocol::mysql
