"""A minimal MySQL client for tests that must see the wire as it is: it logs in with
mysql_native_password, reports an ERR whatever its sequence id (MariaDB answers a refused proxied
client with a greeting and then ERR 1130 at sequence 1, which PyMySQL rejects as out of order),
and runs one text query."""
import hashlib
import socket
import struct

CLIENT_LONG_PASSWORD = 1
CLIENT_CONNECT_WITH_DB = 1 << 3
CLIENT_LOCAL_FILES = 1 << 7
CLIENT_PROTOCOL_41 = 1 << 9
CLIENT_SECURE_CONNECTION = 1 << 15
CLIENT_PLUGIN_AUTH = 1 << 19


class MySQLError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(code, message)
        self.code = code
        self.message = message


def open_from(source: str, port: int, timeout: float = 60) -> socket.socket:
    """A TCP connection to 127.0.0.1:port from the loopback address `source` (127.0.0.x acts as a
    distinct client)."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_packet(sock: socket.socket):
    """(sequence id, payload) of the next frame."""
    header = _read_exact(sock, 4)
    length = int.from_bytes(header[:3], "little")
    return header[3], _read_exact(sock, length)


def _read_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def write_packet(sock, seq: int, payload: bytes):
    sock.sendall(len(payload).to_bytes(3, "little") + bytes([seq & 0xFF]) + payload)


def parse_err(payload: bytes) -> MySQLError:
    code = struct.unpack_from("<H", payload, 1)[0]
    rest = payload[3:]
    if rest[:1] == b"#":
        rest = rest[6:]
    return MySQLError(code, rest.decode(errors="replace"))


def native_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode()).digest()
    stage2 = hashlib.sha1(stage1).digest()
    mix = hashlib.sha1(scramble + stage2).digest()
    return bytes(a ^ b for a, b in zip(stage1, mix))


def parse_greeting(payload: bytes):
    """(connection id, scramble, capabilities) of a HandshakeV10."""
    if payload[0] == 0xFF:
        raise parse_err(payload)
    end = payload.index(b"\0", 1)
    pos = end + 1
    connection_id = struct.unpack_from("<I", payload, pos)[0]
    pos += 4
    scramble = payload[pos:pos + 8]
    pos += 9
    caps = struct.unpack_from("<H", payload, pos)[0]
    pos += 2 + 1 + 2
    caps |= struct.unpack_from("<H", payload, pos)[0] << 16
    pos += 2 + 1 + 10
    scramble += payload[pos:pos + 12]
    return connection_id, scramble, caps


def _bytes(text) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def login(sock: socket.socket, user, password: str, database=None, extra_caps: int = 0) -> int:
    """Logs in; returns the greeting's connection id. Raises MySQLError for an ERR. The user and
    database names may be str or bytes (sent as they are)."""
    _, greeting = read_packet(sock)
    connection_id, scramble, _ = parse_greeting(greeting)
    caps = (CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION |
            CLIENT_PLUGIN_AUTH | extra_caps)
    if database:
        caps |= CLIENT_CONNECT_WITH_DB
    auth = native_password(password, scramble)
    payload = struct.pack("<IIB", caps, 1 << 24, 45) + bytes(23)
    payload += _bytes(user) + b"\0" + bytes([len(auth)]) + auth
    if database:
        payload += _bytes(database) + b"\0"
    payload += b"mysql_native_password\0"
    write_packet(sock, 1, payload)
    while True:
        seq, reply = read_packet(sock)
        if reply[0] == 0x00:
            return connection_id
        if reply[0] == 0xFF:
            raise parse_err(reply)
        if reply[0] == 0xFE:  # AuthSwitchRequest
            name_end = reply.index(b"\0", 1)
            plugin = reply[1:name_end].decode()
            if plugin != "mysql_native_password":
                raise MySQLError(0, f"raw client cannot do {plugin}")
            write_packet(sock, seq + 1, native_password(password, reply[name_end + 1:name_end + 21]))
            continue
        raise MySQLError(0, f"unexpected packet {reply[:1].hex()} during login")


def change_user(sock: socket.socket, user, database=None):
    """Sends COM_CHANGE_USER with no auth data and returns the first reply's (sequence id,
    payload); an ERR is returned, not raised."""
    payload = b"\x11" + _bytes(user) + b"\0" + b"\0" + _bytes(database or b"") + b"\0"
    payload += struct.pack("<H", 45) + b"mysql_native_password\0"
    write_packet(sock, 0, payload)
    return read_packet(sock)


def query_one(sock: socket.socket, sql: str):
    """The first column of the first row of a text query, as str (None for NULL)."""
    write_packet(sock, 0, b"\x03" + sql.encode())
    _, first = read_packet(sock)
    if first[0] == 0xFF:
        raise parse_err(first)
    columns = first[0]
    for _ in range(columns):
        read_packet(sock)
    read_packet(sock)  # EOF after the column definitions
    _, row = read_packet(sock)
    value = None if row[0] == 0xFB else row[1:1 + row[0]].decode()
    while True:
        _, p = read_packet(sock)
        if p[0] == 0xFE and len(p) < 9:
            return value
