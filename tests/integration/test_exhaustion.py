"""No resource exhaustion without credentials: descriptors running out, and the admin and metrics
ports flooded with idle connections. hostgate must stay cheap and quiet, and serve again."""
import json
import os
import socket
import sys
import time
import unittest
import urllib.request

import pymysql

from support import raw_mysql
from support.servers import Hostgate, MariaDB, free_port, wait_until

HOSTGATE = os.environ["HOSTGATE"]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def idle_connections(port: int, count: int, source: str = "127.0.0.5"):
    """`count` connections that send nothing; those the kernel refuses outright are left out."""
    out = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        try:
            s.connect(("127.0.0.1", port))
            out.append(s)
        except OSError:
            s.close()
    return out


def resident_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Exhaustion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()
        cls.db.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'")
        cls.admin_port, cls.metrics_port = free_port(), free_port()
        password_hash = cls.db.execute("SELECT PASSWORD('admin-secret')")[0][0]
        cls.hg = Hostgate(
            HOSTGATE, "'app'@'127.0.0.%'\n",
            backends=[{"name": "db1", "address": f"127.0.0.1:{cls.db.port}"}],
            server={"handshake_timeout_ms": 60000}, descriptor_limit=256,
            extra_config=f'[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\nuser = "ops"\n'
                         f'password_hash = "{password_hash}"\nmax_connections = 4\n'
                         f'[metrics]\nlisten = "127.0.0.1:{cls.metrics_port}"\n'
                         f'max_connections = 4\n[audit]\nfile = "audit.log"\n').start()

    @classmethod
    def tearDownClass(cls):
        cls.hg.stop()
        cls.db.stop()

    def test_out_of_descriptors_costs_little_and_logs_little(self):
        """300 idle clients against a limit of 256 descriptors: the accept loop pauses instead of
        spinning, logs a line per interval, and serves again once descriptors are free."""
        # What running out of descriptors logs: other tests' info lines may still be flushed
        # meanwhile (the log is written in batches), so only those lines count.
        def accept_log():
            return "".join(line + "\n" for line in self.hg.log().splitlines() if "Too many open files" in line)
        log_before = len(accept_log())
        flood = idle_connections(self.hg.port, 300)
        try:
            wait_until(lambda: "Too many open files" in self.hg.log(), 30, "accept to run out")
            started, cpu = time.monotonic(), cpu_seconds(self.hg.process.pid)
            time.sleep(2)
            rate = (cpu_seconds(self.hg.process.pid) - cpu) / (time.monotonic() - started)
            grown = len(accept_log()) - log_before
            print(f"out of descriptors: {rate:.3f} CPU-s/s, log +{grown} bytes", file=sys.stderr)
            self.assertLess(rate, 0.2, "CPU seconds per second while out of descriptors")
            self.assertLess(grown, 4000, "log growth")
        finally:
            for s in flood:
                s.close()
        # The backlog drains and a login works again.
        def logs_in():
            try:
                conn = pymysql.connect(host="127.0.0.1", port=self.hg.port, user="app",
                                       password="app-secret", bind_address="127.0.0.6",
                                       connect_timeout=10)
            except pymysql.err.OperationalError:
                return False
            conn.close()
            return True
        wait_until(logs_in, 60, "a login after the flood", interval=0.5)

    def test_announced_bytes_that_never_come_cost_no_memory(self):
        """800 logins whose frame header announces 120 KiB (under the 128 KiB login cap) and that
        send one byte of it: the buffers hold what arrived, not what was announced."""
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.%'\n",
                      backends=[{"name": "db1", "address": f"127.0.0.1:{self.db.port}"}],
                      server={"handshake_timeout_ms": 60000}).start()
        clients = []
        try:
            with raw_mysql.open_from("127.0.0.5", hg.port) as warm:  # greetings are known
                raw_mysql.read_packet(warm)
            before = resident_kib(hg.process.pid)
            for i in range(800):
                s = raw_mysql.open_from(f"127.0.0.{10 + i % 200}", hg.port)
                clients.append(s)
                raw_mysql.read_packet(s)
                s.sendall((120 * 1024).to_bytes(3, "little") + b"\x01" + b"\x85")
            grown_mib = (resident_kib(hg.process.pid) - before) / 1024
            print(f"800 announced logins: +{grown_mib:.1f} MiB resident", file=sys.stderr)
            # 120 KiB each would be 94 MiB; what arrived is 800 bytes.
            self.assertLess(grown_mib, 40)
        finally:
            for s in clients:
                s.close()
            hg.stop()

    def test_backend_probes_run_at_once_within_the_deadline(self):
        """Three backends that accept and never greet, and no greeting known yet: the first
        client's probes run at once, so it gets ERROR 1105 after one connect_timeout_ms, within
        its handshake deadline (one after another they would take three)."""
        silent = []
        for _ in range(3):
            s = socket.socket()
            s.bind(("127.0.0.1", free_port()))
            s.listen(16)
            silent.append(s)
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.%'\n",
                      backends=[{"name": f"mute{i}", "address": f"127.0.0.1:{s.getsockname()[1]}"}
                                for i, s in enumerate(silent)],
                      server={"connect_timeout_ms": 1500, "handshake_timeout_ms": 4000}).start()
        try:
            wait_until(lambda: hg.log().count("probe failed") >= 3, 30, "the start-up probes to fail")
            started = time.monotonic()
            with raw_mysql.open_from("127.0.0.5", hg.port) as c:
                seq, reply = raw_mysql.read_packet(c)
            elapsed = time.monotonic() - started
            err = raw_mysql.parse_err(reply)
            self.assertEqual((seq, err.code, err.message), (0, 1105, "Can't connect to MySQL server"))
            self.assertLess(elapsed, 3.9)
        finally:
            hg.stop()
            for s in silent:
                s.close()

    def test_long_names_do_not_amplify_the_logs(self):
        """50 refused logins with 120 KB user names (6 MB sent): the log and the audit grow by a
        few hundred bytes a login, not by the names."""
        log_before = len(self.hg.log())
        audit = self.hg.dir / "audit.log"
        audit_before = audit.stat().st_size if audit.exists() else 0
        for i in range(50):
            with raw_mysql.open_from("127.0.0.7", self.hg.port) as s:
                with self.assertRaises(raw_mysql.MySQLError) as refused:
                    raw_mysql.login(s, b"n" * 120000 + str(i).encode(), "x")
                self.assertEqual(refused.exception.code, 1045)
        self.hg.wait_for_log("n'[cut, 120002 bytes in all]")
        wait_until(lambda: audit.exists() and audit.read_text().count('"user_bytes":1200') >= 50,
                   30, "the audit events")
        log_grown = len(self.hg.log()) - log_before
        audit_grown = audit.stat().st_size - audit_before
        print(f"50 logins with 120 KB names: log +{log_grown} bytes, audit +{audit_grown} bytes",
              file=sys.stderr)
        self.assertLess(log_grown, 50 * 1024)
        self.assertLess(audit_grown, 50 * 3 * 1024)

    def test_admin_port_caps_its_connections(self):
        held = idle_connections(self.admin_port, 4, "127.0.0.1")
        try:
            for s in held:
                raw_mysql.read_packet(s)  # each greeted
            with raw_mysql.open_from("127.0.0.1", self.admin_port) as s:
                seq, reply = raw_mysql.read_packet(s)
                err = raw_mysql.parse_err(reply)
                self.assertEqual((seq, err.code, err.message), (0, 1040, "Too many connections"))
        finally:
            for s in held:
                s.close()
        def admin_answers():
            try:
                conn = pymysql.connect(host="127.0.0.1", port=self.admin_port, user="ops",
                                       password="admin-secret", connect_timeout=10)
            except pymysql.err.OperationalError:
                return False
            conn.close()
            return True
        wait_until(admin_answers, 30, "the admin port after the flood", interval=0.2)

    def test_admin_password_guessing_is_throttled_per_address(self):
        """A guessing loop from 127.0.0.9: each refusal waits longer, the tenth failure locks the
        address out (1129 in place of the greeting), and the right password from another address
        still works meanwhile."""
        codes = []
        started = time.monotonic()
        for i in range(25):
            with raw_mysql.open_from("127.0.0.9", self.admin_port) as s:
                try:
                    raw_mysql.login(s, "ops", f"guess-{i}")
                    codes.append(0)
                except raw_mysql.MySQLError as e:
                    codes.append(e.code)
        elapsed = time.monotonic() - started
        print(f"25 guesses: {elapsed:.1f} s, {codes.count(1045)} answered", file=sys.stderr)
        self.assertEqual(codes, [1045] * 10 + [1129] * 15)
        self.assertGreater(elapsed, 4.0)  # 0.1 + 0.2 + ... + 0.9 s, then 0.1 s, of waits
        conn = pymysql.connect(host="127.0.0.1", port=self.admin_port, user="ops",
                               password="admin-secret", connect_timeout=30)
        conn.close()
        self.hg.wait_for_log("127.0.0.9")
        denied = [json.loads(line) for line in (self.hg.dir / "audit.log").read_text().splitlines()
                  if '"admin_denied"' in line]
        self.assertEqual(len(denied), 10)
        self.assertEqual(denied[-1]["reason"], "wrong password; locked out")

    def test_metrics_port_caps_its_connections(self):
        held = idle_connections(self.metrics_port, 4, "127.0.0.1")
        try:
            # The backlog is first in, first out: the four are accepted, and hold their places,
            # before the scrape below.
            with self.assertRaises(urllib.error.HTTPError) as busy:
                urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10)
            self.assertEqual(busy.exception.code, 503)
        finally:
            for s in held:
                s.close()
        def scraped():
            try:
                return b"hostgate_active_sessions" in urllib.request.urlopen(
                    f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10).read()
            except urllib.error.HTTPError:
                return False
        wait_until(scraped, 30, "a scrape after the flood", interval=0.2)


if __name__ == "__main__":
    unittest.main()
