#!/usr/bin/env python3
"""A recording relay for capturing golden vectors: listens on loopback, forwards each connection to
a MySQL/MariaDB server, and prints every MySQL packet that crosses it as hex, one per line:

    c>s seq=1 len=179  85a6ff01...
    s>c seq=0 len=90   0a352e352e...

    record_relay.py LISTEN_PORT SERVER_PORT [--count N]

Only loopback addresses are used. It stops after N connections (default 1) have closed.
"""
import argparse
import select
import socket
import sys


def packets(buffer: bytearray):
    """Yields (seq, payload) for each whole packet at the front of buffer, removing them."""
    while len(buffer) >= 4:
        length = int.from_bytes(buffer[0:3], "little")
        if len(buffer) < 4 + length:
            return
        seq = buffer[3]
        payload = bytes(buffer[4:4 + length])
        del buffer[:4 + length]
        yield seq, payload


def relay(client: socket.socket, server_port: int, out) -> None:
    server = socket.create_connection(("127.0.0.1", server_port), timeout=30)
    pending = {client: bytearray(), server: bytearray()}
    peer = {client: server, server: client}
    label = {client: "c>s", server: "s>c"}
    while True:
        readable, _, _ = select.select([client, server], [], [], 30)
        if not readable:
            return
        for sock in readable:
            data = sock.recv(65536)
            if not data:
                server.close()
                client.close()
                return
            peer[sock].sendall(data)
            pending[sock] += data
            # Once TLS starts the stream is no longer MySQL framing; print what is seen anyway.
            for seq, payload in packets(pending[sock]):
                print(f"{label[sock]} seq={seq} len={len(payload)}  {payload.hex()}", file=out, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("listen_port", type=int)
    ap.add_argument("server_port", type=int)
    ap.add_argument("--count", type=int, default=1)
    args = ap.parse_args()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.listen_port))
    listener.listen(8)
    for n in range(args.count):
        client, _ = listener.accept()
        print(f"# connection {n + 1}", flush=True)
        relay(client, args.server_port, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
