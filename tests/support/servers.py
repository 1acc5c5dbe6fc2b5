"""Throwaway servers for integration tests: each on loopback, on a free port, in a temporary
directory, stopped by PID. Readiness is polled, never slept for."""
import atexit
import fcntl
import json
import os
import pathlib
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pymysql


_started = []  # every server process a test started, stopped at exit if a test did not


def started(process: subprocess.Popen) -> subprocess.Popen:
    _started.append(process)
    return process


@atexit.register
def _stop_leftovers():
    """A test whose cleanup failed part way (a failed assertion in tearDown) must not leave its
    servers running."""
    for process in _started:
        stop_process(process, timeout=30)


def _port_range():
    """Ports to hand out: below the kernel's ephemeral range, so that no outgoing connection of a
    busy test (the kernel picks its source port from that range) can take a port between the moment
    it is handed out and the moment its server binds it."""
    try:
        low = int(pathlib.Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return (10000, low) if low > 12000 else (low + 1, 65536)


_PORT_LOCKS = pathlib.Path(tempfile.gettempdir()) / "hostgate-test-ports"
_port_locks = []  # open lock files, one per port this process holds, released at exit


def _reserve(port: int) -> bool:
    """Claims a port among all test processes on the machine (meson runs suites in parallel): an
    flock on a file named after it, held until this process exits."""
    _PORT_LOCKS.mkdir(mode=0o1777, exist_ok=True)
    fd = os.open(_PORT_LOCKS / str(port), os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _port_locks.append(fd)
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on and no test process holds, this one included (a port's lock
    is kept until exit, so it is never handed out twice)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    low, high = _port_range()
    while True:
        port = random.randrange(low, high)
        if not _reserve(port):
            continue
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        return port


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


def pid_running(pid: int) -> bool:
    """Whether a process (not necessarily our child) runs: it exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop_pid(pid: int, timeout: float = 60) -> None:
    """stop_process() for a process that is not our child."""
    if not pid_running(pid):
        return
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not pid_running(pid), timeout, f"process {pid} to exit")
    except TimeoutError:
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_running(pid), timeout, f"process {pid} to die")


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_report(log: str):
    """The first sanitizer report in a log, or None."""
    for marker in SANITIZER_MARKERS:
        at = log.find(marker)
        if at >= 0:
            return log[max(0, at - 200):at + 4000]
    return None


class PortTaken(RuntimeError):
    """A server could not bind the port it was given."""


class ManagedServer:
    """A server process of a test, in its own temporary directory `dir`, stopped by PID."""

    dir: pathlib.Path
    process: subprocess.Popen = None

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class MariaDB(ManagedServer):
    """Debian's MariaDB in a temporary datadir, listening on 127.0.0.1 (and ::1 if asked)."""

    def __init__(self, proxy_protocol_networks: str = "127.0.0.0/8,::1", extra_args=(),
                 bind_address: str = "127.0.0.1"):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-mariadb-"))
        self.port = free_port()
        self.socket = self.dir / "mysqld.sock"
        self.tmpdir = self.dir / "tmp"
        self.proxy_protocol_networks = proxy_protocol_networks
        self.extra_args = list(extra_args)
        self.bind_address = bind_address
        self.process = None

    def start(self) -> "MariaDB":
        datadir = self.dir / "data"
        # A temporary directory of its own: bootstraps running at once in a shared /tmp collide on
        # their temporary tables ("Unknown table 'mysql.tmp_user_sys'").
        self.tmpdir.mkdir(exist_ok=True)
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", f"--tmpdir={self.tmpdir}",
                        "--user=root", "--auth-root-authentication-method=socket", "--skip-test-db"],
                       check=True, capture_output=True, timeout=300)
        for _ in range(5):
            try:
                self._launch(datadir)
                return self
            except PortTaken:
                # Something outside the test suite bound the port meanwhile: try another one.
                self.port = free_port()
        raise RuntimeError("mariadbd found its port taken five times in a row")

    def _launch(self, datadir: pathlib.Path) -> None:
        error_log = self.dir / "error.log"
        error_log.unlink(missing_ok=True)
        self.process = started(subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={datadir}", f"--tmpdir={self.tmpdir}",
             f"--socket={self.socket}",
             f"--port={self.port}", f"--bind-address={self.bind_address}", "--user=root",
             f"--pid-file={self.dir / 'mysqld.pid'}", f"--log-error={error_log}",
             "--skip-name-resolve", "--max-connections=500",
             f"--proxy-protocol-networks={self.proxy_protocol_networks}",
             "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M", "--skip-log-bin",
             *self.extra_args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def ready():
            if self.process.poll() is not None:
                log = error_log.read_text(errors="replace") if error_log.exists() else ""
                if "Address already in use" in log:
                    raise PortTaken(self.port)
                raise RuntimeError(f"mariadbd exited with {self.process.returncode}: {log[-2000:]}")
            try:
                self.admin().close()
                return True
            except pymysql.err.OperationalError:
                return False

        wait_until(ready, 120, "MariaDB to accept connections")

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



class Hostgate(ManagedServer):
    """hostgate with a generated config and grants file, on free loopback ports."""

    def __init__(self, binary: str, grants: str, backends: list, server: dict = None,
                 tls: dict = None, listen_v6: bool = False, extra_config: str = "",
                 grants_options: dict = None, descriptor_limit: int = None,
                 unfollowed_responses: bool = False, env: dict = None):
        self.binary = binary
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-"))
        self.port = free_port()
        self.port6 = free_port("::1") if listen_v6 else None
        self.grants = grants
        self.backends = backends
        self.server = dict(server or {})
        self.tls = tls
        self.extra_config = extra_config
        self.grants_options = dict(grants_options or {})
        self.descriptor_limit = descriptor_limit  # soft and hard RLIMIT_NOFILE, if given
        # Whether the test sends commands whose responses the relay cannot follow. Otherwise any
        # session whose responses the relay lost track of fails the test when hostgate stops:
        # every client and statement of every test checks the response tracker.
        self.unfollowed_responses = unfollowed_responses
        self.env = {**os.environ, **(env or {})}
        self.process = None
        self.successors = []  # processes that took over on SIGUSR2 (upgrade()), newest last
        self.log_path = self.dir / "hostgate.log"

    def config_text(self) -> str:
        listen = [f"127.0.0.1:{self.port}"] + ([f"[::1]:{self.port6}"] if self.port6 else [])
        lines = ["[server]", f"listen = {toml_list(listen)}"]
        for key, value in {"threads": 2, **self.server}.items():
            lines.append(f"{key} = {toml_value(value)}")
        if self.tls:  # cert, key, and ca or crl if given
            lines += ["[tls]"] + [f'{k} = "{v}"' for k, v in self.tls.items()]
        lines += ["[grants]", 'file = "grants.conf"']
        lines += [f"{k} = {toml_value(v)}" for k, v in self.grants_options.items()]
        for b in self.backends:
            lines.append("[[backend]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in b.items()]
        return "\n".join(lines) + "\n" + self.extra_config

    def start(self) -> "Hostgate":
        (self.dir / "grants.conf").write_text(self.grants)
        (self.dir / "hostgate.toml").write_text(self.config_text())
        log = open(self.log_path, "w")
        limit = self.descriptor_limit

        def limit_descriptors():
            if limit:
                resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

        self.process = started(subprocess.Popen(
            [self.binary, "--config", str(self.dir / "hostgate.toml")],
            stdout=log, stderr=subprocess.STDOUT, preexec_fn=limit_descriptors, env=self.env))
        expected = 2 if self.port6 else 1

        def listening():
            if self.process.poll() is not None:
                raise RuntimeError(f"hostgate exited with {self.process.returncode}: {self.log()}")
            return self.log().count("listening on") >= expected

        wait_until(listening, 60, "hostgate to listen")
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def serving_pid(self) -> int:
        return self.successors[-1] if self.successors else self.process.pid

    def upgrade(self, timeout: float = 60) -> int:
        """SIGUSR2: a new process of the binary takes the listeners over. Returns its PID once the
        old process says it serves."""
        said = "upgrade: process {} is serving"
        before = len(re.findall(said.format(r"\d+"), self.log()))
        os.kill(self.serving_pid(), signal.SIGUSR2)
        wait_until(lambda: len(re.findall(said.format(r"\d+"), self.log())) > before, timeout,
                   "the new process to serve")
        pid = int(re.findall(said.format(r"(\d+)"), self.log())[-1])
        self.successors.append(pid)
        return pid

    def stop(self) -> None:
        """Stops hostgate; under deploy/test.sh --sanitize, fails if it logged a sanitizer report."""
        stopped = self.process is not None
        if stopped:
            stop_process(self.process)
            self.process = None
        for pid in self.successors:
            stop_pid(pid)
        self.successors = []
        log = self.log() if stopped and self.log_path.exists() else ""
        report = sanitizer_report(log)
        unfollowed = [line for line in log.splitlines() if "responses are no longer followed" in line]
        shutil.rmtree(self.dir, ignore_errors=True)
        if report:
            raise AssertionError(f"hostgate sanitizer report:\n{report}")
        if unfollowed and not self.unfollowed_responses:
            raise AssertionError("hostgate lost track of the backend's responses:\n" + "\n".join(unfollowed[:5]))

    def wait_for_log(self, text: str, timeout: float = 30) -> None:
        wait_until(lambda: text in self.log(), timeout, f"'{text}' in the hostgate log")

    def audit_events(self, file: str = "audit.log") -> list:
        """Every line of the audit file (`[audit] file`, relative to the config), parsed strictly:
        UTF-8 first, then JSON."""
        path = self.dir / file
        if not path.exists():
            return []
        return [json.loads(line.decode("utf-8", errors="strict"))
                for line in path.read_bytes().split(b"\n") if line]

    def wait_for_audit(self, predicate, what: str, timeout: float = 30) -> list:
        """The audit events for which predicate holds, once there is one."""
        return wait_until(lambda: [e for e in self.audit_events() if predicate(e)], timeout, what)



class HAProxy(ManagedServer):
    """HAProxy 2.6 in TCP mode in front of one server, with a stats socket to read its health; or
    (`fleet`: (name, port, metrics port) of each hostgate) round robin in front of several, each
    checked with GET /ready on its metrics port, a failed connection retried on another."""

    def __init__(self, server_port: int = None, send_proxy: str = "send-proxy-v2", check_user: str = None,
                 fleet: list = None, bind_options: str = ""):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-haproxy-"))
        self.port = free_port()
        self.server_port = server_port
        self.send_proxy = send_proxy
        self.check_user = check_user
        self.fleet = fleet
        self.bind_options = bind_options  # e.g. "ssl crt x.pem verify required ca-file ca.pem"
        self.process = None

    def backend_config(self) -> str:
        if self.fleet:
            return ("    balance roundrobin\n"
                    "    retries 3\n"
                    "    option redispatch\n"
                    "    option httpchk GET /ready\n"
                    "    default-server inter 200ms fall 2 rise 2\n" +
                    "".join(f"    server {name} 127.0.0.1:{port} {self.send_proxy} check port {metrics}\n"
                            for name, port, metrics in self.fleet))
        check = ""
        if self.check_user:
            check = f"    option mysql-check user {self.check_user} post-41\n"
        return (f"{check}"
                f"    server hostgate 127.0.0.1:{self.server_port} {self.send_proxy}"
                f"{' check inter 500ms' if self.check_user else ''}\n")

    def start(self) -> "HAProxy":
        (self.dir / "haproxy.cfg").write_text(
            "global\n"
            f"    stats socket {self.dir / 'stats.sock'} level admin\n"
            "defaults\n"
            "    mode tcp\n"
            "    timeout connect 5s\n"
            "    timeout client 60s\n"
            "    timeout server 60s\n"
            "frontend fe_mysql\n"
            f"    bind 127.0.0.1:{self.port} {self.bind_options}\n"
            "    default_backend be_hostgate\n"
            "backend be_hostgate\n" + self.backend_config())
        self.process = started(subprocess.Popen(
            ["haproxy", "-db", "-f", str(self.dir / "haproxy.cfg")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_until(lambda: (self.dir / "stats.sock").exists(), 60, "HAProxy to start")
        return self

    def server_status(self, server: str = "hostgate") -> str:
        """A server's status in HAProxy: UP, DOWN, ..."""
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.dir / "stats.sock"))
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        for line in data.decode().splitlines():
            fields = line.split(",")
            if len(fields) > 17 and fields[0] == "be_hostgate" and fields[1] == server:
                return fields[17]
        return ""



def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, list):
        return toml_list(v)
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_list(items) -> str:
    return "[" + ", ".join(toml_value(i) for i in items) + "]"


class CertificateAuthority:
    """A CA of the test's own, made with the openssl command: it issues client certificates with
    the subjects a test chooses, and revokes them in a CRL."""

    def __init__(self, directory: pathlib.Path, name: str):
        self.dir = directory / name
        self.dir.mkdir(parents=True)
        self.cert, self.key = self.dir / "ca-cert.pem", self.dir / "ca-key.pem"
        self.subject = f"/CN={name}"
        self.openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key, "-out", self.cert,
                     "-days", "30", "-subj", self.subject)
        (self.dir / "index.txt").write_text("")
        (self.dir / "crlnumber").write_text("01\n")
        (self.dir / "ca.cnf").write_text(
            "[ca]\ndefault_ca = test\n[test]\n"
            f"database = {self.dir / 'index.txt'}\ncrlnumber = {self.dir / 'crlnumber'}\n"
            "default_md = sha256\ndefault_crl_days = 30\n")
        self.serial = 1

    def openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=120)

    def issue(self, name: str, subject: str):
        """(cert path, key path) of a client certificate for `subject` ("/C=NL/O=Example/CN=app")."""
        cert, key, request = self.dir / f"{name}-cert.pem", self.dir / f"{name}-key.pem", self.dir / f"{name}.csr"
        self.openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
                     "-subj", subject)
        self.serial += 1
        self.openssl("x509", "-req", "-in", request, "-CA", self.cert, "-CAkey", self.key, "-out", cert,
                     "-days", "30", "-set_serial", self.serial)
        return cert, key

    def crl_revoking(self, *certs) -> pathlib.Path:
        """A CRL that revokes these certificates."""
        for cert in certs:
            self.openssl("ca", "-config", self.dir / "ca.cnf", "-revoke", cert, "-keyfile", self.key,
                         "-cert", self.cert)
        crl = self.dir / "crl.pem"
        self.openssl("ca", "-config", self.dir / "ca.cnf", "-gencrl", "-keyfile", self.key, "-cert", self.cert,
                     "-out", crl)
        return crl


def self_signed_certificate(directory: pathlib.Path, name: str = "hostgate-test"):
    """(cert path, key path) of a fresh self-signed certificate."""
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "30", "-subj", f"/CN={name}"],
                   check=True, capture_output=True, timeout=120)
    return cert, key
