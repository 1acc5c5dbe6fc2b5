"""An L4 balancer on loopback that sends a PROXY v2 header to its target, as a cloud balancer
does: either as soon as it has connected ("on_connect"), or only together with the client's
first bytes ("on_first_ack_with_payload", AWS NLB's default). It connects to the target from
`source` (a 127.0.0.x address the target trusts) and relays bytes both ways. `tlvs` go into every
header: a cloud endpoint TLV makes it one endpoint of a PrivateLink-style service."""
import socket
import threading

from support import proxy_header


class Balancer:
    def __init__(self, target_port: int, placement: str, source: str = "127.0.0.2", tlvs: bytes = b""):
        assert placement in ("on_connect", "on_first_ack_with_payload")
        self.target_port = target_port
        self.placement = placement
        self.source = source
        self.tlvs = tlvs
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.accept, daemon=True)

    def start(self) -> "Balancer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.listener.close()

    def accept(self) -> None:
        while True:
            try:
                client, address = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(client, address), daemon=True).start()

    def serve(self, client: socket.socket, address) -> None:
        target = socket.create_connection(("127.0.0.1", self.target_port), timeout=60,
                                          source_address=(self.source, 0))
        header = proxy_header.v2(address[0], address[1], "127.0.0.1", self.port, self.tlvs)
        if self.placement == "on_connect":
            target.sendall(header)
            header = b""
        threading.Thread(target=self.pump, args=(target, client, b""), daemon=True).start()
        self.pump(client, target, header)

    @staticmethod
    def pump(source: socket.socket, sink: socket.socket, first: bytes) -> None:
        """Copies source to sink; `first` goes out ahead of the first bytes read."""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(first + data)
                first = b""
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
