"""A corpus of PROXY protocol headers, valid and malformed, with what hostgate must make of each
when a trusted peer sends it. Written from the spec (haproxy doc/proxy-protocol.txt), independently
of the C++ codec.

Each case is (name, bytes, expected): expected is an IP address (the session must reach the
backend as that client), "peer" (LOCAL, UNKNOWN and the like: the TCP peer is the client) or
"refused" (a malformed header: ERR 1105 or a close, never a session). Truncated headers are
separate: every proper prefix of a valid header must leave hostgate waiting for the rest.
"""
import ipaddress
import struct

from support.proxy_header import SIGNATURE, tlv

CLIENT4, CLIENT6 = "10.1.2.3", "2001:db8::7"


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def v2(command=0x21, family=0x11, body=None, tlvs=b"", length=None, signature=SIGNATURE):
    """A v2 header; the body defaults to CLIENT4:40000 -> 127.0.0.1:3306 for the family."""
    if body is None:
        if family >> 4 == 2:
            body = (ipaddress.ip_address(CLIENT6).packed + ipaddress.ip_address("::1").packed
                    + struct.pack("!HH", 40000, 3306))
        elif family >> 4 == 3:
            body = b"/run/client.sock".ljust(108, b"\0") + b"/run/server.sock".ljust(108, b"\0")
        else:
            body = (ipaddress.ip_address(CLIENT4).packed + ipaddress.ip_address("127.0.0.1").packed
                    + struct.pack("!HH", 40000, 3306))
    rest = body + tlvs
    return signature + bytes([command, family]) + struct.pack("!H", len(rest) if length is None else length) + rest


def v2_with_crc(tlvs_before=b"", corrupt=False) -> bytes:
    """A v2 TCP4 header with a CRC32C TLV computed over the whole header (crc field zeroed)."""
    header = v2(tlvs=tlvs_before + tlv(0x03, bytes(4)))
    crc = crc32c(header)
    if corrupt:
        crc ^= 1
    return header[:-4] + struct.pack("!I", crc)


def v1(line: str) -> bytes:
    return line.encode() + b"\r\n"


V1_TCP4 = v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000 3306")
V2_TCP4 = v2()

VALID = [
    ("v1 TCP4", V1_TCP4, CLIENT4),
    ("v1 TCP6", v1(f"PROXY TCP6 {CLIENT6} ::1 40000 3306"), CLIENT6),
    ("v1 TCP6 v4-mapped", v1(f"PROXY TCP6 ::ffff:{CLIENT4} ::1 40000 3306"), CLIENT4),
    ("v1 UNKNOWN", v1("PROXY UNKNOWN"), "peer"),
    ("v1 UNKNOWN with addresses", v1(f"PROXY UNKNOWN {CLIENT4} 127.0.0.1 40000 3306"), "peer"),
    ("v1 longest (107 bytes)", v1("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
                                  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535"),
     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("v1 port 0", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 0 3306"), CLIENT4),
    ("v1 UNKNOWN line of 107 bytes", b"PROXY UNKNOWN " + b"x" * 91 + b"\r\n", "peer"),
    ("v2 TCP4", V2_TCP4, CLIENT4),
    ("v2 TCP6", v2(family=0x21), CLIENT6),
    ("v2 TCP6 v4-mapped", v2(family=0x21, body=ipaddress.ip_address(f"::ffff:{CLIENT4}").packed
                             + ipaddress.ip_address("::1").packed + struct.pack("!HH", 1, 2)), CLIENT4),
    ("v2 LOCAL", SIGNATURE + bytes([0x20, 0x00, 0x00, 0x00]), "peer"),
    ("v2 LOCAL with TCP4 addresses", v2(command=0x20), "peer"),
    # The spec (2.2): a LOCAL header's protocol block is discarded, family included.
    ("v2 LOCAL, AF_UNSPEC with a 12-byte block", SIGNATURE + bytes([0x20, 0x00, 0x00, 0x0C]) + bytes(range(12)),
     "peer"),
    ("v2 UNSPEC", SIGNATURE + bytes([0x21, 0x00, 0x00, 0x00]), "peer"),
    ("v2 UNSPEC with a TLV", SIGNATURE + bytes([0x21, 0x00, 0x00, 0x05]) + tlv(0x04, b"ab"), "peer"),
    ("v2 UDP4", v2(family=0x12), "peer"),
    ("v2 UNIX stream", v2(family=0x31), "peer"),
    ("v2 UNIX dgram", v2(family=0x32), "peer"),
    ("v2 ALPN and authority TLVs", v2(tlvs=tlv(0x01, b"mysql") + tlv(0x02, b"db.example")), CLIENT4),
    ("v2 NOOP TLV", v2(tlvs=tlv(0x04, b"\0" * 8)), CLIENT4),
    ("v2 unique id TLV", v2(tlvs=tlv(0x05, b"x" * 128)), CLIENT4),
    ("v2 SSL TLV", v2(tlvs=tlv(0x20, bytes([0x07]) + struct.pack("!I", 0)
                               + tlv(0x21, b"TLSv1.3"))), CLIENT4),
    ("v2 custom TLV", v2(tlvs=tlv(0xE1, b"anything")), CLIENT4),
    # Cloud endpoints: AWS (0xEA, subtype 1, ASCII), Azure (0xEE, subtype 1, uint32 LE), GCP
    # (0xE0, uint64 BE). Another subtype names no endpoint and is kept.
    ("v2 AWS VPC endpoint", v2(tlvs=tlv(0xEA, b"\x01vpce-0a1b2c3d4e5f67890")), CLIENT4),
    ("v2 Azure LinkID", v2(tlvs=tlv(0xEE, b"\x01" + struct.pack("<I", 7))), CLIENT4),
    ("v2 GCP PSC connection", v2(tlvs=tlv(0xE0, struct.pack("!Q", 2**64 - 1))), CLIENT4),
    ("v2 AWS TLV of another subtype", v2(tlvs=tlv(0xEA, b"\x02\xff\x00")), CLIENT4),
    ("v2 good CRC32C", v2_with_crc(), CLIENT4),
    ("v2 good CRC32C after ALPN", v2_with_crc(tlv(0x01, b"mysql")), CLIENT4),
    ("v2 empty TLV of type 0", v2(tlvs=b"\0" * 3), CLIENT4),
    ("v2 with 1 KiB of TLVs (over MariaDB's 240)", v2(tlvs=tlv(0x04, b"\0" * 1024)), CLIENT4),
]

MALFORMED = [
    ("v1 LF only", f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000 3306\n".encode()),
    ("v1 CR only", f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000 3306\r".encode() + b"x"),
    ("v1 no CRLF within 107 bytes", b"PROXY TCP4 " + b"1" * 120),
    ("v1 UNKNOWN line of 108 bytes", b"PROXY UNKNOWN " + b"x" * 92 + b"\r\n"),
    ("v1 lowercase", v1(f"proxy TCP4 {CLIENT4} 127.0.0.1 40000 3306")),
    ("v1 bad protocol", v1(f"PROXY TCP5 {CLIENT4} 127.0.0.1 40000 3306")),
    ("v1 TCP4 with IPv6 addresses", v1(f"PROXY TCP4 {CLIENT6} ::1 40000 3306")),
    ("v1 TCP6 with IPv4 addresses", v1(f"PROXY TCP6 {CLIENT4} 127.0.0.1 40000 3306")),
    ("v1 leading zero in address", v1("PROXY TCP4 010.1.2.3 127.0.0.1 40000 3306")),
    ("v1 leading zero in port", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 04000 3306")),
    ("v1 port 65536", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 65536 3306")),
    ("v1 negative port", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 -1 3306")),
    ("v1 octet 256", v1("PROXY TCP4 10.1.2.256 127.0.0.1 40000 3306")),
    ("v1 five octets", v1("PROXY TCP4 10.1.2.3.4 127.0.0.1 40000 3306")),
    ("v1 missing port", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000")),
    ("v1 extra field", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000 3306 7")),
    ("v1 double space", v1(f"PROXY TCP4  {CLIENT4} 127.0.0.1 40000 3306")),
    ("v1 tab separator", v1(f"PROXY TCP4\t{CLIENT4} 127.0.0.1 40000 3306")),
    ("v1 trailing space", v1(f"PROXY TCP4 {CLIENT4} 127.0.0.1 40000 3306 ")),
    ("v1 hostname", v1("PROXY TCP4 client.example 127.0.0.1 40000 3306")),
    ("v1 NUL inside", v1(f"PROXY TCP4 {CLIENT4}\0 127.0.0.1 40000 3306")),
    ("v2 bad signature", b"\r\n\r\n\x00\r\nQUIT\r" + V2_TCP4[12:]),
    ("v2 version 1", V2_TCP4[:12] + b"\x11" + V2_TCP4[13:]),
    ("v2 version 3", V2_TCP4[:12] + b"\x31" + V2_TCP4[13:]),
    ("v2 command 2", V2_TCP4[:12] + b"\x22" + V2_TCP4[13:]),
    ("v2 family 4", v2(family=0x41)),
    ("v2 transport 3", v2(family=0x13)),
    ("v2 TCP4 too short for its addresses", v2(body=V2_TCP4[16:24])),
    ("v2 TCP6 with a TCP4 address block", v2(family=0x21, body=V2_TCP4[16:28])),
    ("v2 UNIX too short", v2(family=0x31, body=b"/run/x.sock\0")),
    ("v2 TLV runs past the header", v2(tlvs=bytes([0x01, 0x00, 0x10]) + b"mysql")),
    ("v2 TLV header cut", v2(tlvs=bytes([0x01, 0x00]))),
    ("v2 wrong CRC32C", v2_with_crc(corrupt=True)),
    ("v2 CRC32C TLV of 3 bytes", v2(tlvs=tlv(0x03, b"\0\0\0"))),
    ("v2 SSL TLV cut", v2(tlvs=tlv(0x20, b"\x07\0\0"))),
    ("v2 SSL sub-TLV runs past", v2(tlvs=tlv(0x20, bytes([0x07]) + struct.pack("!I", 0)
                                             + bytes([0x21, 0x00, 0x40]) + b"TLS"))),
    ("v2 AWS endpoint empty", v2(tlvs=tlv(0xEA, b""))),
    ("v2 AWS endpoint with a NUL", v2(tlvs=tlv(0xEA, b"\x01vpce\x00x"))),
    ("v2 AWS endpoint of 65 bytes", v2(tlvs=tlv(0xEA, b"\x01" + b"v" * 65))),
    ("v2 Azure LinkID of 3 bytes", v2(tlvs=tlv(0xEE, b"\x01abc"))),
    ("v2 GCP connection ID of 7 bytes", v2(tlvs=tlv(0xE0, bytes(7)))),
    ("v2 two endpoints", v2(tlvs=tlv(0xE0, bytes(8)) + tlv(0xEA, b"\x01vpce-1"))),
    ("v2 SSL TLV with a 4 KiB client certificate (over the cap)",
     v2(tlvs=tlv(0x20, bytes([0x07]) + struct.pack("!I", 0) + tlv(0x28, b"\x30" * 4096)))),
    ("v2 over 4096 bytes", v2(tlvs=tlv(0x04, b"\0" * 4096))),
]

# Valid headers cut short; each prefix is sent, then the client half-closes.
TRUNCATION_SOURCES = [("v1 TCP4", V1_TCP4), ("v2 TCP4", V2_TCP4),
                      ("v2 CRC32C", v2_with_crc())]


def truncations():
    for name, data in TRUNCATION_SOURCES:
        for n in range(1, len(data)):
            yield f"{name} cut at {n}", data[:n]
