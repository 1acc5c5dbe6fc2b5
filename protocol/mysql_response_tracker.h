#pragma once
// Where the server's responses end in the command phase, for a relay that passes the server's
// bytes on as they come and must know what the server answered to one command: COM_CHANGE_USER.
//
// The relay tells the tracker each command it forwards, in order, and shows it every byte the
// server sends. The tracker follows the frames and reads the first bytes of each packet, enough
// to tell an OK, an ERR, an EOF, a LOCAL INFILE request or a column count, and the status flags
// that say whether more results follow. It never needs the rest of a packet: a row's bytes can
// pass unseen (skippable()), so a relay may splice them.
//
// A response is followed only where its shape is known from the command alone:
// - COM_QUERY, COM_STMT_EXECUTE, COM_PROCESS_INFO, COM_STMT_BULK_EXECUTE: OK, ERR, LOCAL INFILE
//   (then OK or ERR) or a result set (column count, definitions, an EOF unless
//   CLIENT_DEPRECATE_EOF, rows, a closing EOF or OK), again while SERVER_MORE_RESULTS_EXISTS;
//   a result set whose definitions end with SERVER_STATUS_CURSOR_EXISTS has no rows yet;
// - COM_STMT_FETCH: rows and their closing packet; COM_STMT_PREPARE: its OK and definitions;
// - COM_FIELD_LIST: definitions up to an EOF; COM_STATISTICS and the one-packet commands;
// - COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA and COM_QUIT: nothing;
// - COM_CHANGE_USER: the authentication exchange up to its OK (accepted) or ERR (refused).
// Any other command (a binlog dump, a command no server of today knows) and any packet that
// cannot be where it is make the tracker lost for good: it says why, and reports no more.
// Result sets with optional metadata (MySQL's CLIENT_OPTIONAL_RESULTSET_METADATA, MariaDB's
// MARIADB_CLIENT_CACHE_METADATA) are not followed: a relay must not let them be negotiated.
//
// The server's bytes are its own: the tracker never takes what a client chose (a row's value)
// for a packet boundary, so no client can make it read an OK where the server sent none.

#include <array>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "protocol/byte_io.h"
#include "protocol/mysql_frame.h"

namespace hostgate::protocol::mysql {

class ResponseTracker {
  public:
    // The capabilities of the connection to the server, as negotiated.
    ResponseTracker(std::uint32_t capabilities, std::uint32_t mariadb_capabilities);

    // The relay forwarded a command (its first byte; none for an empty packet) to the server.
    void expect(std::optional<std::uint8_t> command);

    struct Step {
        std::size_t length = 0;  // bytes read, from the front of those given
        // Set when the answer to a COM_CHANGE_USER ended in them: the server accepted the new
        // user (OK) or refused it (ERR). The step ends right after that packet's first bytes.
        std::optional<bool> change_user_accepted;
    };
    // Reads the server's next bytes: all of them, or up to a COM_CHANGE_USER's answer.
    Step read(ByteSpan bytes);

    // Bytes of the current frame the tracker has no need to see: a relay may pass them on
    // unread, then say so with skip().
    std::size_t skippable() const { return in_frame_ && classified_ ? frame_left_ : 0; }
    void skip(std::size_t n);

    bool lost() const { return !lost_reason_.empty(); }
    const std::string& lost_reason() const { return lost_reason_; }
    // No response is under way or awaited.
    bool idle() const { return expecting_ == Expecting::nothing && queue_.empty(); }

  private:
    // What the next packet of the current response may be.
    enum class Expecting : std::uint8_t {
        nothing,          // no response under way: only a server's last ERR may come
        first,            // OK, ERR, LOCAL INFILE request or a result set's column count
        one_packet,       // any single packet
        column_defs,      // definitions_left_ column definitions
        definitions_eof,  // the EOF after the definitions (without CLIENT_DEPRECATE_EOF)
        rows,             // rows up to a closing EOF/OK, or an ERR
        prepare_ok,       // COM_STMT_PREPARE's OK or an ERR
        field_list,       // column definitions up to an EOF, or an ERR
        change_user,      // authentication packets up to an OK or ERR
    };
    // What follows the definitions being read.
    enum class AfterDefinitions : std::uint8_t { rows, prepared_columns, end };

    static constexpr std::size_t kHead = 24;  // enough for an OK's status flags

    void start_frame(const FrameHeader& h);
    void start_next_response();
    void end_response() { start_next_response(); }
    // `count` column definitions (maybe none), then what `after` says.
    void definitions(std::uint64_t count, AfterDefinitions after);
    void after_definitions();
    // Decides on a packet from its first bytes. Returns the COM_CHANGE_USER verdict, if any.
    std::optional<bool> classify(ByteSpan head);
    // Whether the packet is an EOF, or under CLIENT_DEPRECATE_EOF the OK that replaces it.
    bool closing_packet(ByteSpan head) const;
    // The status flags of an OK (`ok_form`) or EOF packet; nullopt when it is malformed.
    std::optional<std::uint16_t> status_flags(ByteSpan head, bool ok_form) const;
    // After a result's closing packet: the next result, or the end of the response.
    void closed(std::uint16_t flags);
    void lose(std::string why);

    bool deprecate_eof_;
    bool progress_;

    std::deque<std::uint8_t> queue_;  // commands whose responses have not begun
    Expecting expecting_ = Expecting::nothing;
    bool cursor_possible_ = false;  // COM_STMT_EXECUTE: a cursor may be opened
    std::uint64_t definitions_left_ = 0;
    AfterDefinitions after_definitions_ = AfterDefinitions::end;
    std::uint16_t prepared_columns_ = 0;
    bool change_user_started_ = false;  // a packet of the COM_CHANGE_USER answer has come

    // Framing.
    std::array<std::byte, kFrameHeaderLength> header_{};
    std::size_t header_have_ = 0;
    FrameHeader frame_;                    // the current frame's header
    std::size_t frame_left_ = 0;           // payload bytes of the current frame not yet read
    bool in_frame_ = false;                // between a header and the end of its payload
    bool continues_ = false;               // the current packet goes on in the next frame
    std::array<std::byte, kHead> head_{};  // the current packet's first bytes, when they came
    std::size_t head_size_ = 0;            // in pieces: how many have come
    std::size_t head_want_ = 0;            // how many are needed
    bool classified_ = true;               // the current packet has been decided on
    std::string lost_reason_;
};

}  // namespace hostgate::protocol::mysql
