// Generic responses (OK, ERR), authentication exchange packets, and the commands the proxy reads.
#include "protocol/mysql_messages.h"

namespace hostgate::protocol::mysql {
namespace {

Unexpected<std::error_code> fail(errc e) {
    return Unexpected(make_error_code(e));
}

// Reads the first byte and checks it; false (with the error in `e`) when it is another packet.
bool expect_header(ByteReader& r, std::uint8_t wanted, std::error_code& e) {
    if (r.at_end()) {
        e = make_error_code(errc::truncated);
        return false;
    }
    if (r.u8() != wanted) {
        e = make_error_code(errc::unexpected_header);
        return false;
    }
    return true;
}

}  // namespace

Decoded<AuthSwitchRequest> decode_auth_switch_request(ByteSpan payload) {
    ByteReader r(payload);
    std::error_code e;
    if (!expect_header(r, header::kAuthSwitch, e)) return Unexpected(e);  // 0xFE
    AuthSwitchRequest s;
    s.plugin_name = r.nul_string();  // plugin name
    const auto data = r.rest();      // plugin data
    s.plugin_data.assign(data.begin(), data.end());
    if (auto err = finish_error(r)) return Unexpected(err);
    return s;
}

void encode_auth_switch_request(const AuthSwitchRequest& s, Bytes& out) {
    ByteWriter w(out);
    w.u8(header::kAuthSwitch);
    w.nul_string(s.plugin_name);
    w.bytes(s.plugin_data);
}

AuthReply classify_auth_reply(ByteSpan payload) {
    if (payload.empty()) return AuthReply::error;
    switch (std::to_integer<std::uint8_t>(payload[0])) {
        case header::kOk:
            return AuthReply::ok;
        case header::kErr:
            return AuthReply::error;
        case header::kAuthSwitch:
            return AuthReply::auth_switch;
        case header::kAuthMoreData:
            return payload.size() == 2 && std::to_integer<std::uint8_t>(payload[1]) == 3
                       ? AuthReply::fast_auth_success
                       : AuthReply::more_data;
        default:
            return AuthReply::plugin_data;
    }
}

Decoded<AuthMoreData> decode_auth_more_data(ByteSpan payload) {
    ByteReader r(payload);
    std::error_code e;
    if (!expect_header(r, header::kAuthMoreData, e)) return Unexpected(e);  // 0x01
    const auto data = r.rest();                                             // plugin data
    return AuthMoreData{Bytes(data.begin(), data.end())};
}

void encode_auth_more_data(const AuthMoreData& m, Bytes& out) {
    ByteWriter w(out);
    w.u8(header::kAuthMoreData);
    w.bytes(m.data);
}

Decoded<OkPacket> decode_ok(ByteSpan payload, std::uint32_t capabilities) {
    ByteReader r(payload);
    OkPacket ok;
    if (r.at_end()) return fail(errc::truncated);
    ok.header = r.u8();  // 0x00, or 0xFE for OK-as-EOF
    if (ok.header != header::kOk && ok.header != header::kEof) return fail(errc::unexpected_header);
    ok.affected_rows = r.lenenc_int();   // affected_rows
    ok.last_insert_id = r.lenenc_int();  // last_insert_id
    if (capabilities & cap::kProtocol41) {
        ok.status_flags = r.le16();  // status_flags
        ok.warnings = r.le16();      // warnings
    } else if (capabilities & cap::kTransactions) {
        ok.status_flags = r.le16();
    }
    // The info is length-encoded, as MySQL and MariaDB write it (net_store_data), and left out
    // when there is none; with CLIENT_SESSION_TRACK the session state changes may follow.
    if (!r.at_end()) ok.info = r.lenenc_string();  // info
    if ((capabilities & cap::kSessionTrack) && (ok.status_flags & status::kSessionStateChanged) &&
        !r.at_end()) {
        const auto changes = r.lenenc_bytes();  // session state changes
        ok.session_state_changes.assign(changes.begin(), changes.end());
    }
    if (auto e = finish_error(r)) return Unexpected(e);
    return ok;
}

void encode_ok(const OkPacket& ok, std::uint32_t capabilities, Bytes& out) {
    ByteWriter w(out);
    w.u8(ok.header);
    w.lenenc_int(ok.affected_rows);
    w.lenenc_int(ok.last_insert_id);
    if (capabilities & cap::kProtocol41) {
        w.le16(ok.status_flags);
        w.le16(ok.warnings);
    } else if (capabilities & cap::kTransactions) {
        w.le16(ok.status_flags);
    }
    const bool changes = (capabilities & cap::kSessionTrack) &&
                         (ok.status_flags & status::kSessionStateChanged) &&
                         !ok.session_state_changes.empty();
    if (!ok.info.empty() || changes) w.lenenc_string(ok.info);
    if (changes) w.lenenc_bytes(ok.session_state_changes);
}

Decoded<ErrPacket> decode_err(ByteSpan payload) {
    ByteReader r(payload);
    std::error_code e;
    if (!expect_header(r, header::kErr, e)) return Unexpected(e);  // 0xFF
    ErrPacket err;
    err.error_code = r.le16();  // error_code
    if (r.peek() == '#') {
        r.u8();                                     // sql_state_marker
        err.sql_state = r.string(kSqlStateLength);  // sql_state
    }
    err.message = r.rest_string();  // error_message
    if (auto f = finish_error(r)) return Unexpected(f);
    return err;
}

void encode_err(const ErrPacket& err, Bytes& out) {
    ByteWriter w(out);
    w.u8(header::kErr);
    w.le16(err.error_code);
    if (!err.sql_state.empty()) {
        w.u8('#');
        std::string state = err.sql_state;
        state.resize(kSqlStateLength, '0');
        w.string(state);
    }
    w.string(err.message);
}

Decoded<ChangeUser> decode_change_user(ByteSpan payload, std::uint32_t client_capabilities) {
    ByteReader r(payload);
    std::error_code e;
    if (!expect_header(r, command::kChangeUser, e)) return Unexpected(e);  // 0x11
    ChangeUser c;
    c.username = r.nul_string();                                      // user
    const auto auth = (client_capabilities & cap::kSecureConnection)  // auth_plugin_data
                          ? r.bytes(r.u8())
                          : r.nul_bytes();
    c.auth_response.assign(auth.begin(), auth.end());
    c.database = r.nul_string();  // database
    if (!r.at_end()) {
        c.character_set = r.le16();  // character_set
        if (client_capabilities & cap::kPluginAuth) c.auth_plugin_name = r.nul_string();
        if (client_capabilities & cap::kConnectAttrs) {  // connection_attributes
            const auto raw = r.lenenc_bytes();
            c.connect_attributes.assign(raw.begin(), raw.end());
        }
    }
    if (auto f = finish_error(r)) return Unexpected(f);
    if (!decode_connect_attributes(c.connect_attributes)) return fail(errc::bad_attributes);
    return c;
}

void encode_change_user(const ChangeUser& c, std::uint32_t client_capabilities, Bytes& out) {
    ByteWriter w(out);
    w.u8(command::kChangeUser);
    w.nul_string(c.username);
    if (client_capabilities & cap::kSecureConnection) {
        w.u8(static_cast<std::uint8_t>(c.auth_response.size()));
        w.bytes(c.auth_response);
    } else {
        w.bytes(c.auth_response);
        w.u8(0);
    }
    w.nul_string(c.database);
    if (!c.character_set) return;
    w.le16(*c.character_set);
    if (client_capabilities & cap::kPluginAuth) w.nul_string(c.auth_plugin_name);
    if (client_capabilities & cap::kConnectAttrs) w.lenenc_bytes(c.connect_attributes);
}

bool is_quit(ByteSpan payload) {
    return payload.size() == 1 && std::to_integer<std::uint8_t>(payload[0]) == command::kQuit;
}

}  // namespace hostgate::protocol::mysql
