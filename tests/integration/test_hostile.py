"""Hostile clients against hostgate in front of a real MariaDB: a corpus of PROXY headers sent by a
trusted and by an untrusted peer, slow clients, oversized and out-of-order handshakes, and the
admission limits. Clients bind 127.0.0.x to act as distinct addresses; 127.0.0.1 is the trusted
proxy. deploy/test.sh --long makes the slow-client test longer."""
import os
import select
import socket
import time
import unittest

import pymysql

from support import proxy_corpus, raw_mysql
from support.servers import Hostgate, MariaDB, wait_until

HOSTGATE = os.environ["HOSTGATE"]
LONG = bool(os.environ.get("HOSTGATE_LONG_TESTS"))
TRUSTED, UNTRUSTED = "127.0.0.1", "127.0.0.2"
HANDSHAKE_TIMEOUT_S = 10 if LONG else 3
V1_SIGNATURE = b"PROXY "


def open_from(source, port):
    s = socket.socket()
    s.settimeout(30)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def outcome(port, source, data, half_close=False, log_in=False):
    """What hostgate makes of a connection that starts with `data`:
    ("session", user@host as the backend sees it), ("err", code, greeted) or ("closed", greeted)."""
    s = open_from(source, port)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        if log_in:
            try:
                raw_mysql.login(s, "app", "app-secret")
                return ("session", raw_mysql.query_one(s, "SELECT USER()"))
            except raw_mysql.MySQLError as e:
                return ("err", e.code, None)
            except ConnectionError:
                return ("closed", None)
        greeted = False
        while True:
            try:
                _, packet = raw_mysql.read_packet(s)
            except ConnectionError:
                return ("closed", greeted)
            if packet[:1] == b"\xff":
                return ("err", raw_mysql.parse_err(packet).code, greeted)
            if greeted:
                return ("unexpected packet", packet[:1].hex())
            greeted = True
    finally:
        s.close()


def starts_with_signature(data):
    return data.startswith(V1_SIGNATURE) or data.startswith(proxy_corpus.SIGNATURE)


class HostileClients(unittest.TestCase):
    maxDiff = None
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        cls.db.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'")
        cls.backends = [{"name": "db1", "address": f"127.0.0.1:{cls.db.port}"}]
        cls.hg = Hostgate(HOSTGATE, "'app'@'%'\n", backends=cls.backends,
                          server={"trusted_proxies": [TRUSTED],
                                  "handshake_timeout_ms": HANDSHAKE_TIMEOUT_S * 1000}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hg.stop()
        cls.db.stop()

    def assert_serves(self, hg, source="127.0.0.3"):
        conn = pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                               bind_address=source, connect_timeout=30, read_timeout=60)
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchall(), ((1,),))
        conn.close()

    def test_proxy_header_corpus(self):
        truncated = list(proxy_corpus.truncations())
        total = len(proxy_corpus.VALID) + len(proxy_corpus.MALFORMED) + len(truncated)
        self.assertGreaterEqual(total, 60)
        wrong = []

        def check(name, peer, got, allowed):
            if got not in allowed:
                wrong.append(f"{name} from {peer}: got {got}, expected one of {allowed}")

        for name, data, expected in proxy_corpus.VALID:
            client = TRUSTED if expected == "peer" else expected
            check(name, "trusted", outcome(self.hg.port, TRUSTED, data, log_in=True),
                  [("session", f"app@{client}")])
            check(name, "untrusted", outcome(self.hg.port, UNTRUSTED, data), [("err", 1130, True)])
        # hostgate greets a trusted peer that has sent nothing yet (a balancer may send its header
        # with the client's first bytes), so what a trusted peer sends at once may come before
        # or after the greeting.
        for name, data in proxy_corpus.MALFORMED:
            check(name, "trusted", outcome(self.hg.port, TRUSTED, data),
                  [("err", 1105, False), ("err", 1105, True)])
            untrusted = ([("err", 1130, True)] if starts_with_signature(data) else
                         [("err", code, True) for code in (1043, 1153, 1156)] + [("closed", True)])
            check(name, "untrusted", outcome(self.hg.port, UNTRUSTED, data), untrusted)
        for name, data in truncated:
            check(name, "trusted", outcome(self.hg.port, TRUSTED, data, half_close=True),
                  [("closed", False), ("closed", True)])
            check(name, "untrusted", outcome(self.hg.port, UNTRUSTED, data, half_close=True),
                  [("err", 1130, True)] if starts_with_signature(data) else [("closed", True)])
        self.assertEqual(wrong, [], f"{len(wrong)} of {2 * total} attempts went wrong:\n" + "\n".join(wrong))
        self.assertIsNone(self.hg.process.poll(), "hostgate exited")
        self.assert_serves(self.hg)

    def test_slow_clients_are_cut_at_the_handshake_timeout_and_block_nobody(self):
        count = 1000
        header = proxy_corpus.V1_TCP4
        slow, opened = [], {}
        for _ in range(count):
            s = open_from(TRUSTED, self.hg.port)
            s.setblocking(False)
            slow.append(s)
            opened[s] = time.monotonic()
        sent = {s: 0 for s in slow}
        cut, received = {}, {}
        served_in = None
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT_S + 60
        next_byte = time.monotonic()
        while len(cut) < count and time.monotonic() < deadline:
            if time.monotonic() >= next_byte:  # one more header byte a second on each
                next_byte += 1
                for s in slow:
                    if s not in cut and sent[s] < len(header) - 1:
                        try:
                            s.send(header[sent[s]:sent[s] + 1])
                            sent[s] += 1
                        except OSError:
                            pass
                if served_in is None:  # a legitimate client, while all of them hang on
                    started = time.monotonic()
                    self.assert_serves(self.hg)
                    served_in = time.monotonic() - started
            readable, _, _ = select.select([s for s in slow if s not in cut], [], [], 0.2)
            for s in readable:
                try:
                    data = s.recv(200)
                except OSError:
                    data = b""
                if data:  # the greeting, for a trusted peer that had sent nothing yet; no error
                    received[s] = received.get(s, b"") + data
                    self.assertEqual(received[s][4:5], b"\x0a", "a slow client got an error")
                    self.assertLessEqual(len(received[s]), 4 + received[s][0], "more than a greeting")
                    continue
                cut[s] = time.monotonic() - opened[s]
        for s in slow:
            s.close()
        self.assertEqual(len(cut), count, "some slow clients were never cut")
        self.assertLess(served_in, 2.0, "the legitimate client waited")
        self.assertGreaterEqual(min(cut.values()), HANDSHAKE_TIMEOUT_S - 0.5)
        self.assertLess(max(cut.values()), HANDSHAKE_TIMEOUT_S + 30)
        print(f"{count} slow clients cut after {min(cut.values()):.1f}-{max(cut.values()):.1f} s "
              f"(handshake timeout {HANDSHAKE_TIMEOUT_S} s); a client was served in {served_in:.3f} s")

    def resident_kib(self):
        status = open(f"/proc/{self.hg.process.pid}/status").read()
        return int(status.split("VmRSS:")[1].split()[0])

    def test_giant_login_packet_is_refused_without_buffering_it(self):
        before = self.resident_kib()
        s = open_from("127.0.0.4", self.hg.port)
        raw_mysql.read_packet(s)  # greeting
        s.sendall(b"\xff\xff\xff\x01")  # a 16 MiB - 1 frame, continued below
        refused = None
        try:
            chunk = b"\0" * 65536
            for _ in range(17 * 16):  # 17 MiB
                s.sendall(chunk)
        except OSError:
            pass  # hostgate closed the connection, as it should
        try:
            _, packet = raw_mysql.read_packet(s)
            refused = raw_mysql.parse_err(packet).code
        except (ConnectionError, OSError):
            refused = "closed"
        s.close()
        self.assertIn(refused, (1153, "closed"))
        self.assertLess(self.resident_kib() - before, 4096, "hostgate buffered the giant packet")
        self.assert_serves(self.hg)

    def test_login_out_of_sequence_or_garbage_gets_an_error(self):
        for seq, payload, code in ((0, b"\x85\xa6\xff\x01" + bytes(60), 1156),
                                   (5, b"\x85\xa6\xff\x01" + bytes(60), 1156),
                                   (1, b"\x01\x02\x03", 1043),
                                   (1, os.urandom(200), 1043)):
            s = open_from("127.0.0.4", self.hg.port)
            raw_mysql.read_packet(s)
            raw_mysql.write_packet(s, seq, payload)
            _, packet = raw_mysql.read_packet(s)
            self.assertEqual(raw_mysql.parse_err(packet).code, code, f"seq {seq} {payload[:8]!r}")
            s.close()
        self.assert_serves(self.hg)


class AdmissionLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        cls.db.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'")
        cls.backends = [{"name": "db1", "address": f"127.0.0.1:{cls.db.port}"}]

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def first_packet(self, port, source):
        s = open_from(source, port)
        _, packet = raw_mysql.read_packet(s)
        return s, packet

    def test_connect_rate_per_address(self):
        rate = 5
        hg = Hostgate(HOSTGATE, "'app'@'%'\n", backends=self.backends,
                      server={"max_connect_rate_per_ip": rate}).start()
        try:
            admitted = refused = 0
            started = time.monotonic()
            held = []
            for _ in range(30):
                s, packet = self.first_packet(hg.port, "127.0.0.6")
                held.append(s)
                if packet[:1] == b"\xff":
                    self.assertEqual(raw_mysql.parse_err(packet).code, 1040)
                    refused += 1
                else:
                    admitted += 1
            elapsed = time.monotonic() - started
            self.assertGreater(refused, 0)
            # The burst, plus what the bucket refilled while the attempts ran.
            self.assertLessEqual(admitted, rate + int(elapsed * rate) + 1)
            # Another address has its own allowance.
            s, packet = self.first_packet(hg.port, "127.0.0.7")
            self.assertEqual(packet[:1], b"\x0a")
            held.append(s)
            for s in held:
                s.close()
            # The bucket refills: after a second, the first address is served again.
            time.sleep(1.0)
            conn = pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                                   bind_address="127.0.0.6", connect_timeout=30)
            conn.close()
            wait_until(lambda: "over max_connect_rate_per_ip" in hg.log(), 30, "the refusal logged")
        finally:
            hg.stop()

    def test_max_handshakes_in_flight(self):
        limit = 20
        hg = Hostgate(HOSTGATE, "'app'@'%'\n", backends=self.backends,
                      server={"max_handshakes": limit}).start()
        try:
            waiting = [self.first_packet(hg.port, "127.0.0.8")[0] for _ in range(limit)]
            s, packet = self.first_packet(hg.port, "127.0.0.9")
            self.assertEqual(raw_mysql.parse_err(packet).code, 1040)
            s.close()
            waiting.pop().close()  # one handshake gives up: a place is free again

            def served():
                s, packet = self.first_packet(hg.port, "127.0.0.9")
                s.close()
                return packet[:1] == b"\x0a"
            wait_until(served, 30, "a handshake place to free up")
            for s in waiting:
                s.close()
        finally:
            hg.stop()


if __name__ == "__main__":
    unittest.main()
