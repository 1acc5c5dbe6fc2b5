"""The proxy end to end: real MariaDB 10.11, HAProxy 2.6 and real clients (PyMySQL, libmysqlclient
through tests/tools/sqlclient, Node.js mysqljs through tests/tools/nodeclient.js, PHP's mysqlnd
through tests/tools/phpclient.php, the mariadb CLI), all on loopback. Clients bind 127.0.0.x to act as
distinct addresses."""
import hashlib
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

import pymysql

from support import proxy_header, raw_mysql
from support.servers import HAProxy, Hostgate, MariaDB, free_port, self_signed_certificate, wait_until

HOSTGATE = os.environ["HOSTGATE"]
SQLCLIENT = os.environ["SQLCLIENT"]
TOOLS = pathlib.Path(__file__).parent.parent / "tools"
NODECLIENT = ["node", str(TOOLS / "nodeclient.js")]
PHPCLIENT = ["php", str(TOOLS / "phpclient.php")]
CLIENT_ENV = {**os.environ, "NODE_PATH": "/usr/share/nodejs"}  # node-mysql: where Debian puts it

ACCOUNTS = [
    # (account, authentication)
    ("'app'@'127.0.0.5'", "IDENTIFIED BY 'app-secret'"),
    ("'app'@'127.0.0.1'", "IDENTIFIED BY 'app-secret'"),
    ("'app'@'127.0.0.10'", "IDENTIFIED BY 'app-secret'"),
    ("'app'@'127.0.0.11'", "IDENTIFIED BY 'app-secret'"),
    ("'edu'@'127.0.0.5'", "IDENTIFIED VIA ed25519 USING PASSWORD('edu-secret')"),
    ("'other'@'127.0.0.5'", "IDENTIFIED BY 'other-secret'"),
    ("'report'@'127.0.0.7'", "IDENTIFIED BY 'report-secret'"),
    ("'report'@'127.0.0.5'", "IDENTIFIED BY 'report-secret'"),
    ("'tls'@'127.0.0.5'", "IDENTIFIED BY 'tls-secret'"),
    ("'six'@'::1'", "IDENTIFIED BY 'six-secret'"),
    ("'haproxy'@'127.0.0.2'", ""),
]

GRANTS = """\
'app'@'127.0.0.5'
'app'@'127.0.0.1'
'app'@'127.0.0.10'        BACKEND dead
'app'@'127.0.0.11'        BACKEND failover
'edu'@'127.0.0.5'
'other'@'127.0.0.5'
'report'@'127.0.0.7'
'tls'@'127.0.0.5'         REQUIRE SSL
'six'@'::1'
'haproxy'@'127.0.0.2'
"""

db = None
hostgate = None
certs = None


def setUpModule():
    global db, hostgate, certs
    certs = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-certs-"))
    cert, key = self_signed_certificate(certs, "db")
    db = MariaDB(extra_args=[f"--ssl-cert={cert}", f"--ssl-key={key}", "--max-allowed-packet=64M",
                             "--local-infile=1"]).start()
    db.execute("INSTALL SONAME 'auth_ed25519'", "CREATE DATABASE shop",
               "CREATE TABLE shop.items (id INT PRIMARY KEY AUTO_INCREMENT, v LONGBLOB)",
               "CREATE TABLE shop.words (n INT, word VARCHAR(20))")
    for account, auth in ACCOUNTS:
        db.execute(f"CREATE USER {account} {auth}", f"GRANT ALL ON shop.* TO {account}")
    hg_cert, hg_key = self_signed_certificate(certs, "hostgate")
    hostgate = Hostgate(HOSTGATE, GRANTS, backends=[
        {"name": "db1", "address": f"127.0.0.1:{db.port}"},
        {"name": "gone", "address": f"127.0.0.1:{free_port()}", "group": "dead"},
        {"name": "gone2", "address": f"127.0.0.1:{free_port()}", "group": "failover"},
        {"name": "db1-failover", "address": f"127.0.0.1:{db.port}", "group": "failover"},
    ], server={"trusted_proxies": ["127.0.0.2"], "handshake_timeout_ms": 2000},
        tls={"cert": str(hg_cert), "key": str(hg_key)}, listen_v6=True).start()


def tearDownModule():
    if hostgate:
        hostgate.stop()
    if db:
        db.stop()


def connect(user, password, bind="127.0.0.5", port=None, host="127.0.0.1", **kwargs):
    return pymysql.connect(host=host, port=port or hostgate.port, user=user, password=password,
                           bind_address=bind, connect_timeout=30, read_timeout=120, **kwargs)


def one(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def sqlclient(*args, user="app", password="app-secret", bind="127.0.0.5", port=None, program=(SQLCLIENT,)):
    """Runs a client program's steps (see tests/tools/sqlclient.cpp); (exit code, output lines)."""
    r = subprocess.run([*program, "--port", str(port or hostgate.port), *(["--bind", bind] if bind else []),
                        "--user", user, "--password", password, *args], capture_output=True, text=True,
                       timeout=120, env=CLIENT_ENV)
    return r.returncode, r.stdout.splitlines()


def nodeclient(*args, **kwargs):
    """The same steps through node-mysql, a client that checks every sequence id."""
    return sqlclient(*args, program=NODECLIENT, **kwargs)


def phpclient(*args, **kwargs):
    """The same steps through PHP's mysqlnd, which cannot bind: it connects from 127.0.0.1."""
    return sqlclient(*args, program=PHPCLIENT, bind=None, **kwargs)


# These programs take the same steps and print the same lines.
def mysql2client(*args, **kwargs):
    """The same steps through Node's mysql2 (npm), strict about sequence ids too."""
    return sqlclient(*args, program=[*NODECLIENT, "--driver", "mysql2"], **kwargs)


CLIENT_PROGRAMS = {"libmysqlclient": sqlclient, "node-mysql": nodeclient, "mysql2": mysql2client}


def backend_host_of(conn) -> str:
    """The HOST column of this session on the backend, read as root."""
    thread = one(conn, "SELECT CONNECTION_ID()")[0]
    return db.execute(f"SELECT HOST FROM information_schema.processlist WHERE ID = {thread}")[0][0]


class AllowedClients(unittest.TestCase):
    def test_pymysql_backend_sees_real_address_and_port(self):
        conn = connect("app", "app-secret", database="shop")
        try:
            self.assertEqual(one(conn, "SELECT USER()")[0], "app@127.0.0.5")
            local_port = conn._sock.getsockname()[1]
            self.assertEqual(backend_host_of(conn), f"127.0.0.5:{local_port}")
        finally:
            conn.close()

    def test_libmysqlclient_and_node_mysql_with_bind(self):
        for name, client in CLIENT_PROGRAMS.items():
            with self.subTest(client=name):
                code, out = client("--database", "shop", "query", "SELECT USER() AS u, DATABASE() AS d",
                                   "ping", "query", "SELECT 1 AS a; SELECT 2 AS b; DO 3")
                self.assertEqual(code, 0, out)
                self.assertEqual(out[1:], ["app@127.0.0.5\tshop", "PONG", "1", "2", "OK 0"])

    def test_mariadb_cli_from_loopback(self):
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hostgate.port}", "-uapp",
                            "-papp-secret", "--ssl=0", "-N", "-e", "SELECT USER()"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "app@127.0.0.1")

    def test_ipv6_client(self):
        conn = pymysql.connect(host="::1", port=hostgate.port6, user="six", password="six-secret",
                               connect_timeout=30)
        try:
            self.assertEqual(one(conn, "SELECT USER()")[0], "six@::1")
            self.assertTrue(backend_host_of(conn).startswith("::1"))
        finally:
            conn.close()

    def test_ed25519_account_with_pymysql_and_libmysqlclient(self):
        conn = connect("edu", "edu-secret")
        try:
            self.assertEqual(one(conn, "SELECT USER()")[0], "edu@127.0.0.5")
        finally:
            conn.close()
        code, out = sqlclient("query", "SELECT CURRENT_USER()", user="edu", password="edu-secret")
        self.assertEqual((code, out[1:]), (0, ["edu@127.0.0.5"]))


class PhpMysqlnd(unittest.TestCase):
    """PHP's mysqlnd: its own protocol implementation, strict about sequence ids. It connects from
    127.0.0.1, where 'app' is allowed and 'other' is not."""

    def test_login_queries_and_change_user(self):
        code, out = phpclient("--database", "shop", "query", "SELECT USER(), DATABASE()", "ping",
                              "query", "SELECT 1; SELECT NULL; DO 3", "change-user", "app", "app-secret",
                              "query", "SELECT CURRENT_USER()")
        self.assertEqual((code, out[1:]), (0, ["app@127.0.0.1\tshop", "PONG", "1", "\\N", "OK 0",
                                               "CHANGED app", "app@127.0.0.1"]))

    def test_tls(self):
        code, out = phpclient("--ssl", "query", "SHOW SESSION STATUS LIKE 'Ssl_version'")
        self.assertEqual(code, 0, out)
        self.assertTrue(out[1].startswith("Ssl_version\tTLSv1"), out)

    def test_refusals(self):
        denied = "Access denied for user '{}'@'127.0.0.1' (using password: YES)"
        self.assertEqual(phpclient("query", "SELECT 1", user="other", password="other-secret"),
                         (1, ["ERROR 1045 (HY000): " + denied.format("other")]))
        self.assertEqual(phpclient("query", "SELECT 1", password="wrong"),
                         (1, ["ERROR 1045 (HY000): " + denied.format("app")]))
        code, out = phpclient("change-user", "other", "other-secret")
        self.assertEqual((code, out[1:]), (1, ["ERROR 1045 (28000): " + denied.format("other")]))
        only_elsewhere = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=[
            {"name": "db1", "address": f"127.0.0.1:{db.port}"}]).start()
        try:
            self.assertEqual(phpclient("query", "SELECT 1", port=only_elsewhere.port),
                             (1, ["ERROR 1130 (HY000): Host '127.0.0.1' is not allowed to connect to this "
                                  "MySQL server"]))
        finally:
            only_elsewhere.stop()


class RefusedClients(unittest.TestCase):
    def assert_backend_untouched(self, action):
        before = db.status("Connections")
        action()
        self.assertEqual(db.status("Connections"), before + 1)  # +1: the status query itself

    def test_user_not_allowed_from_this_address_is_1045(self):
        def attempt():
            with self.assertRaises(pymysql.err.OperationalError) as e:
                connect("app", "app-secret", bind="127.0.0.7")
            self.assertEqual(e.exception.args, (1045, "Access denied for user 'app'@'127.0.0.7' "
                                                      "(using password: YES)"))
        self.assert_backend_untouched(attempt)

    def test_unknown_host_is_1130_before_the_greeting(self):
        def attempt():
            # Read raw: like MySQL and MariaDB, the ERR before the greeting has no SQL state,
            # which PyMySQL 1.0 misreads (it cuts the first 6 characters of the message).
            with socket.create_connection(("127.0.0.1", hostgate.port), timeout=30,
                                          source_address=("127.0.0.9", 0)) as s:
                seq, payload = raw_mysql.read_packet(s)
                self.assertEqual(s.recv(1), b"")  # and the connection is closed
            self.assertEqual(seq, 0)
            self.assertEqual(payload, b"\xff\x6a\x04Host '127.0.0.9' is not allowed to connect to "
                                      b"this MySQL server")
            with self.assertRaises(pymysql.err.OperationalError) as e:
                connect("app", "app-secret", bind="127.0.0.9")
            self.assertEqual(e.exception.args[0], 1130)
        self.assert_backend_untouched(attempt)

    def test_wrong_password_gets_the_backends_error_and_is_not_logged(self):
        with self.assertRaises(pymysql.err.OperationalError) as e:
            connect("app", "not-the-password-42")
        self.assertEqual(e.exception.args, (1045, "Access denied for user 'app'@'127.0.0.5' "
                                                  "(using password: YES)"))
        self.assertNotIn("not-the-password-42", hostgate.log())
        self.assertNotIn("app-secret", hostgate.log())

    def test_every_client_reads_the_refusals(self):
        refusals = {
            "127.0.0.7": "ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.7' (using password: YES)",
            "127.0.0.9": "ERROR 1130 (HY000): Host '127.0.0.9' is not allowed to connect to this MySQL server",
        }
        for name, client in CLIENT_PROGRAMS.items():
            for bind, expected in refusals.items():
                with self.subTest(client=name, bind=bind):
                    self.assertEqual(client("query", "SELECT 1", bind=bind), (1, [expected]))
            with self.subTest(client=name, password="wrong"):
                self.assertEqual(client("query", "SELECT 1", password="wrong"),
                                 (1, ["ERROR 1045 (28000): Access denied for user 'app'@'127.0.0.5' "
                                      "(using password: YES)"]))

    def test_node_mysql_with_an_ed25519_account_gets_the_servers_own_1251(self):
        # mysqljs has no CLIENT_PLUGIN_AUTH and knows mysql_native_password only: hostgate relays
        # the backend's switch to that plugin, and refuses any other as MariaDB itself does.
        expected = (1, ["ERROR 1251 (08004): Client does not support authentication protocol requested "
                        "by server; consider upgrading MariaDB client"])
        self.assertEqual(nodeclient("query", "SELECT 1", user="edu", password="edu-secret", port=db.port),
                         expected)
        self.assertEqual(nodeclient("query", "SELECT 1", user="edu", password="edu-secret"), expected)

    def test_next_backend_of_the_group_when_the_first_is_down(self):
        conn = connect("app", "app-secret", bind="127.0.0.11")
        try:
            self.assertEqual(one(conn, "SELECT USER()")[0], "app@127.0.0.11")
        finally:
            conn.close()
        self.assertIn("backend gone2", hostgate.log())

    def test_backend_down_is_1105_promptly_and_others_are_served(self):
        started = time.monotonic()
        with self.assertRaises(pymysql.err.OperationalError) as e:
            connect("app", "app-secret", bind="127.0.0.10")
        self.assertEqual(e.exception.args, (1105, "Can't connect to MySQL server"))
        self.assertLess(time.monotonic() - started, 10)
        conn = connect("app", "app-secret")
        self.assertEqual(one(conn, "SELECT 1")[0], 1)
        conn.close()


class ProxyHeaders(unittest.TestCase):
    def raw(self, bind):
        s = socket.socket()
        s.settimeout(30)
        s.bind((bind, 0))
        s.connect(("127.0.0.1", hostgate.port))
        return s

    def test_header_from_untrusted_peer_is_1130(self):
        before = db.status("Connections")
        with self.raw("127.0.0.5") as s:
            raw_mysql.read_packet(s)  # the greeting: 127.0.0.5 is a known host
            s.sendall(proxy_header.v2("10.0.0.1", 1234, "127.0.0.1", hostgate.port))
            seq, reply = raw_mysql.read_packet(s)
        err = raw_mysql.parse_err(reply)
        self.assertEqual((seq, err.code, err.message), (1, 1130, "Proxy header is not accepted from 127.0.0.5"))
        self.assertEqual(db.status("Connections"), before + 1)

    def test_malformed_header_from_trusted_peer_is_1105(self):
        with self.raw("127.0.0.2") as s:
            s.sendall(b"PROXY TCP4 127.0.0.5 127.0.0.1 99999 3306\r\n")
            seq, reply = raw_mysql.read_packet(s)
            if reply[0] == 10:
                # hostgate looked before the header had arrived, and greeted (as it does for a
                # balancer that sends its header with the client's first bytes): the refusal
                # comes after the greeting.
                seq, reply = raw_mysql.read_packet(s)
                self.assertEqual(seq, 1)
            else:
                self.assertEqual(seq, 0)
        err = raw_mysql.parse_err(reply)
        self.assertEqual((err.code, err.message), (1105, "Failed to parse proxy header"))

    def test_required_mode_greets_a_silent_trusted_peer_and_requires_the_header_before_the_login(self):
        with self.raw("127.0.0.2") as s:
            started = time.monotonic()
            seq, greeting = raw_mysql.read_packet(s)  # a MySQL server speaks first
            self.assertLess(time.monotonic() - started, 1.5)
            self.assertEqual((seq, greeting[0]), (0, 10))
            # A login with no header first: one clear ERR, answering it.
            raw_mysql.write_packet(s, 1, b"\x00" * 32 + b"app\0\0")
            seq, reply = raw_mysql.read_packet(s)
        err = raw_mysql.parse_err(reply)
        self.assertEqual((seq, err.code, err.message), (2, 1105, "Proxy header is required from 127.0.0.2"))
        hostgate.wait_for_log("no PROXY header before the login from a trusted peer")
        # Silence after the greeting is cut at the handshake timeout.
        with self.raw("127.0.0.2") as s:
            raw_mysql.read_packet(s)
            started = time.monotonic()
            self.assertEqual(s.recv(100), b"")
            self.assertGreater(time.monotonic() - started, 1.0)

    def test_cloud_balancer_header_placements_log_in_without_waiting(self):
        """A balancer that sends its header on connect, and one that sends it only with the
        client's first bytes (AWS NLB's default): both log in at once, as the client behind it."""
        from support.balancer import Balancer
        for placement in ("on_connect", "on_first_ack_with_payload"):
            balancer = Balancer(hostgate.port, placement).start()
            try:
                with self.subTest(placement, client="PyMySQL"):
                    started = time.monotonic()
                    conn = pymysql.connect(host="127.0.0.1", port=balancer.port, user="app",
                                           password="app-secret", bind_address="127.0.0.5",
                                           connect_timeout=30)
                    self.assertLess(time.monotonic() - started, 1.5)
                    with conn.cursor() as cur:
                        cur.execute("SELECT USER()")
                        self.assertEqual(cur.fetchone(), ("app@127.0.0.5",))
                    conn.close()
                with self.subTest(placement, client="mysql2"):
                    r = subprocess.run([*NODECLIENT, "--driver", "mysql2", "--port", str(balancer.port),
                                        "--bind", "127.0.0.5", "--user", "app", "--password", "app-secret",
                                        "query", "SELECT USER() AS u"],
                                       capture_output=True, text=True, timeout=60, env=CLIENT_ENV)
                    self.assertEqual((r.returncode, r.stdout.splitlines()[-1]), (0, "app@127.0.0.5"), r.stdout)
                with self.subTest(placement, client="PyMySQL, refused host"):
                    with self.assertRaises(pymysql.err.MySQLError) as e:
                        pymysql.connect(host="127.0.0.1", port=balancer.port, user="app",
                                        password="app-secret", bind_address="127.0.0.9", connect_timeout=30)
                    refused = "Host '127.0.0.9' is not allowed to connect to this MySQL server"
                    # A header that came before the greeting is refused in its place (PyMySQL takes
                    # the first 6 characters of such an error for a SQLSTATE, as with MariaDB); one
                    # that came after it is refused in answer to the login. A balancer that sends
                    # on connect can race the greeting, so either may happen.
                    answers = {(1130, refused)} if placement == "on_first_ack_with_payload" else \
                        {(1130, refused), (1130, refused[6:])}
                    self.assertIn(e.exception.args, answers)
                with self.subTest(placement, client="mysql2, refused host"):
                    r = subprocess.run([*NODECLIENT, "--driver", "mysql2", "--port", str(balancer.port),
                                        "--bind", "127.0.0.9", "--user", "app", "--password", "app-secret",
                                        "ping"],
                                       capture_output=True, text=True, timeout=60, env=CLIENT_ENV)
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertEqual(r.stdout.splitlines()[-1],
                                     "ERROR 1130 (HY000): Host '127.0.0.9' is not allowed to connect to "
                                     "this MySQL server")
            finally:
                balancer.stop()

    def test_optional_mode_serves_a_silent_trusted_peer_at_once(self):
        optional = Hostgate(HOSTGATE, "'app'@'127.0.0.2'\n'app'@'127.0.0.5'\n",
                            backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                            server={"trusted_proxies": ["127.0.0.2"], "proxy_protocol": "optional",
                                    "handshake_timeout_ms": 10000}).start()
        try:
            s = socket.socket()
            s.settimeout(30)
            s.bind(("127.0.0.2", 0))
            started = time.monotonic()
            s.connect(("127.0.0.1", optional.port))
            seq, greeting = raw_mysql.read_packet(s)
            self.assertLess(time.monotonic() - started, 2)
            self.assertEqual((seq, greeting[0]), (0, 10))
            s.close()
            # A header is still honoured when one is sent.
            s = socket.create_connection(("127.0.0.1", optional.port), timeout=30,
                                         source_address=("127.0.0.2", 0))
            s.sendall(proxy_header.v1("127.0.0.5", 5555, "127.0.0.1", optional.port))
            raw_mysql.login(s, "app", "app-secret")
            self.assertEqual(raw_mysql.query_one(s, "SELECT USER()"), "app@127.0.0.5")
            s.close()
        finally:
            optional.stop()


class ThroughHAProxy(unittest.TestCase):
    def check_front(self, send_proxy):
        haproxy = HAProxy(hostgate.port, send_proxy=f"{send_proxy} source 127.0.0.2",
                          check_user="haproxy").start()
        try:
            wait_until(lambda: haproxy.server_status() == "UP", 60, "HAProxy to see hostgate UP")
            conn = pymysql.connect(host="127.0.0.1", port=haproxy.port, user="app", password="app-secret",
                                   bind_address="127.0.0.5", connect_timeout=30)
            try:
                self.assertEqual(one(conn, "SELECT USER()")[0], "app@127.0.0.5")
                self.assertEqual(backend_host_of(conn), f"127.0.0.5:{conn._sock.getsockname()[1]}")
            finally:
                conn.close()
            # The health checks go on every 500 ms; hostgate must stay UP through them.
            checks_before = hostgate.log().count("user 'haproxy': allowed")
            wait_until(lambda: hostgate.log().count("user 'haproxy': allowed") >= checks_before + 3, 30,
                       "three more health checks")
            self.assertEqual(haproxy.server_status(), "UP")
        finally:
            haproxy.stop()

    def test_send_proxy_v1(self):
        self.check_front("send-proxy")

    def test_send_proxy_v2(self):
        self.check_front("send-proxy-v2")


class Tls(unittest.TestCase):
    def test_tls_client_mirrored_to_backend(self):
        conn = connect("tls", "tls-secret", ssl={"check_hostname": False}, ssl_verify_cert=False)
        try:
            self.assertEqual(one(conn, "SELECT USER()")[0], "tls@127.0.0.5")
            self.assertTrue(one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1])  # backend leg is TLS
            self.assertIn("TLS", conn._sock.version())
        finally:
            conn.close()

    def test_require_ssl_refuses_plaintext(self):
        with self.assertRaises(pymysql.err.OperationalError) as e:
            connect("tls", "tls-secret")
        self.assertEqual(e.exception.args[0], 1045)

    def test_plaintext_client_has_plaintext_backend(self):
        conn = connect("app", "app-secret")
        try:
            self.assertEqual(one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1], "")
        finally:
            conn.close()

    def test_tls_on_one_leg_only(self):
        # Sequence ids differ between the legs when only one of them has TLS (an SSLRequest
        # takes a number); strict clients notice any mistake.
        for backend_tls, client_ssl, expect_backend_cipher in (("required", None, True), ("off", True, False)):
            with self.subTest(backend_tls=backend_tls):
                other = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=[
                    {"name": "db1", "address": f"127.0.0.1:{db.port}", "tls": backend_tls}],
                    tls=hostgate.tls).start()
                try:
                    ssl = {"ssl": {"check_hostname": False}, "ssl_verify_cert": False} if client_ssl else {}
                    conn = connect("app", "app-secret", port=other.port, **ssl)
                    try:
                        self.assertEqual(one(conn, "SELECT USER()")[0], "app@127.0.0.5")
                        self.assertEqual(bool(one(conn, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[1]),
                                         expect_backend_cipher)
                    finally:
                        conn.close()
                    for client in CLIENT_PROGRAMS.values():
                        code, out = client(*(["--ssl"] if client_ssl else []), "query", "SELECT USER() AS u",
                                           port=other.port)
                        self.assertEqual((code, out[1:]), (0, ["app@127.0.0.5"]))
                finally:
                    other.stop()

    def test_libmysqlclient_and_node_mysql_tls(self):
        for name, client in CLIENT_PROGRAMS.items():
            with self.subTest(client=name):
                code, out = client("--ssl", "query", "SHOW SESSION STATUS LIKE 'Ssl_version'", user="tls",
                                   password="tls-secret")
                self.assertEqual(code, 0, out)
                self.assertTrue(out[1].startswith("Ssl_version\tTLSv1"), out)


class ChangeUser(unittest.TestCase):
    def test_change_to_an_allowed_user(self):
        for name, client in CLIENT_PROGRAMS.items():
            with self.subTest(client=name):
                code, out = client("change-user", "other", "other-secret", "query", "SELECT USER() AS u")
                self.assertEqual(code, 0, out)
                self.assertEqual(out[1:], ["CHANGED other", "other@127.0.0.5"])

    def test_change_to_a_user_not_allowed_from_this_address(self):
        # 'report' exists on the backend for 127.0.0.5, but the grants allow it from 127.0.0.7 only.
        for name, client in CLIENT_PROGRAMS.items():
            with self.subTest(client=name):
                code, out = client("change-user", "report", "report-secret", "query", "SELECT USER()")
                self.assertEqual(code, 1)
                self.assertEqual(out[1], "ERROR 1045 (28000): Access denied for user 'report'@'127.0.0.5' "
                                         "(using password: YES)")


class Kill(unittest.TestCase):
    """The mariadb CLI's Ctrl-C sends KILL QUERY <id from the greeting> on a new connection; the
    id is hostgate's, so hostgate must route it to the backend thread."""

    def start_sleeper(self):
        p = subprocess.Popen([SQLCLIENT, "--port", str(hostgate.port), "--bind", "127.0.0.5", "--user", "app",
                              "--password", "app-secret", "query", "SELECT SLEEP(60)"],
                             stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline().split()
        self.assertEqual(first[0], "CONNECTED")
        hostgate_id = int(first[1])
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        wait_until(lambda: db.execute("SELECT COUNT(*) FROM information_schema.processlist "
                                      "WHERE INFO = 'SELECT SLEEP(60)'")[0][0] >= 1, 30, "the sleeper to run")
        return p, hostgate_id

    def test_kill_query_by_hostgate_id(self):
        sleeper, hostgate_id = self.start_sleeper()
        started = time.monotonic()
        code, out = sqlclient("query", f"KILL QUERY {hostgate_id}")
        self.assertEqual((code, out[1:]), (0, ["OK 0"]))
        rest = sleeper.stdout.read()
        sleeper.wait(timeout=30)
        self.assertLess(time.monotonic() - started, 20)
        self.assertEqual(rest.strip(), "ERROR 1317 (70100): Query execution was interrupted")

    def test_kill_of_another_users_session_is_refused(self):
        _, hostgate_id = self.start_sleeper()
        code, out = sqlclient("query", f"KILL {hostgate_id}", user="other", password="other-secret")
        self.assertEqual(code, 1)
        self.assertEqual(out[1], f"ERROR 1095 (HY000): You are not owner of thread {hostgate_id}")


class LargeTraffic(unittest.TestCase):
    def test_50_mb_result_set(self):
        conn = connect("app", "app-secret", database="shop")
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT REPEAT('a', 1000), seq FROM seq_1_to_50000")
                rows = cur.fetchall()
            self.assertEqual(len(rows), 50000)
            self.assertEqual(sum(len(r[0]) for r in rows), 50_000_000)
            self.assertEqual(rows[-1][1], 50000)
        finally:
            conn.close()

    def test_20_mb_packet(self):
        blob = os.urandom(20 * 1024 * 1024)
        conn = connect("app", "app-secret", database="shop", autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("INSERT INTO items (v) VALUES (%s)", (blob,))
                cur.execute("SELECT LENGTH(v), MD5(v) FROM items WHERE id = LAST_INSERT_ID()")
                length, digest = cur.fetchone()
            self.assertEqual((length, digest), (len(blob), hashlib.md5(blob).hexdigest()))
        finally:
            conn.close()

    def test_load_data_local_infile(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as f:
            for n in range(20000):
                f.write(f"{n}\tword{n}\n")
        self.addCleanup(os.unlink, f.name)
        conn = connect("app", "app-secret", database="shop", local_infile=True, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute("DELETE FROM words")
                cur.execute(f"LOAD DATA LOCAL INFILE '{f.name}' INTO TABLE words")
                cur.execute("SELECT COUNT(*), SUM(n) FROM words")
                self.assertEqual(cur.fetchone(), (20000, sum(range(20000))))
        finally:
            conn.close()

    def test_multi_statements(self):
        conn = connect("app", "app-secret", client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1; SELECT 2; SELECT 3")
                results = [cur.fetchall()]
                while cur.nextset():
                    results.append(cur.fetchall())
            self.assertEqual(results, [((1,),), ((2,),), ((3,),)])
        finally:
            conn.close()

    def test_server_side_prepared_statements(self):
        code, out = sqlclient("prepared", "SELECT ?, LENGTH(?), ? + 1", "hello", "four", "41",
                              "prepared", "SELECT CURRENT_USER()")
        self.assertEqual(code, 0, out)
        self.assertEqual(out[1:], ["hello\t4\t42", "app@127.0.0.5"])


class CloudEndpoints(unittest.TestCase):
    """Behind PrivateLink-style services tenants' addresses overlap: the endpoint TLV in the
    balancer's PROXY v2 header is part of who the client is. Here every tenant's client is
    127.0.0.5, behind a balancer of its own that names its endpoint (AWS, Azure, GCP)."""

    AWS, AZURE, GCP = "vpce-0a1b2c3d4e5f67890", 2018915346, 10000000000
    GRANTS = (f"'app'@'127.0.0.5'     ENDPOINT '{AWS}'  BACKEND tenant_a\n"
              f"'app'@'127.0.0.5'     ENDPOINT '{AZURE}'\n"
              f"'report'@'127.0.0.5'  ENDPOINT '{GCP}'\n")

    @classmethod
    def setUpClass(cls):
        from support.balancer import Balancer
        cls.admin_port = free_port()
        password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
        cls.hg = Hostgate(HOSTGATE, cls.GRANTS,
                          backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                                    {"name": "db-a", "address": f"127.0.0.1:{db.port}", "group": "tenant_a"}],
                          server={"trusted_proxies": ["127.0.0.2"]},
                          extra_config=f'[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\nuser = "ops"\n'
                                       f'password_hash = "{password_hash}"\n'
                                       '[audit]\nfile = "audit.log"\n').start()
        cls.balancers = {
            "aws": Balancer(cls.hg.port, "on_first_ack_with_payload", tlvs=proxy_header.aws_vpc_endpoint(cls.AWS)),
            "azure": Balancer(cls.hg.port, "on_connect", tlvs=proxy_header.azure_link_id(cls.AZURE)),
            "gcp": Balancer(cls.hg.port, "on_connect", tlvs=proxy_header.gcp_psc_connection(cls.GCP)),
            # As AWS NLB does by default: the header comes with the login, so a refusal answers it.
            "other aws": Balancer(cls.hg.port, "on_first_ack_with_payload",
                                  tlvs=proxy_header.aws_vpc_endpoint("vpce-1111")),
            "none": Balancer(cls.hg.port, "on_first_ack_with_payload"),
        }
        for b in cls.balancers.values():
            b.start()

    @classmethod
    def tearDownClass(cls):
        for b in cls.balancers.values():
            b.stop()
        cls.hg.stop()

    def through(self, balancer, user, password, **kwargs):
        return pymysql.connect(host="127.0.0.1", port=self.balancers[balancer].port, user=user,
                               password=password, bind_address="127.0.0.5", connect_timeout=30, **kwargs)

    def admin_rows(self, sql):
        conn = pymysql.connect(host="127.0.0.1", port=self.admin_port, user="ops", password="ops-secret",
                               connect_timeout=30, cursorclass=pymysql.cursors.DictCursor)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()

    def test_each_endpoint_gets_its_own_rule_and_is_shown(self):
        for balancer, user, password, backend, endpoint in (
                ("aws", "app", "app-secret", "db-a", self.AWS),
                ("azure", "app", "app-secret", "db1", str(self.AZURE)),
                ("gcp", "report", "report-secret", "db1", str(self.GCP))):
            with self.subTest(balancer):
                conn = self.through(balancer, user, password)
                try:
                    self.assertEqual(one(conn, "SELECT USER()"), (f"{user}@127.0.0.5",))
                    session = one(conn, "SELECT CONNECTION_ID()")[0]
                    backend_row = db.execute(f"SELECT HOST FROM information_schema.processlist "
                                             f"WHERE ID = {session}")
                    self.assertEqual(backend_row[0][0].split(":")[0], "127.0.0.5")
                    mine = wait_until(lambda: [r for r in self.admin_rows("SHOW PROCESSLIST")
                                               if r["Backend_id"] == session], 30, "the session listed")
                    self.assertEqual(len(mine), 1)
                    row = mine[0]
                    self.assertEqual((row["User"], row["Host"].split(":")[0], row["Via"].split(":")[0],
                                      row["Endpoint"], row["Backend"]),
                                     (user, "127.0.0.5", "127.0.0.2", endpoint, backend))
                finally:
                    conn.close()
                event = self.hg.wait_for_audit(lambda e: e["event"] == "auth_ok" and e.get("endpoint") == endpoint,
                                   f"the auth_ok event through {balancer}")[0]
                self.assertEqual((event["user"], event["client"].split(":")[0], event["backend"]),
                                 (user, "127.0.0.5", backend))
                self.hg.wait_for_log(f"endpoint {endpoint} user '{user}'")

    def test_a_rule_with_endpoint_never_matches_another_endpoint_or_none(self):
        host_refused = (1130, "Host '127.0.0.5' is not allowed to connect to this MySQL server")
        for balancer in ("other aws", "none"):
            with self.subTest(balancer, client="PyMySQL"):
                with self.assertRaises(pymysql.err.MySQLError) as e:
                    self.through(balancer, "app", "app-secret")
                self.assertEqual(e.exception.args, host_refused)
            with self.subTest(balancer, client="mysql2"):
                r = subprocess.run([*NODECLIENT, "--driver", "mysql2", "--port", str(self.balancers[balancer].port),
                                    "--bind", "127.0.0.5", "--user", "app", "--password", "app-secret", "ping"],
                                   capture_output=True, text=True, timeout=60, env=CLIENT_ENV)
                self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                                 (1, f"ERROR {host_refused[0]} (HY000): {host_refused[1]}"), r.stdout)
        # Through GCP's endpoint only report's rule matches: app is refused as a user.
        with self.assertRaises(pymysql.err.MySQLError) as e:
            self.through("gcp", "app", "app-secret")
        self.assertEqual(e.exception.args,
                         (1045, "Access denied for user 'app'@'127.0.0.5' (using password: YES)"))
        event = self.hg.wait_for_audit(lambda e: e["event"] == "denied_user" and e.get("endpoint") == str(self.GCP),
                           "the denial through GCP's endpoint")[0]
        self.assertEqual(event["user"], "app")

    def test_explain_takes_the_endpoint(self):
        explained = [r["Explain"] for r in self.admin_rows(f"EXPLAIN 'app'@'127.0.0.5' ENDPOINT '{self.AZURE}'")]
        self.assertEqual(explained[0], "allow: 'app'@'127.0.0.5' (line 2) applies to 'app'@127.0.0.5")
        self.assertEqual(explained[3], f"  options: ENDPOINT '{self.AZURE}'")
        self.assertEqual(explained[4], f"  endpoint: {self.AZURE}")
        self.assertEqual(explained[6], "  line 1    'app'@'127.0.0.5'     host yes  endpoint no")
        self.assertEqual(explained[7], "  line 2    'app'@'127.0.0.5'     host yes  endpoint yes  user yes  <- applies")
        denied = [r["Explain"] for r in self.admin_rows("EXPLAIN 'app'@'127.0.0.5'")]
        self.assertEqual(denied[:2], ["deny: ERROR 1130 (HY000): Host '127.0.0.5' is not allowed to connect to "
                                      "this MySQL server",
                                      "  no rule matches 127.0.0.5; the client is refused before the greeting"])


class SourceAddress(unittest.TestCase):
    """[[backend]] source: hostgate's connections to a backend come from one address, the only one
    the backend's proxy_protocol_networks lists (as a hostgate on the database host must use a
    routable address, since Percona Server takes no header from 127.0.0.1)."""

    def test_sessions_and_health_checks_come_from_the_source(self):
        only = MariaDB(proxy_protocol_networks="127.0.0.7").start()
        try:
            only.execute("CREATE USER 'app'@'127.0.0.5' IDENTIFIED BY 'app-secret'",
                         "CREATE USER 'monitor'@'127.0.0.7' IDENTIFIED BY 'monitor-secret'")
            hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n",
                          backends=[{"name": "db1", "address": f"127.0.0.1:{only.port}",
                                     "source": "127.0.0.7"}],
                          extra_config='[monitor]\nuser = "monitor"\npassword = "monitor-secret"\n'
                                       'interval_ms = 200\n').start()
            try:
                conn = pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                                       bind_address="127.0.0.5", connect_timeout=30)
                with conn.cursor() as cur:
                    cur.execute("SELECT USER()")
                    self.assertEqual(cur.fetchone(), ("app@127.0.0.5",))
                conn.close()
                # The health checks log in as monitor@127.0.0.7 (a LOCAL header: the peer itself):
                # MariaDB counts their logins.
                before = only.status("Connections")
                wait_until(lambda: only.status("Connections") >= before + 3, 30, "health checks")
                self.assertEqual(only.status("Aborted_connects"), 0)
                self.assertNotIn("down", hg.log())
            finally:
                hg.stop()
        finally:
            only.stop()


class HeaderRefused(unittest.TestCase):
    """A backend whose proxy_protocol_networks misses hostgate's address: strict clients get one
    clear, well-formed error, in plaintext and over TLS to the backend (where the backend's ERR is
    lost in the TLS handshake, and hostgate asks again in plaintext); the log says so once, with
    the fix; SHOW BACKENDS and the health monitor say the backend is down, and why."""

    EXPECTED = (1105, "The database server does not accept hostgate's PROXY header: hostgate's "
                      "address must be in its proxy_protocol_networks")

    def test_clients_get_one_clear_error_and_the_log_the_fix(self):
        certs = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-certs-"))
        db_cert, db_key = self_signed_certificate(certs, "db")
        hg_cert, hg_key = self_signed_certificate(certs, "hostgate")
        only = MariaDB(proxy_protocol_networks="127.0.0.7",
                       extra_args=[f"--ssl-cert={db_cert}", f"--ssl-key={db_key}"]).start()
        hg = monitored = None
        try:
            only.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'",
                         "CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor-secret'")
            backends = [{"name": "db1", "address": f"127.0.0.1:{only.port}"}]
            admin_port = free_port()
            password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
            hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=backends,
                          tls={"cert": str(hg_cert), "key": str(hg_key)},
                          extra_config=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                                       f'password_hash = "{password_hash}"\n').start()
            # The start-up probe finds it first.
            hg.wait_for_log("does not accept hostgate's PROXY header")
            for tls in (False, True):
                with self.subTest("PyMySQL", tls=tls):
                    with self.assertRaises(pymysql.err.MySQLError) as e:
                        pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                                        bind_address="127.0.0.5", connect_timeout=30,
                                        ssl={"check_hostname": False} if tls else None,
                                        ssl_verify_cert=False if tls else None)
                    self.assertEqual(e.exception.args, self.EXPECTED)
                with self.subTest("mysql2", tls=tls):
                    r = subprocess.run([*NODECLIENT, "--driver", "mysql2", "--port", str(hg.port),
                                        "--bind", "127.0.0.5", "--user", "app", "--password", "app-secret",
                                        *(["--ssl"] if tls else []), "ping"],
                                       capture_output=True, text=True, timeout=60, env=CLIENT_ENV)
                    self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                                     (1, f"ERROR {self.EXPECTED[0]} (HY000): {self.EXPECTED[1]}"), r.stdout)
            hg.wait_for_log("add 127.0.0.1 to proxy_protocol_networks on the backend")
            lines = [line for line in hg.log().splitlines() if "does not accept hostgate's PROXY header" in line]
            self.assertEqual(len(lines), 1, lines)  # once a minute, not once a session
            self.assertIn(" error backend db1 (127.0.0.1:", lines[0])
            self.assertIn("does not accept hostgate's PROXY header from 127.0.0.1 (1130 'Proxy header is "
                          "not accepted from 127.0.0.1')", lines[0])
            admin = pymysql.connect(host="127.0.0.1", port=admin_port, user="ops", password="ops-secret",
                                    connect_timeout=30, cursorclass=pymysql.cursors.DictCursor)
            with admin.cursor() as cur:
                cur.execute("SHOW BACKENDS")
                row = cur.fetchone()
            admin.close()
            self.assertEqual((row["Name"], row["Up"], row["Down_reason"]),
                             ("db1", "No", "does not accept hostgate's PROXY header from 127.0.0.1 (1130 "
                                           "'Proxy header is not accepted from 127.0.0.1'): add 127.0.0.1 to "
                                           "proxy_protocol_networks on the backend"))
            monitored = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n", backends=backends,
                                 extra_config='[monitor]\nuser = "monitor"\npassword = "monitor-secret"\n'
                                              'interval_ms = 200\n').start()
            try:
                monitored.wait_for_log("down: does not accept hostgate's PROXY header from 127.0.0.1")
            except TimeoutError:
                raise AssertionError(monitored.log())
        finally:
            for s in (hg, monitored, only):
                if s:
                    s.stop()
            shutil.rmtree(certs, ignore_errors=True)


class HeaderNotAnswered(unittest.TestCase):
    """A backend that closes right after hostgate's PROXY header, or sends no greeting within
    connect_timeout_ms (as a server does that checks the header before its greeting): the client
    gets the same clear error as for a refusal, and the log and SHOW BACKENDS say what happened."""

    EXPECTED = HeaderRefused.EXPECTED

    def fake_backend(self, behaviour):
        """A loopback listener that reads what comes and then closes, or stays silent."""
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        held = []

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.recv(4096)
                if behaviour == "close":
                    conn.close()
                else:
                    held.append(conn)
        import threading
        threading.Thread(target=serve, daemon=True).start()
        self.addCleanup(lambda: [c.close() for c in held + [listener]])
        return listener.getsockname()[1]

    def test_closed_or_silent_after_the_header(self):
        for behaviour, said in (("close", "closed after hostgate's PROXY header, before its greeting (End of file)"),
                                ("silent", "no greeting within connect_timeout_ms after hostgate's PROXY header")):
            with self.subTest(behaviour):
                port = self.fake_backend(behaviour)
                # A second backend that works, in another group, so that hostgate can greet.
                hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5' BACKEND broken\n",
                              backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                                        {"name": "odd", "address": f"127.0.0.1:{port}", "group": "broken"}],
                              server={"connect_timeout_ms": 1000}).start()
                try:
                    with self.assertRaises(pymysql.err.MySQLError) as e:
                        pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                                        bind_address="127.0.0.5", connect_timeout=30)
                    self.assertEqual(e.exception.args, self.EXPECTED)
                    r = subprocess.run([*NODECLIENT, "--driver", "mysql2", "--port", str(hg.port),
                                        "--bind", "127.0.0.5", "--user", "app", "--password", "app-secret", "ping"],
                                       capture_output=True, text=True, timeout=60, env=CLIENT_ENV)
                    self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                                     (1, f"ERROR {self.EXPECTED[0]} (HY000): {self.EXPECTED[1]}"), r.stdout)
                    hg.wait_for_log("if it does not accept the header, add 127.0.0.1 to "
                                    "proxy_protocol_networks on the backend")
                    self.assertIn(f" error backend odd (127.0.0.1:{port}) {said}", hg.log())
                    errors = [line for line in hg.log().splitlines() if " error backend odd " in line]
                    self.assertEqual(len(errors), 1, errors)
                finally:
                    hg.stop()


class EveryClientReadsTheRefusals(unittest.TestCase):
    """hostgate's own refusals carry server error numbers, which every client shows as sent: the
    mariadb CLI and libmariadb programs turn a client-range number (2000-2999) from a server into
    'ERROR 2027 Received malformed packet'. Each refusal a client library can meet goes through
    PyMySQL, libmariadb (tests/tools/sqlclient) and, where it connects from 127.0.0.1, the
    mariadb CLI."""

    TOO_MANY = (1040, "HY000", "Too many connections")
    CASES = {
        # name: (hostgate, user, source, code, SQLSTATE, text); "main" is the hostgate of most
        # cases, "full" one with max_connections = 1, "busy" one with max_handshakes = 1, each
        # with a connection held open; "admin" is main's admin port.
        "no backend answers": ("main", "lost", "127.0.0.1", 1105, "08S01", "Can't connect to MySQL server"),
        "no rule for the user": ("main", "nobody", "127.0.0.1", 1045, "28000",
                                 "Access denied for user 'nobody'@'127.0.0.1' (using password: YES)"),
        "no rule for the host": ("main", "app", "127.0.0.9", 1130, "HY000",
                                 "Host '127.0.0.9' is not allowed to connect to this MySQL server"),
        "no header from the trusted peer": ("main", "app", "127.0.0.2", 1105, "HY000",
                                            "Proxy header is required from 127.0.0.2"),
        "REQUIRE SSL on a plaintext login": ("main", "secure", "127.0.0.1", 1045, "28000",
                                             "Access denied for user 'secure'@'127.0.0.1' (using password: YES)"),
        "MAX_USER_CONNECTIONS reached": ("main", "capped", "127.0.0.1", 1226, "42000",
                                         "User 'capped' has exceeded the 'max_user_connections' resource "
                                         "(current value: 1)"),
        "max_connections reached": ("full", "app", "127.0.0.1", *TOO_MANY),
        "max_handshakes in flight": ("busy", "app", "127.0.0.1", *TOO_MANY),
        "admin: wrong password": ("admin", "ops", "127.0.0.1", 1045, "28000",
                                  "Access denied for user 'ops'@'127.0.0.1' (using password: YES)"),
    }
    # Refusals in place of the greeting carry no SQLSTATE, as MariaDB sends them: PyMySQL takes
    # their first 6 characters for one, as it does with MariaDB itself.
    BEFORE_GREETING = {"no rule for the host", "max_connections reached", "max_handshakes in flight"}

    @classmethod
    def setUpClass(cls):
        db.execute("CREATE USER IF NOT EXISTS 'capped'@'127.0.0.1' IDENTIFIED BY 'secret'")
        backends = [{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                    {"name": "gone", "address": f"127.0.0.1:{free_port()}", "group": "dead"}]
        grants = ("'app'@'127.0.0.1'\n'lost'@'127.0.0.1' BACKEND dead\n'secure'@'127.0.0.1' REQUIRE SSL\n"
                  "'capped'@'127.0.0.1' MAX_USER_CONNECTIONS 1\n")
        admin_port = free_port()
        password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
        cls.servers = {
            "main": Hostgate(HOSTGATE, grants, backends=backends,
                             server={"trusted_proxies": ["127.0.0.2"], "connect_timeout_ms": 1000},
                             extra_config=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                                          f'password_hash = "{password_hash}"\n').start(),
            "full": Hostgate(HOSTGATE, grants, backends=backends, server={"max_connections": 1}).start(),
            "busy": Hostgate(HOSTGATE, grants, backends=backends, server={"max_handshakes": 1}).start(),
        }
        cls.ports = {name: hg.port for name, hg in cls.servers.items()}
        cls.ports["admin"] = admin_port
        # What fills each limit: a session of capped, a connection, a handshake under way.
        cls.held = [pymysql.connect(host="127.0.0.1", port=cls.ports["main"], user="capped", password="secret",
                                    connect_timeout=30)]
        for name in ("full", "busy"):
            s = socket.create_connection(("127.0.0.1", cls.ports[name]), timeout=30)
            raw_mysql.read_packet(s)  # greeted: the connection and the handshake are counted
            cls.held.append(s)

    @classmethod
    def tearDownClass(cls):
        for h in cls.held:
            h.close()
        for hg in cls.servers.values():
            hg.stop()

    def test_pymysql_libmariadb_and_the_mariadb_cli(self):
        for name, (server, user, source, code, state, text) in self.CASES.items():
            port = self.ports[server]
            with self.subTest(name, client="PyMySQL"):
                with self.assertRaises(pymysql.err.MySQLError) as e:
                    pymysql.connect(host="127.0.0.1", port=port, user=user, password="secret",
                                    bind_address=source, connect_timeout=30)
                self.assertEqual(e.exception.args, (code, text[6:] if name in self.BEFORE_GREETING else text))
            with self.subTest(name, client="libmariadb"):
                r = subprocess.run([SQLCLIENT, "--port", str(port), "--bind", source, "--user", user,
                                    "--password", "secret", "ping"],
                                   capture_output=True, text=True, timeout=60)
                self.assertEqual(r.stdout.strip(), f"ERROR {code} ({state}): {text}")
            if source == "127.0.0.1":  # the CLI cannot choose its source address
                with self.subTest(name, client="mariadb CLI"):
                    r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{port}",
                                        f"-u{user}", "-psecret", "--ssl=0", "-e", "SELECT 1"],
                                       capture_output=True, text=True, timeout=60)
                    self.assertEqual(r.stderr.strip(), f"ERROR {code} ({state}): {text}")
