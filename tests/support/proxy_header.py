"""PROXY protocol v2 headers for tests, written from the spec independently of the C++ codec."""
import ipaddress
import struct

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def v2(source: str, source_port: int, destination: str, destination_port: int, tlvs: bytes = b"") -> bytes:
    """A PROXY command over TCP; both addresses must be of one family."""
    src, dst = ipaddress.ip_address(source), ipaddress.ip_address(destination)
    family = 0x11 if src.version == 4 else 0x21
    body = src.packed + dst.packed + struct.pack("!HH", source_port, destination_port) + tlvs
    return SIGNATURE + bytes([0x21, family]) + struct.pack("!H", len(body)) + body


def v2_local() -> bytes:
    return SIGNATURE + bytes([0x20, 0x00, 0x00, 0x00])


def v1(source: str, source_port: int, destination: str, destination_port: int) -> bytes:
    proto = "TCP4" if ipaddress.ip_address(source).version == 4 else "TCP6"
    return f"PROXY {proto} {source} {destination} {source_port} {destination_port}\r\n".encode()


def tlv(kind: int, value: bytes) -> bytes:
    return bytes([kind]) + struct.pack("!H", len(value)) + value


# The cloud balancers' endpoint TLVs, as AWS, Azure and GCP document them.
def aws_vpc_endpoint(endpoint_id: str) -> bytes:
    return tlv(0xEA, b"\x01" + endpoint_id.encode())


def azure_link_id(link_id: int) -> bytes:
    return tlv(0xEE, b"\x01" + struct.pack("<I", link_id))


def gcp_psc_connection(connection_id: int) -> bytes:
    return tlv(0xE0, struct.pack("!Q", connection_id))
