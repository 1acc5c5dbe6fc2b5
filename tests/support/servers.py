"""Throwaway servers for integration tests: each on loopback, on a free port, in a temporary
directory, stopped by PID. Readiness is polled, never slept for."""
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pymysql


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def stop_process(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGTERM to the PID, wait for it to exit, SIGKILL if it will not."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout)


class MariaDB:
    """Debian's MariaDB in a temporary datadir, listening on 127.0.0.1 (and ::1 if asked)."""

    def __init__(self, proxy_protocol_networks: str = "127.0.0.0/8,::1", extra_args=()):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-mariadb-"))
        self.port = free_port()
        self.socket = self.dir / "mysqld.sock"
        self.proxy_protocol_networks = proxy_protocol_networks
        self.extra_args = list(extra_args)
        self.process = None

    def start(self) -> "MariaDB":
        datadir = self.dir / "data"
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--user=root",
                        "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, timeout=300)
        self.process = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--socket={self.socket}",
             f"--port={self.port}", "--bind-address=127.0.0.1", "--user=root",
             f"--pid-file={self.dir / 'mysqld.pid'}", f"--log-error={self.dir / 'error.log'}",
             "--skip-name-resolve", "--max-connections=500",
             f"--proxy-protocol-networks={self.proxy_protocol_networks}",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--skip-log-bin",
             *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}: "
                                   f"{(self.dir / 'error.log').read_text()[-2000:]}")
            try:
                self.admin().close()
                return True
            except pymysql.err.OperationalError:
                return False

        wait_until(ready, 120, "MariaDB to accept connections")
        return self

    def admin(self) -> pymysql.connections.Connection:
        """root over the unix socket."""
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True,
                               connect_timeout=10)

    def execute(self, *statements: str):
        """Runs statements as root; returns the rows of the last one."""
        conn = self.admin()
        try:
            with conn.cursor() as cur:
                rows = None
                for sql in statements:
                    cur.execute(sql)
                    rows = cur.fetchall()
                return rows
        finally:
            conn.close()

    def status(self, name: str) -> int:
        return int(self.execute(f"SHOW GLOBAL STATUS LIKE '{name}'")[0][1])

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
