"""Running hostgate: reload on SIGHUP, graceful shutdown on SIGTERM, connection limits."""
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

import pymysql

from support import proxy_header, raw_mysql
from support.servers import Hostgate, MariaDB, wait_until

HOSTGATE = os.environ["HOSTGATE"]
SQLCLIENT = os.environ["SQLCLIENT"]
# hostgate_refusals_total{reason}, as README lists them.
REFUSAL_REASONS = ["proxy_header_missing", "proxy_header_malformed", "proxy_header_untrusted", "connect_rate",
                   "max_handshakes", "max_connections", "bad_handshake", "no_rule_for_host", "no_rule_for_user",
                   "user_name_too_long", "require_not_met", "max_user_connections", "no_backend",
                   "backend_refused", "backend_error"]

db = None


def setUpModule():
    global db
    db = MariaDB().start()
    for host in ("127.0.0.5", "127.0.0.6"):
        db.execute(f"CREATE USER 'app'@'{host}' IDENTIFIED BY 'app-secret'")


def tearDownModule():
    db.stop()


def connect(hg, bind, database=None, **kwargs):
    return pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                           bind_address=bind, database=database, connect_timeout=30, read_timeout=60,
                           **kwargs)


def user_of(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT USER()")
        return cur.fetchone()[0]


def error_code(hg, bind):
    try:
        connect(hg, bind).close()
        return 0
    except pymysql.err.OperationalError as e:
        return e.args[0]


class Reload(unittest.TestCase):
    def setUp(self):
        self.hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n",
                           backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}]).start()
        self.addCleanup(self.hg.stop)

    def reload(self, grants=None, config=None):
        before = self.hg.log().count("reload")
        if grants is not None:
            (self.hg.dir / "grants.conf").write_text(grants)
        if config is not None:
            (self.hg.dir / "hostgate.toml").write_text(config)
        self.hg.process.send_signal(signal.SIGHUP)
        wait_until(lambda: self.hg.log().count("reload") > before, 30, "the reload to be logged")
        return [line for line in self.hg.log().splitlines() if "reload" in line][-1]

    def test_new_rules_for_new_sessions_old_sessions_kept(self):
        old = connect(self.hg, "127.0.0.5")
        self.assertEqual(error_code(self.hg, "127.0.0.6"), 1130)
        line = self.reload("'app'@'127.0.0.6'\n")
        self.assertIn("reloaded", line)
        self.assertIn("1 grant rules", line)
        new = connect(self.hg, "127.0.0.6")
        self.assertEqual(user_of(new), "app@127.0.0.6")
        self.assertEqual(error_code(self.hg, "127.0.0.5"), 1130)
        self.assertEqual(user_of(old), "app@127.0.0.5")  # not dropped
        old.close()
        new.close()

    def test_bad_grants_keep_the_old_rules(self):
        line = self.reload("'app'@'127.0.0.6'\n'app'@'10.0.0.300'\n")
        self.assertIn("reload failed, the previous configuration and grants stay in force", line)
        self.assertIn("grants.conf:2:7: '10.0.0.300' is not a valid IP address", line)
        self.assertEqual(error_code(self.hg, "127.0.0.5"), 0)
        self.assertEqual(error_code(self.hg, "127.0.0.6"), 1130)

    def test_bad_config_keeps_everything(self):
        config = (self.hg.dir / "hostgate.toml").read_text()
        line = self.reload(config=config.replace("threads = 2", "threads = 2\nbogus = 1"))
        self.assertIn("server.bogus: unknown key", line)
        self.assertEqual(error_code(self.hg, "127.0.0.5"), 0)

    def test_revoke_existing_closes_sessions_no_longer_allowed(self):
        config = (self.hg.dir / "hostgate.toml").read_text()
        config = config.replace('file = "grants.conf"', 'file = "grants.conf"\nrevoke_existing = true')
        self.reload(config=config, grants="'app'@'127.0.0.5'\n'app'@'127.0.0.6'\n")
        keep = connect(self.hg, "127.0.0.5")
        drop = connect(self.hg, "127.0.0.6")
        line = self.reload(grants="'app'@'127.0.0.5'\n")
        self.assertIn("1 sessions revoked", line)
        self.assertEqual(user_of(keep), "app@127.0.0.5")
        with self.assertRaises(pymysql.err.OperationalError):
            user_of(drop)
        keep.close()

    def test_restart_only_keys_are_reported(self):
        config = (self.hg.dir / "hostgate.toml").read_text()
        line = self.reload(config=config.replace("threads = 2", "threads = 3"))
        self.assertIn("changes to server.threads need a restart and were not applied", line)


class Shutdown(unittest.TestCase):
    def test_sigterm_lets_running_queries_finish(self):
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                      server={"shutdown_grace_ms": 30000}).start()
        self.addCleanup(hg.stop)
        sleeper = subprocess.Popen([SQLCLIENT, "--port", str(hg.port), "--bind", "127.0.0.5", "--user", "app",
                                    "--password", "app-secret", "query", "SELECT SLEEP(2)"],
                                   stdout=subprocess.PIPE, text=True)
        self.assertTrue(sleeper.stdout.readline().startswith("CONNECTED"))
        hg.process.send_signal(signal.SIGTERM)
        hg.wait_for_log("stopped accepting")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", hg.port), timeout=10)
        self.assertEqual(sleeper.stdout.read().strip(), "0")  # SLEEP finished normally
        self.assertEqual(sleeper.wait(timeout=30), 0)
        self.assertEqual(hg.process.wait(timeout=30), 0)

    def test_sigterm_closes_idle_sessions_after_the_grace_period(self):
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                      server={"shutdown_grace_ms": 500}).start()
        self.addCleanup(hg.stop)
        idle = connect(hg, "127.0.0.5")
        started = time.monotonic()
        hg.process.send_signal(signal.SIGTERM)
        self.assertEqual(hg.process.wait(timeout=30), 0)
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn("closing 1 sessions still open", hg.log())
        with self.assertRaises(pymysql.err.OperationalError):
            user_of(idle)


class Listen(unittest.TestCase):
    def test_a_second_hostgate_on_a_taken_address_refuses_to_start(self):
        # Its acceptors use SO_REUSEPORT, which would otherwise let it take half the clients.
        backends = [{"name": "db1", "address": f"127.0.0.1:{db.port}"}]
        first = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=backends).start()
        self.addCleanup(first.stop)
        second = Hostgate(HOSTGATE, "'app'@'127.0.0.6'\n", backends=backends)
        self.addCleanup(second.stop)
        second.port = first.port
        with self.assertRaises(RuntimeError) as e:
            second.start()
        self.assertIn(f"cannot start: listen on 127.0.0.1:{first.port}: Address already in use",
                      str(e.exception))
        # Every client still reaches the first one, whose grants know no 127.0.0.6.
        for _ in range(20):
            self.assertEqual(error_code(first, "127.0.0.6"), 1130)


class Limits(unittest.TestCase):
    def test_max_user_connections_per_rule(self):
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'  MAX_USER_CONNECTIONS 2\n'app'@'127.0.0.6'\n",
                      backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}]).start()
        self.addCleanup(hg.stop)
        first, second = connect(hg, "127.0.0.5"), connect(hg, "127.0.0.5")
        with self.assertRaises(pymysql.err.OperationalError) as e:
            connect(hg, "127.0.0.5")
        self.assertEqual(e.exception.args, (1226, "User 'app' has exceeded the 'max_user_connections' "
                                                  "resource (current value: 2)"))
        other_rule = connect(hg, "127.0.0.6")  # another rule, its own count
        first.close()
        wait_until(lambda: error_code(hg, "127.0.0.5") == 0, 30, "a place to free up")
        second.close()
        other_rule.close()

    def test_max_connections(self):
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                      server={"max_connections": 2}).start()
        self.addCleanup(hg.stop)
        held = [connect(hg, "127.0.0.5"), connect(hg, "127.0.0.5")]
        with socket.create_connection(("127.0.0.1", hg.port), timeout=30, source_address=("127.0.0.5", 0)) as s:
            seq, payload = raw_mysql.read_packet(s)
        self.assertEqual((seq, payload), (0, b"\xff\x10\x04Too many connections"))
        for c in held:
            c.close()


class Audit(unittest.TestCase):
    def setUp(self):
        self.hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n'app'@'127.0.0.6'\n",
                           backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                           server={"shutdown_grace_ms": 500},
                           extra_config='[audit]\nfile = "audit.log"\n').start()
        self.addCleanup(self.hg.stop)
        self.path = self.hg.dir / "audit.log"

    def events(self, path=None):
        lines = (path or self.path).read_text().splitlines() if (path or self.path).exists() else []
        return [json.loads(line) for line in lines]

    def wait_events(self, predicate, what):
        return wait_until(lambda: [e for e in self.events() if predicate(e)] or None, 30, what)

    def test_session_events(self):
        conn = connect(self.hg, "127.0.0.5", database=None)
        port = conn._sock.getsockname()[1]
        self.assertEqual(user_of(conn), "app@127.0.0.5")
        conn.close()
        done = self.wait_events(lambda e: e["event"] == "disconnect", "the disconnect event")[0]
        mine = [e for e in self.events() if e["session"] == done["session"]]
        self.assertEqual([e["event"] for e in mine], ["connect", "auth_ok", "disconnect"])
        for e in mine:
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertEqual(e["client"], f"127.0.0.5:{port}")
        ok = mine[1]
        self.assertEqual((ok["user"], ok["rule"], ok["backend"], ok["tls"]),
                         ("app", "'app'@'127.0.0.5' (line 1)", "db1", False))
        self.assertIsInstance(ok["backend_id"], int)
        self.assertGreater(done["bytes_in"], 0)
        self.assertGreater(done["bytes_out"], 0)
        self.assertGreaterEqual(done["duration_s"], 0)

    def test_refusals(self):
        self.assertEqual(error_code(self.hg, "127.0.0.9"), 1130)
        with self.assertRaises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=self.hg.port, user="nobody", password="x",
                            bind_address="127.0.0.5", connect_timeout=30)
        with socket.create_connection(("127.0.0.1", self.hg.port), timeout=30,
                                      source_address=("127.0.0.6", 0)) as s:
            raw_mysql.read_packet(s)
            s.sendall(proxy_header.v1("10.0.0.1", 1, "127.0.0.1", 2))
            raw_mysql.read_packet(s)
        self.wait_events(lambda e: e["event"] == "proxy_rejected", "proxy_rejected")
        by_event = {e["event"]: e for e in self.events()}
        self.assertEqual(by_event["denied_host"]["reason"], "refused before the greeting: no rule for this host")
        self.assertEqual((by_event["denied_user"]["user"], by_event["denied_user"]["reason"]),
                         ("nobody", "no rule for this user from this address"))
        self.assertEqual(by_event["proxy_rejected"]["reason"], "PROXY header from a peer not in trusted_proxies")

    def test_change_user_event(self):
        r = subprocess.run([SQLCLIENT, "--port", str(self.hg.port), "--bind", "127.0.0.5", "--user", "app",
                            "--password", "app-secret", "change-user", "app", "app-secret"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        e = self.wait_events(lambda e: e["event"] == "change_user", "change_user")[0]
        self.assertEqual((e["user"], e["rule"]), ("app", "'app'@'127.0.0.5'"))

    def test_reopen_on_sigusr1_and_nothing_lost_on_sigterm(self):
        connect(self.hg, "127.0.0.5").close()
        self.wait_events(lambda e: e["event"] == "disconnect", "the first session's events")
        rotated = self.hg.dir / "audit.log.1"
        self.path.rename(rotated)
        self.hg.process.send_signal(signal.SIGUSR1)
        self.hg.wait_for_log("reopened")
        held = connect(self.hg, "127.0.0.6")
        self.hg.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.hg.process.wait(timeout=60), 0)
        old, new = self.events(rotated), self.events()
        self.assertEqual([e["event"] for e in old], ["connect", "auth_ok", "disconnect"])
        self.assertEqual([e["event"] for e in new], ["connect", "auth_ok", "disconnect"])
        self.assertTrue(new[0]["client"].startswith("127.0.0.6:"))
        held.close()


class PrometheusMetrics(unittest.TestCase):
    def scrape(self, path="/metrics"):
        r = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", f"http://127.0.0.1:{self.port}{path}"],
                           capture_output=True, text=True, timeout=30)
        body, _, code = r.stdout.rpartition("\n")
        return int(code), body

    def value(self, body, name):
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        raise AssertionError(f"{name} not in the scrape")

    def test_scrape(self):
        from support.servers import free_port
        self.port = free_port()
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", server={"shutdown_grace_ms": 500},
                      backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                                {"name": "gone", "address": f"127.0.0.1:{free_port()}", "group": "dead"}],
                      extra_config=f'[metrics]\nlisten = "127.0.0.1:{self.port}"\n').start()
        self.addCleanup(hg.stop)
        conn = connect(hg, "127.0.0.5")
        user_of(conn)
        conn.close()
        self.assertEqual(error_code(hg, "127.0.0.9"), 1130)
        with self.assertRaises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=hg.port, user="nobody", password="x",
                            bind_address="127.0.0.5", connect_timeout=30)
        hg.process.send_signal(signal.SIGHUP)
        hg.wait_for_log("reloaded")

        def settled():
            code, body = self.scrape()
            return body if code == 200 and self.value(body, "hostgate_active_sessions") == 0 else None

        body = wait_until(settled, 30, "the sessions to end")
        self.assertEqual(self.value(body, 'hostgate_connections_total{outcome="auth_ok"}'), 1)
        self.assertEqual(self.value(body, 'hostgate_connections_total{outcome="denied_host"}'), 1)
        self.assertEqual(self.value(body, 'hostgate_connections_total{outcome="denied_user"}'), 1)
        refusals = {line.split('"')[1]: float(line.split()[-1]) for line in body.splitlines()
                    if line.startswith("hostgate_refusals_total{")}
        self.assertEqual(refusals, {reason: 1 if reason in ("no_rule_for_host", "no_rule_for_user") else 0
                                    for reason in REFUSAL_REASONS})
        self.assertGreater(self.value(body, 'hostgate_bytes_total{direction="client_to_backend"}'), 0)
        self.assertGreater(self.value(body, 'hostgate_bytes_total{direction="backend_to_client"}'), 0)
        self.assertEqual(self.value(body, "hostgate_handshake_seconds_count"), 1)
        self.assertEqual(self.value(body, 'hostgate_handshake_seconds_bucket{le="+Inf"}'), 1)
        self.assertEqual(self.value(body, 'hostgate_backend_up{backend="db1"}'), 1)
        self.assertEqual(self.value(body, 'hostgate_backend_up{backend="gone"}'), 0)
        self.assertGreaterEqual(self.value(body, 'hostgate_backend_connect_errors_total{backend="gone"}'), 1)
        self.assertEqual(self.value(body, 'hostgate_reloads_total{result="ok"}'), 1)
        self.assertIn("# TYPE hostgate_handshake_seconds histogram", body)
        self.assertEqual(self.scrape("/")[0], 404)
        # Prometheus' own linter: names, units, HELP and TYPE as its conventions want them.
        r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        self.check_dashboard(body)

    def check_dashboard(self, body):
        """Every metric deploy/grafana/hostgate.json queries is one hostgate serves, and every query
        is PromQL that Prometheus accepts (promtool checks it as a recording rule)."""
        dashboard = json.loads((pathlib.Path(__file__).parents[2] / "deploy/grafana/hostgate.json").read_text())
        exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
        served = set()
        for line in body.splitlines():
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split()
                served |= {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else {name}
        queried = {name for expr in exprs for name in re.findall(r"\bhostgate_[a-z_]+", expr)}
        self.assertTrue(queried)
        self.assertEqual(queried - served, set())
        # The dashboard shows what the issue asks of it.
        for metric in ("hostgate_active_sessions", "hostgate_connections_total", "hostgate_refusals_total",
                       "hostgate_handshake_seconds_bucket", "hostgate_backend_up"):
            self.assertIn(metric, queried)
        workdir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-dashboard-"))
        self.addCleanup(shutil.rmtree, workdir)
        rules = workdir / "rules.yml"
        grafana = {"$__rate_interval": "5m", "$job": ".*", "$instance": ".*"}

        def as_prometheus(expr):
            for k, v in grafana.items():
                expr = expr.replace(k, v)
            return expr
        rules.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": [
            {"record": f"hostgate:dashboard_{i}", "expr": as_prometheus(e)} for i, e in enumerate(exprs)]}]}))
        r = subprocess.run(["promtool", "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


class Splice(unittest.TestCase):
    """The rest of a large row on plaintext legs goes through splice(2), unseen by the relay, which
    reads only what it needs to follow the backend's responses; rows are copied. What the client
    reads must be exactly what the backend sent, however slowly it reads."""

    @classmethod
    def setUpClass(cls):
        from support.servers import free_port, self_signed_certificate
        db.execute("CREATE DATABASE IF NOT EXISTS bulk", "GRANT SELECT ON bulk.* TO 'app'@'127.0.0.5'")
        cls.metrics_port, cls.admin_port = free_port(), free_port()
        password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
        cls.certs = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-certs-"))
        cert, key = self_signed_certificate(cls.certs)
        # TLS on the client leg only: this MariaDB has no certificate.
        cls.hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n",
                          backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}", "tls": "off"}],
                          tls={"cert": str(cert), "key": str(key)},
                          extra_config=f'[metrics]\nlisten = "127.0.0.1:{cls.metrics_port}"\n'
                                       f'[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\nuser = "ops"\n'
                                       f'password_hash = "{password_hash}"\n').start()

    @classmethod
    def tearDownClass(cls):
        cls.hg.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def spliced(self):
        r = subprocess.run(["curl", "-s", f"http://127.0.0.1:{self.metrics_port}/metrics"],
                           capture_output=True, text=True, timeout=30, check=True)
        return int(re.search(r"^hostgate_spliced_bytes_total (\d+)$", r.stdout, re.M).group(1))

    def read_checked(self, conn, rows, width=1, pause_every=None):
        """Streams `rows` rows of (n, MD5(n) repeated `width` times) and checks every one, in
        order."""
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"SELECT seq, REPEAT(MD5(seq), {width}) FROM seq_1_to_{rows}")
            for n, row in enumerate(cur, start=1):
                self.assertEqual(row, (n, hashlib.md5(str(n).encode()).hexdigest() * width))
                if pause_every and n % pause_every == 0:
                    time.sleep(0.2)  # the client's socket fills up; hostgate must wait, not drop
            self.assertEqual(n, rows)

    def test_large_rows_are_spliced_and_intact(self):
        before = self.spliced()
        conn = connect(self.hg, "127.0.0.5", database="bulk")
        try:
            self.read_checked(conn, 40, width=8192)  # 40 rows of 256 KiB
            # Each row's head is read (16 KiB at most); the rest of it goes through the pipe.
            self.assertGreater(self.spliced() - before, 40 * (256 - 17) * 1024)
            # Short rows are copied, however many.
            middle = self.spliced()
            self.read_checked(conn, 300_000)  # about 9.5 MB
            self.assertEqual(user_of(conn), "app@127.0.0.5")
            self.assertEqual(self.spliced(), middle)
        finally:
            conn.close()

    def test_slow_reader(self):
        conn = connect(self.hg, "127.0.0.5", database="bulk")
        try:
            self.read_checked(conn, 300_000, pause_every=50_000)
            self.read_checked(conn, 60, width=8192, pause_every=10)
        finally:
            conn.close()

    def test_killed_mid_transfer(self):
        conn = connect(self.hg, "127.0.0.5", database="bulk")
        before = self.spliced()
        # Not `with`: PyMySQL's unbuffered cursor cannot close on a connection that was cut.
        cur = conn.cursor(pymysql.cursors.SSCursor)
        cur.execute("SELECT seq, REPEAT(MD5(seq), 8192) FROM seq_1_to_2000")
        # Read a few large rows, so that the relay splices; then the client stops reading: the
        # relay fills its socket and waits on it.
        for _ in range(20):
            cur.fetchone()
        self.assertGreater(self.spliced(), before)
        admin = pymysql.connect(host="127.0.0.1", port=self.admin_port, user="ops", password="ops-secret",
                                connect_timeout=30)
        with admin.cursor() as a:
            a.execute(f"KILL {conn.thread_id()}")
        admin.close()
        with self.assertRaises(pymysql.err.OperationalError):
            for _ in cur:
                pass
        # hostgate goes on serving.
        self.assertEqual(user_of(connect(self.hg, "127.0.0.5")), "app@127.0.0.5")

    def test_tls_is_never_spliced(self):
        before = self.spliced()
        conn = connect(self.hg, "127.0.0.5", database="bulk", ssl={"check_hostname": False},
                       ssl_verify_cert=False)
        try:
            self.read_checked(conn, 40, width=8192)
        finally:
            conn.close()
        self.assertEqual(self.spliced(), before)


class HealthMonitor(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        db.execute("CREATE USER IF NOT EXISTS 'monitor'@'127.0.0.1' IDENTIFIED BY 'monitor-secret'")

    def start(self, password, backends):
        hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=backends, server={"shutdown_grace_ms": 500},
                      extra_config=f'[monitor]\nuser = "monitor"\npassword = "{password}"\ninterval_ms = 200\n')
        self.addCleanup(hg.stop)
        return hg.start()

    def test_down_backends_are_skipped_and_checks_leave_no_aborted_connects(self):
        from support.servers import free_port
        aborted_before = db.status("Aborted_connects")
        hg = self.start("monitor-secret", [
            {"name": "ghost", "address": f"127.0.0.1:{free_port()}"},
            {"name": "db1", "address": f"127.0.0.1:{db.port}"}])
        hg.wait_for_log("backend ghost")
        wait_until(lambda: "down: connect" in hg.log(), 30, "the monitor to mark ghost down")
        checks_before = db.status("Connections")
        wait_until(lambda: db.status("Connections") >= checks_before + 6, 30, "a few monitor rounds")
        conn = connect(hg, "127.0.0.5")
        self.assertEqual(user_of(conn), "app@127.0.0.5")
        conn.close()
        session_lines = [l for l in hg.log().splitlines() if "session" in l and "ghost" in l]
        self.assertEqual(session_lines, [])  # sessions never tried the down backend
        self.assertEqual(db.status("Aborted_connects"), aborted_before)

    def test_failed_monitor_login_takes_the_group_down(self):
        hg = self.start("wrong", [{"name": "db1", "address": f"127.0.0.1:{db.port}"}])
        wait_until(lambda: "down: login as 'monitor': ERROR 1045" in hg.log(), 30, "the monitor to mark db1 down")
        started = time.monotonic()
        self.assertEqual(error_code(hg, "127.0.0.5"), 1105)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("every backend of group 'default' is down (health monitor)", hg.log())
