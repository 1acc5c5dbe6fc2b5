"""Several hostgates behind a balancer: /ready and /live, the drain order on SIGTERM, the hitless
upgrade on SIGUSR2, and HAProxy 2.6 in front of two hostgates checking /ready. Real MariaDB,
PyMySQL clients, all on loopback."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

import pymysql

from support.servers import HAProxy, Hostgate, MariaDB, free_port, pid_running, wait_until

HOSTGATE = os.environ["HOSTGATE"]
GRANTS = "'app'@'127.0.0.5'\n"

db = None


def setUpModule():
    global db
    db = MariaDB().start()
    db.execute("CREATE USER 'app'@'127.0.0.5' IDENTIFIED BY 'app-secret'")


def tearDownModule():
    db.stop()


def hostgate(binary=HOSTGATE, backend_port=None, server=None, env=None):
    """A hostgate with a metrics listener (metrics_port) in front of the test's MariaDB."""
    metrics_port = free_port()
    hg = Hostgate(binary, GRANTS, backends=[{"name": "db1", "address": f"127.0.0.1:{backend_port or db.port}"}],
                  server={"trusted_proxies": ["127.0.0.1"], **(server or {})},
                  extra_config=f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n', env=env)
    hg.metrics_port = metrics_port
    return hg.start()


def get(port, path):
    """(status, body) of an HTTP GET on loopback."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def login(port):
    conn = pymysql.connect(host="127.0.0.1", port=port, user="app", password="app-secret",
                           bind_address="127.0.0.5", connect_timeout=30, read_timeout=60)
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    return conn


class Load:
    """New logins every 10 ms, and `sessions` sessions each querying without pause; every failure
    is kept with the time its login or query started."""

    def __init__(self, port, sessions=0):
        self.port = port
        self.failures = []
        self.logins = self.queries = 0
        self.stopping = threading.Event()
        self.held = [login(port) for _ in range(sessions)]
        self.threads = [threading.Thread(target=self.log_in_again_and_again)]
        self.threads += [threading.Thread(target=self.query, args=(c,)) for c in self.held]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(120)

    def log_in_again_and_again(self):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                login(self.port).close()
                self.logins += 1
            except Exception as e:  # every failure is the test's business
                self.failures.append((started, f"login: {e!r}"))
            time.sleep(0.01)

    def query(self, conn):
        while not self.stopping.is_set():
            started = time.monotonic()
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1")
                    cur.fetchall()
                self.queries += 1
            except Exception as e:
                self.failures.append((started, f"query: {e!r}"))
                return


class Health(unittest.TestCase):
    def test_ready_and_live(self):
        hg = hostgate()
        try:
            self.assertEqual(get(hg.metrics_port, "/ready"), (200, "ready\n"))
            self.assertEqual(get(hg.metrics_port, "/live"), (200, "live\n"))
            self.assertEqual(get(hg.metrics_port, "/nothing")[0], 404)
        finally:
            hg.stop()
        # No backend of the default group up: not ready, yet alive.
        down = hostgate(backend_port=free_port())
        try:
            wait_until(lambda: get(down.metrics_port, "/ready")[0] == 503, 30, "/ready to say 503")
            self.assertEqual(get(down.metrics_port, "/ready"), (503, "no backend of the default group is up\n"))
            self.assertEqual(get(down.metrics_port, "/live"), (200, "live\n"))
        finally:
            down.stop()

    def test_sigterm_turns_ready_503_before_the_listeners_close(self):
        hg = hostgate(server={"drain_delay_ms": 3000})
        try:
            os.kill(hg.process.pid, signal.SIGTERM)
            signalled = time.monotonic()
            # The signal is handled on hostgate's own time: poll.
            wait_until(lambda: get(hg.metrics_port, "/ready") == (503, "draining\n"), 30, "/ready 503")
            self.assertLess(time.monotonic() - signalled, 2.5)
            login(hg.port).close()  # the listeners still serve during the delay
            hg.wait_for_log("stopped accepting")
            self.assertGreater(time.monotonic() - signalled, 2.5)
            hg.process.wait(60)
        finally:
            hg.stop()


class Upgrade(unittest.TestCase):
    def test_sigusr2_under_load_fails_no_login_and_no_query(self):
        hg = hostgate()
        try:
            old = hg.process
            with Load(hg.port, sessions=40) as load:
                wait_until(lambda: load.logins >= 20, 60, "logins before the upgrade")
                new_pid = hg.upgrade()
                logins_at_upgrade = load.logins
                wait_until(lambda: load.logins >= logins_at_upgrade + 50, 60, "logins after the upgrade")
                self.assertTrue(pid_running(new_pid))
                self.assertIsNone(old.poll())  # still serving its 40 sessions
            self.assertEqual(load.failures, [])
            self.assertGreater(load.queries, 1000)
            for conn in load.held:
                conn.close()
            old.wait(60)  # the old process exits when its sessions have ended
            self.assertEqual(old.returncode, 0)
            login(hg.port).close()
            self.assertEqual(get(hg.metrics_port, "/ready"), (200, "ready\n"))
            log = hg.log()
            self.assertIn(f"upgrade: process {new_pid} is serving; this one stops accepting and drains", log)
            self.assertIn("upgrade: serving the listeners handed over; telling the old process", log)
            # A second upgrade from the new process works the same way.
            newer_pid = hg.upgrade()
            login(hg.port).close()
            wait_until(lambda: not pid_running(new_pid), 60, "the first new process to exit")
            self.assertTrue(pid_running(newer_pid))
        finally:
            hg.stop()

    def test_the_new_process_may_run_more_or_fewer_threads(self):
        """It serves every socket handed over, on as many loops as it has: none is closed."""
        hg = hostgate()
        try:
            config = hg.dir / "hostgate.toml"
            for threads in (3, 1, 2):
                config.write_text(config.read_text().replace(
                    next(line for line in config.read_text().splitlines() if line.startswith("threads")),
                    f"threads = {threads}"))
                with Load(hg.port, sessions=5) as load:
                    wait_until(lambda: load.logins >= 5, 60, "logins before the upgrade")
                    hg.upgrade()
                    at = load.logins
                    wait_until(lambda: load.logins >= at + 30, 60, "logins after the upgrade")
                self.assertEqual(load.failures, [])
                for conn in load.held:
                    conn.close()
        finally:
            hg.stop()

    def test_a_bad_configuration_or_binary_leaves_the_old_process_serving(self):
        directory = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-binary-"))
        binary = directory / "hostgate"
        shutil.copy(HOSTGATE, binary)
        hg = hostgate(binary=str(binary))
        try:
            config = hg.dir / "hostgate.toml"
            good = config.read_text()
            config.write_text(good + "[server]\nlisten = 3\n")  # a second [server]: invalid TOML
            os.kill(hg.process.pid, signal.SIGUSR2)
            hg.wait_for_log("upgrade failed: process")
            self.assertRegex(hg.log(), r"upgrade failed: process \d+ exited \(status 2\) before it served; "
                                       r"this process keeps serving")
            login(hg.port).close()
            config.write_text(good)
            # A binary that cannot run.
            binary.unlink()
            binary.write_text("#!/bin/sh\nexit 3\n")
            binary.chmod(0o755)
            os.kill(hg.process.pid, signal.SIGUSR2)
            wait_until(lambda: "exited (status 3)" in hg.log(), 60, "the bad binary to fail")
            login(hg.port).close()
            self.assertIsNone(hg.process.poll())
            self.assertEqual(get(hg.metrics_port, "/ready"), (200, "ready\n"))
        finally:
            hg.stop()
            shutil.rmtree(directory, ignore_errors=True)


class Systemd(unittest.TestCase):
    """The unit is Type=notify: hostgate says READY=1 on $NOTIFY_SOCKET once it listens, and after
    an upgrade the old process says MAINPID=<new> once the new one serves. Played here by a
    datagram socket of the test's own, as systemd would listen."""

    def test_ready_then_mainpid_of_the_new_process(self):
        directory = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-notify-"))
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        listener.bind(str(directory / "notify"))
        listener.settimeout(30)
        hg = hostgate(env={"NOTIFY_SOCKET": str(directory / "notify")})
        try:
            self.assertEqual(listener.recv(4096), b"READY=1")
            new_pid = hg.upgrade()
            self.assertEqual(listener.recv(4096), f"MAINPID={new_pid}".encode())
            login(hg.port).close()
        finally:
            hg.stop()
            listener.close()
            shutil.rmtree(directory, ignore_errors=True)

    def test_the_shipped_unit_and_haproxy_configurations(self):
        deploy = pathlib.Path(__file__).resolve().parents[2] / "deploy"
        unit = (deploy / "systemd" / "hostgate.service").read_text()
        for line in ("Type=notify", "NotifyAccess=main", "ExecReload=/bin/kill -HUP $MAINPID"):
            self.assertIn(f"\n{line}\n", unit)
        for cfg in sorted((deploy / "haproxy").glob("*.cfg")):
            r = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, f"{cfg}: {r.stdout}{r.stderr}")
        self.assertIn("option httpchk GET /ready", (deploy / "haproxy" / "fleet.cfg").read_text())


class BehindHAProxy(unittest.TestCase):
    """HAProxy round robin in front of two hostgates, with send-proxy-v2 and GET /ready checks."""

    def setUp(self):
        self.hgs = [hostgate(server={"drain_delay_ms": 3000}) for _ in range(2)]
        self.haproxy = HAProxy(fleet=[(f"hg{i}", hg.port, hg.metrics_port) for i, hg in enumerate(self.hgs)]).start()
        for i in range(2):
            wait_until(lambda i=i: self.haproxy.server_status(f"hg{i}") == "UP", 60, f"hg{i} UP in HAProxy")

    def tearDown(self):
        self.haproxy.stop()
        for hg in self.hgs:
            hg.stop()

    def test_sigkill_of_one_fails_no_new_login(self):
        with Load(self.haproxy.port) as load:
            wait_until(lambda: load.logins >= 20, 60, "logins through HAProxy")
            os.kill(self.hgs[0].process.pid, signal.SIGKILL)
            self.hgs[0].process.wait(60)
            killed = time.monotonic()  # a login under way on hg0 when it died may fail with it
            at = load.logins
            wait_until(lambda: self.haproxy.server_status("hg0").startswith("DOWN"), 60, "hg0 DOWN")
            wait_until(lambda: load.logins >= at + 50, 60, "logins after the kill")
        self.assertEqual([f for f in load.failures if f[0] >= killed], [])

    def test_sigterm_of_one_takes_it_out_before_its_listeners_close(self):
        with Load(self.haproxy.port) as load:
            wait_until(lambda: load.logins >= 20, 60, "logins through HAProxy")
            os.kill(self.hgs[1].process.pid, signal.SIGTERM)
            wait_until(lambda: self.haproxy.server_status("hg1").startswith("DOWN"), 60, "hg1 DOWN")
            self.assertNotIn("stopped accepting", self.hgs[1].log())  # HAProxy noticed first
            self.hgs[1].wait_for_log("stopped accepting")
            at = load.logins
            wait_until(lambda: load.logins >= at + 50, 60, "logins after hg1 closed")
        self.assertEqual(load.failures, [])


if __name__ == "__main__":
    unittest.main()
