"""The grants hold on every path, not only at the login: COM_CHANGE_USER applies the new user's
whole rule (REQUIRE SSL, BACKEND, MAX_USER_CONNECTIONS), no plaintext login can be slipped in
across the TLS start, IPv4-compatible source addresses are IPv4 as MySQL sees them, and an
unauthenticated client learns nothing of the backends. Strict clients (mysqljs, which checks every
sequence id, and PyMySQL) next to libmysqlclient, against a real MariaDB."""
import json
import os
import pathlib
import shutil
import signal
import ssl
import struct
import subprocess
import tempfile
import unittest

import pymysql

from support import proxy_header, raw_mysql
from support.servers import Hostgate, MariaDB, free_port, self_signed_certificate, wait_until

HOSTGATE = os.environ["HOSTGATE"]
SQLCLIENT = os.environ["SQLCLIENT"]
NODECLIENT = ("node", str(pathlib.Path(__file__).parent.parent / "tools" / "nodeclient.js"))
CLIENT_ENV = {**os.environ, "NODE_PATH": "/usr/share/nodejs"}
TRUSTED = "127.0.0.2"

ACCOUNTS = ["app", "alice", "bob", "ppcheck", "mallory", "lost"]
GRANTS = """\
'app'@'127.0.0.%'
'alice'@'127.0.0.%'    REQUIRE SSL
'alice'@'%'
'bob'@'127.0.0.%'      BACKEND replicas
'ppcheck'@'127.0.0.%'  MAX_USER_CONNECTIONS 1
'mallory'@'127.0.0.%'
'lost'@'127.0.0.%'     BACKEND dead
"""

db = None
hg = None


def setUpModule():
    global db, hg
    certs = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-certs-"))
    cert, key = self_signed_certificate(certs, "db")
    db = MariaDB(extra_args=[f"--ssl-cert={cert}", f"--ssl-key={key}", "--local-infile=1"]).start()
    db.execute("CREATE DATABASE shop",
               "CREATE TABLE shop.loaded (id INT AUTO_INCREMENT PRIMARY KEY, v LONGBLOB)")
    for user in ACCOUNTS:
        db.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{user}-secret'",
                   f"GRANT ALL ON shop.* TO '{user}'@'%'")
    hg_cert, hg_key = self_signed_certificate(certs, "hostgate")
    hg = Hostgate(HOSTGATE, GRANTS, backends=[
        {"name": "db1", "address": f"127.0.0.1:{db.port}"},
        {"name": "replica1", "address": f"127.0.0.1:{db.port}", "group": "replicas"},
        {"name": "gone", "address": f"127.0.0.1:{free_port()}", "group": "dead"},
    ], server={"trusted_proxies": [TRUSTED]},
        tls={"cert": str(hg_cert), "key": str(hg_key)}).start()


def tearDownModule():
    if hg:
        hg.stop()
    if db:
        db.stop()


def client(program, *steps, user="app", ssl_on=False, bind="127.0.0.5"):
    """Runs a client program's steps; (exit code, output lines)."""
    r = subprocess.run([*program, "--port", str(hg.port), "--bind", bind, "--user", user,
                        "--password", f"{user}-secret", *(["--ssl"] if ssl_on else []), *steps],
                       capture_output=True, text=True, timeout=120, env=CLIENT_ENV)
    return r.returncode, r.stdout.splitlines()


CLIENTS = {"libmysqlclient": (SQLCLIENT,), "mysqljs": NODECLIENT,
           "mysql2": (*NODECLIENT, "--driver", "mysql2")}


def connect(user, bind="127.0.0.5", **kwargs):
    return pymysql.connect(host="127.0.0.1", port=hg.port, user=user, password=f"{user}-secret",
                           bind_address=bind, connect_timeout=30, read_timeout=60, **kwargs)


class ChangeUser(unittest.TestCase):
    def test_require_ssl_holds_for_a_change_on_a_plaintext_session(self):
        for name, program in CLIENTS.items():
            with self.subTest(name):
                code, out = client(program, "change-user", "alice", "alice-secret",
                                   "query", "SELECT CURRENT_USER()")
                self.assertEqual(code, 1, out)
                self.assertTrue(out[-1].startswith("ERROR 1045 (28000): Access denied for user 'alice'"),
                                out)
                code, out = client(program, "change-user", "alice", "alice-secret",
                                   "query", "SELECT CURRENT_USER()", ssl_on=True)
                self.assertEqual((code, out[-1]), (0, "alice@%"))

    def test_backend_holds_for_a_change(self):
        for name, program in CLIENTS.items():
            with self.subTest(name):
                code, out = client(program, "change-user", "bob", "bob-secret",
                                   "query", "SELECT CURRENT_USER()")
                self.assertEqual(code, 1, out)
                self.assertEqual(out[-1], "ERROR 1105 (HY000): COM_CHANGE_USER refused: this "
                                          "account is served by another backend group; connect "
                                          "as this user instead")
        hg.wait_for_log("'bob'@'127.0.0.%' is served by backend group 'replicas', not 'default'")

    def test_max_user_connections_holds_for_a_change(self):
        held = connect("ppcheck")
        try:
            for name, program in CLIENTS.items():
                with self.subTest(name):
                    code, out = client(program, "change-user", "ppcheck", "ppcheck-secret")
                    self.assertEqual(code, 1, out)
                    self.assertEqual(out[-1], "ERROR 1226 (42000): User 'ppcheck' has exceeded the "
                                              "'max_user_connections' resource (current value: 1)")
        finally:
            held.close()
        # The place is free again: a change takes it, and gives back app's (app has no limit, so
        # only ppcheck's count shows).
        code, out = client(CLIENTS["mysqljs"], "change-user", "ppcheck", "ppcheck-secret",
                           "query", "SELECT CURRENT_USER()")
        self.assertEqual((code, out[-1]), (0, "ppcheck@%"))
        # A login of ppcheck now works: the changed session has ended and given its place back.
        conn = connect("ppcheck")
        conn.close()


    def test_a_change_larger_than_a_login_gets_1153(self):
        """A COM_CHANGE_USER over the 128 KiB a login may take is refused with an error, not
        dropped with the connection."""
        with raw_mysql.open_from("127.0.0.5", hg.port) as s:
            raw_mysql.login(s, "app", "app-secret")
            raw_mysql.write_packet(s, 0, b"\x11app\0\0\0" + b"\0" * (130 * 1024))
            seq, reply = raw_mysql.read_packet(s)
            err = raw_mysql.parse_err(reply)
            self.assertEqual((seq, err.code), (1, 1153))
        hg.wait_for_log(f"a COM_CHANGE_USER of {4 + 7 + 130 * 1024} bytes, over 131072: closed")


class AnsweredChange(unittest.TestCase):
    """hostgate's view of a session (its user, the process list, KILL ownership, revocation, the
    audit) changes only when the backend accepts a COM_CHANGE_USER, however the client pipelines
    its commands and whatever the rows it reads look like."""

    @classmethod
    def setUpClass(cls):
        cls.admin_port = free_port()
        password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
        cls.certs = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-certs-"))
        cert, key = self_signed_certificate(cls.certs, "hostgate")
        cls.hg = Hostgate(HOSTGATE, "'app'@'127.0.0.%'\n'mallory'@'127.0.0.%'\n",
                          backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                          tls={"cert": str(cert), "key": str(key)},
                          grants_options={"revoke_existing": True}, unfollowed_responses=True,
                          extra_config=f'[admin]\nlisten = "127.0.0.1:{cls.admin_port}"\nuser = "ops"\n'
                                       f'password_hash = "{password_hash}"\n'
                                       '[audit]\nfile = "audit.log"\n').start()

    @classmethod
    def tearDownClass(cls):
        cls.hg.stop()
        shutil.rmtree(cls.certs, ignore_errors=True)

    def mallory(self):
        s = raw_mysql.open_from("127.0.0.5", self.hg.port)
        self.addCleanup(s.close)
        return s, raw_mysql.login(s, "mallory", "mallory-secret")

    def answer_change(self, s, password, seq, switch):
        """Answers the backend's switch after a COM_CHANGE_USER; returns the final reply."""
        self.assertEqual(switch[:1], b"\xfe")
        name_end = switch.index(b"\0", 1)
        scramble = switch[name_end + 1:name_end + 21]
        raw_mysql.write_packet(s, seq + 1, raw_mysql.native_password(password, scramble))
        return raw_mysql.read_packet(s)[1]

    def process_user(self, session_id):
        admin = pymysql.connect(host="127.0.0.1", port=self.admin_port, user="ops",
                                password="ops-secret", connect_timeout=30)
        try:
            with admin.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute("SHOW PROCESSLIST")
                return [r["User"] for r in cur.fetchall() if r["Id"] == session_id]
        finally:
            admin.close()

    def test_a_change_the_backend_refuses_leaves_the_session_as_it_was(self):
        s, mallory_id = self.mallory()
        victim = pymysql.connect(host="127.0.0.1", port=self.hg.port, user="app", password="app-secret",
                                 bind_address="127.0.0.6", connect_timeout=30, read_timeout=60)
        self.addCleanup(victim.close)
        seq, switch = raw_mysql.change_user(s, "app")
        err = raw_mysql.parse_err(self.answer_change(s, "wrong", seq, switch))
        self.assertEqual(err.code, 1045)
        self.assertEqual(raw_mysql.query_one(s, "SELECT CURRENT_USER()"), "mallory@%")
        self.assertEqual(self.process_user(mallory_id), ["mallory"])
        event = self.hg.wait_for_audit(lambda e: e["event"] == "change_user" and e["session"] == mallory_id,
                           "the change_user event")[0]
        self.assertEqual((event["user"], event["reason"]),
                         ("app", "refused by the backend; still user 'mallory'"))
        # KILL of app's session is checked as mallory's.
        raw_mysql.write_packet(s, 0, f"\x03KILL {victim.thread_id()}".encode())
        err = raw_mysql.parse_err(raw_mysql.read_packet(s)[1])
        self.assertEqual((err.code, err.message), (1095, f"You are not owner of thread {victim.thread_id()}"))
        # Revoking mallory's rule closes her session, and not app's.
        grants = self.hg.dir / "grants.conf"
        before = self.hg.log().count("reload")
        grants.write_text("'app'@'127.0.0.%'\n")
        try:
            self.hg.process.send_signal(signal.SIGHUP)
            wait_until(lambda: self.hg.log().count("reload") > before, 30, "the reload")
            self.assertIn("1 sessions revoked", [l for l in self.hg.log().splitlines() if "reload" in l][-1])
            with self.assertRaises((raw_mysql.MySQLError, ConnectionError, OSError, IndexError)):
                raw_mysql.query_one(s, "SELECT 1")
            with victim.cursor() as cur:
                cur.execute("SELECT CURRENT_USER()")
                self.assertEqual(cur.fetchone(), ("app@%",))
        finally:
            before = self.hg.log().count("reload")
            grants.write_text("'app'@'127.0.0.%'\n'mallory'@'127.0.0.%'\n")
            self.hg.process.send_signal(signal.SIGHUP)
            wait_until(lambda: self.hg.log().count("reload") > before, 30, "the reload")

    def test_a_change_the_backend_accepts_renames_the_session(self):
        s, mallory_id = self.mallory()
        seq, switch = raw_mysql.change_user(s, "app")
        self.assertEqual(self.answer_change(s, "app-secret", seq, switch)[:1], b"\x00")
        self.assertEqual(raw_mysql.query_one(s, "SELECT CURRENT_USER()"), "app@%")
        self.assertEqual(self.process_user(mallory_id), ["app"])
        event = self.hg.wait_for_audit(lambda e: e["event"] == "change_user" and e["session"] == mallory_id,
                           "the change_user event")[0]
        self.assertEqual(event["reason"], "allowed; from user 'mallory'")

    def test_rows_that_look_like_answers_fool_nobody(self):
        """Pipelined behind a result whose rows hold an OK packet's bytes (and one that starts
        with 0x00), a refused change still leaves the session mallory's."""
        s, mallory_id = self.mallory()
        fake_ok = "0x07000002000000020000000700000300000002000000"
        select = (f"\x03SELECT '' UNION ALL SELECT {fake_ok} UNION ALL "
                  f"SELECT REPEAT({fake_ok}, 3000)").encode()
        change = b"\x11app\0\0\0" + struct.pack("<H", 45) + b"mysql_native_password\0"
        s.sendall(len(select).to_bytes(3, "little") + b"\0" + select +
                  len(change).to_bytes(3, "little") + b"\0" + change)
        packets = []
        while True:
            seq, p = raw_mysql.read_packet(s)
            packets.append(p)
            if p[:1] == b"\xfe" and len(p) < 9 and len(packets) > 3:
                break  # the result's closing EOF
        self.assertEqual(len(packets), 1 + 1 + 1 + 3 + 1)  # count, definition, EOF, rows, EOF
        seq, switch = raw_mysql.read_packet(s)
        err = raw_mysql.parse_err(self.answer_change(s, "wrong", seq, switch))
        self.assertEqual(err.code, 1045)
        self.assertEqual(self.process_user(mallory_id), ["mallory"])
        self.assertEqual(raw_mysql.query_one(s, "SELECT CURRENT_USER()"), "mallory@%")

    def test_a_second_change_while_the_first_waits_is_refused(self):
        s, _ = self.mallory()
        change = b"\x11app\0\0\0" + struct.pack("<H", 45) + b"mysql_native_password\0"
        packet = len(change).to_bytes(3, "little") + b"\0" + change
        s.sendall(packet + packet)
        while True:
            _, p = raw_mysql.read_packet(s)
            if p[:1] == b"\xff":
                break
        err = raw_mysql.parse_err(p)
        self.assertEqual((err.code, err.message),
                         (1105, "COM_CHANGE_USER refused: another is still under way"))

    def test_a_change_after_a_command_that_cannot_be_followed_is_refused(self):
        s, _ = self.mallory()
        # COM_BINLOG_DUMP: mallory may not, but its answer is a stream hostgate does not follow.
        raw_mysql.write_packet(s, 0, b"\x12" + struct.pack("<IHI", 4, 0, 77) + b"mysql-bin.000001")
        self.assertEqual(raw_mysql.read_packet(s)[1][:1], b"\xff")
        _, reply = raw_mysql.change_user(s, "app")
        err = raw_mysql.parse_err(reply)
        self.assertEqual((err.code, err.message),
                         (1105, "COM_CHANGE_USER refused after a command hostgate cannot follow; "
                                "connect as this user instead"))
        self.hg.wait_for_log("no longer followed (command 18, whose response is not followed)")

    def test_every_kind_of_response_is_followed(self):
        """Through every response shape a client library makes (several results, a procedure's,
        prepared statements, a cursor and its fetches, COM_FIELD_LIST, COM_STATISTICS, a reset,
        rows of 100 KB), a change of user is then judged by the backend's own answer. A response
        the relay lost track of would fail the test when hostgate stops."""
        db.execute("CREATE PROCEDURE IF NOT EXISTS shop.two_results() "
                   "BEGIN SELECT 1 AS a; SELECT 'x' AS b, 2 AS c; END")
        steps = ["query", "SELECT 1; SELECT 2, 'two'; DO 3",
                 "query", "CALL shop.two_results()",
                 "prepared", "SELECT ?, CONCAT(?, '!')", "a", "b",
                 "cursor", "SELECT seq FROM shop.seq_1_to_5",
                 "fields", "loaded", "stat", "ping", "reset",
                 "query", "SELECT LENGTH(REPEAT('x', 100000)), REPEAT('y', 100000) = REPEAT('y', 100000)",
                 "change-user", "app", "app-secret", "query", "SELECT CURRENT_USER()"]
        r = subprocess.run([SQLCLIENT, "--port", str(self.hg.port), "--bind", "127.0.0.5", "--user", "mallory",
                            "--password", "mallory-secret", "--database", "shop", *steps],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout)
        out = r.stdout.splitlines()
        session = int(out[0].split()[1])
        self.assertEqual(out[1:], ["1", "2\ttwo", "OK 0", "1", "x\t2", "OK 0", "a\tb!",
                                   "1", "2", "3", "4", "5", "FIELD id", "FIELD v", "STAT", "PONG",
                                   "RESET", "100000\t1", "CHANGED app", "app@%"])
        event = self.hg.wait_for_audit(lambda e: e["event"] == "change_user" and e["session"] == session,
                           "the change_user event")[0]
        self.assertEqual(event["reason"], "allowed; from user 'mallory'")
        for name, program in CLIENTS.items():
            with self.subTest(name):
                r = subprocess.run([*program, "--port", str(self.hg.port), "--bind", "127.0.0.5",
                                    "--user", "mallory", "--password", "mallory-secret",
                                    "query", "SELECT seq, REPEAT('z', 70000) FROM shop.seq_1_to_3",
                                    "change-user", "app", "app-secret", "query", "SELECT CURRENT_USER()"],
                                   capture_output=True, text=True, timeout=120, env=CLIENT_ENV)
                self.assertEqual((r.returncode, r.stdout.splitlines()[-1]), (0, "app@%"), r.stdout)

    def test_strict_clients_see_the_backends_refusal_plain_and_tls(self):
        for name, program in CLIENTS.items():
            for tls in (False, True):
                with self.subTest(name, tls=tls):
                    r = subprocess.run([*program, "--port", str(self.hg.port), "--bind", "127.0.0.5",
                                        "--user", "mallory", "--password", "mallory-secret",
                                        *(["--ssl"] if tls else []), "change-user", "app", "wrong"],
                                       capture_output=True, text=True, timeout=120, env=CLIENT_ENV)
                    self.assertEqual(r.returncode, 1, r.stdout)
                    self.assertTrue(r.stdout.splitlines()[-1].startswith(
                        "ERROR 1045 (28000): Access denied for user 'app'@"), r.stdout)
                    session = int(r.stdout.splitlines()[0].split()[1])  # CONNECTED <id>
                    event = self.hg.wait_for_audit(lambda e: e["event"] == "change_user" and e["session"] == session,
                                       "the refused change's event")[0]
                    self.assertEqual(event["reason"], "refused by the backend; still user 'mallory'")
                    r = subprocess.run([*program, "--port", str(self.hg.port), "--bind", "127.0.0.5",
                                        "--user", "mallory", "--password", "mallory-secret",
                                        *(["--ssl"] if tls else []), "change-user", "app", "app-secret",
                                        "query", "SELECT CURRENT_USER()"],
                                       capture_output=True, text=True, timeout=120, env=CLIENT_ENV)
                    self.assertEqual((r.returncode, r.stdout.splitlines()[-1]), (0, "app@%"), r.stdout)


class LocalInfile(unittest.TestCase):
    """LOAD DATA LOCAL INFILE data is data: its packets' sequence ids wrap to 0, and bytes there
    that look like a command are loaded as they are."""

    def load(self, at_wrap: bytes):
        """Logs in as mallory, loads 300 packets of rows with `at_wrap` as the packet whose
        sequence id is 0, and returns (the bytes sent, the rows the table got, CURRENT_USER())."""
        with raw_mysql.open_from("127.0.0.5", hg.port) as s:
            raw_mysql.login(s, "mallory", "mallory-secret", database="shop",
                            extra_caps=raw_mysql.CLIENT_LOCAL_FILES)
            raw_mysql.query_one(s, "SELECT 1")
            raw_mysql.write_packet(s, 0, b"\x03DELETE FROM loaded")
            raw_mysql.read_packet(s)
            raw_mysql.write_packet(s, 0, b"\x03LOAD DATA LOCAL INFILE 'rows' INTO TABLE loaded "
                                         b"FIELDS ESCAPED BY '' (v)")
            seq, request = raw_mysql.read_packet(s)
            self.assertEqual((seq, request[:1]), (1, b"\xfb"))
            sent = b""
            for i in range(300):
                seq = (2 + i) % 256
                payload = at_wrap if seq == 0 else f"row {i}\n".encode()
                raw_mysql.write_packet(s, seq, payload)
                sent += payload
            raw_mysql.write_packet(s, (2 + 300) % 256, b"")  # the end of the file
            _, reply = raw_mysql.read_packet(s)
            if reply[:1] == b"\xff":
                raise raw_mysql.parse_err(reply)
            user = raw_mysql.query_one(s, "SELECT CURRENT_USER()")
        rows = db.execute("SELECT v FROM shop.loaded ORDER BY id")
        return sent, [r[0] for r in rows], user

    def test_command_bytes_in_the_file_are_loaded_as_they_are(self):
        change_user = (b"\x11app\0\0shop\0" + (33).to_bytes(2, "little") +
                       b"mysql_native_password\0")
        for case, at_wrap in (("a COM_CHANGE_USER", change_user), ("a lone 0x11", b"\x11")):
            with self.subTest(case):
                sent, rows, user = self.load(at_wrap)
                self.assertEqual(b"\n".join(rows) + b"\n", sent)
                self.assertEqual(user, "mallory@%")
        # hostgate never took the file's bytes for a change of user.
        self.assertNotIn("COM_CHANGE_USER from 'mallory'", hg.log())


class OneWriter(unittest.TestCase):
    def test_a_kill_refusal_waits_behind_the_result_being_sent(self):
        """A 30 MB result streams while a pipelined KILL of another user's session is refused:
        the refusal comes after the result, whole, never inside it."""
        victim = raw_mysql.open_from("127.0.0.5", hg.port)
        s = raw_mysql.open_from("127.0.0.5", hg.port)
        with victim, s:
            victim_id = raw_mysql.login(victim, "app", "app-secret")
            raw_mysql.login(s, "mallory", "mallory-secret")
            select = b"\x03SELECT REPEAT('x', 1000) FROM shop.seq_1_to_30000"
            kill = f"\x03KILL {victim_id}".encode()
            s.sendall(len(select).to_bytes(3, "little") + b"\0" + select +
                      len(kill).to_bytes(3, "little") + b"\0" + kill)
            _, first = raw_mysql.read_packet(s)
            self.assertEqual(first, b"\x01")  # one column
            raw_mysql.read_packet(s)  # its definition
            self.assertEqual(raw_mysql.read_packet(s)[1][:1], b"\xfe")  # EOF
            rows = 0
            while True:
                _, p = raw_mysql.read_packet(s)
                if p[:1] == b"\xfe" and len(p) < 9:
                    break
                self.assertEqual(p, b"\xfc\xe8\x03" + b"x" * 1000)
                rows += 1
            self.assertEqual(rows, 30000)
            seq, reply = raw_mysql.read_packet(s)
            err = raw_mysql.parse_err(reply)
            self.assertEqual((seq, err.code, err.message),
                             (1, 1095, f"You are not owner of thread {victim_id}"))
            self.assertEqual(raw_mysql.query_one(victim, "SELECT 7"), "7")  # the victim lives


class Addresses(unittest.TestCase):
    def raw_through_trusted_proxy(self, source, source_port=40000):
        s = raw_mysql.open_from(TRUSTED, hg.port)
        s.sendall(proxy_header.v2(source, source_port, "::1" if ":" in source else "127.0.0.1", hg.port))
        return s

    def test_ipv4_compatible_source_is_ipv4(self):
        # ::127.0.0.7 is 127.0.0.7 to MySQL: alice's REQUIRE SSL rule applies, not 'alice'@'%'.
        with self.raw_through_trusted_proxy("::127.0.0.7") as s:
            with self.assertRaises(raw_mysql.MySQLError) as e:
                raw_mysql.login(s, "alice", "alice-secret")
            self.assertEqual(e.exception.code, 1045)
            self.assertEqual(e.exception.message,
                             "Access denied for user 'alice'@'127.0.0.7' (using password: YES)")
        # And the backend is told 127.0.0.7.
        with self.raw_through_trusted_proxy("::127.0.0.7", 40123) as s:
            raw_mysql.login(s, "app", "app-secret")
            self.assertEqual(raw_mysql.query_one(s, "SELECT USER()"), "app@127.0.0.7")

    def test_plaintext_login_injected_across_the_tls_start(self):
        """One write: a PROXY header, an SSLRequest and a plaintext login for alice, who needs TLS.
        The login must not count as if it had come inside TLS."""
        caps = (raw_mysql.CLIENT_LONG_PASSWORD | raw_mysql.CLIENT_PROTOCOL_41 |
                raw_mysql.CLIENT_SECURE_CONNECTION | raw_mysql.CLIENT_PLUGIN_AUTH | (1 << 11))
        ssl_request = struct.pack("<IIB", caps, 1 << 24, 45) + bytes(23)
        login = struct.pack("<IIB", caps, 1 << 24, 45) + bytes(23) + b"alice\0\0mysql_native_password\0"
        before = hg.log().count("allowed by 'alice'")
        s = raw_mysql.open_from(TRUSTED, hg.port)
        try:
            s.sendall(proxy_header.v2("127.0.0.7", 40001, "127.0.0.1", hg.port) +
                      len(ssl_request).to_bytes(3, "little") + b"\x01" + ssl_request +
                      len(login).to_bytes(3, "little") + b"\x02" + login)
            raw_mysql.read_packet(s)  # the greeting
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with self.assertRaises((ssl.SSLError, ConnectionError, OSError)):
                tls = context.wrap_socket(s, server_hostname="hostgate")
                _, reply = raw_mysql.read_packet(tls)  # an OK would mean the injection worked
                raise AssertionError(f"the injected login got an answer: {reply[:1].hex()}")
        finally:
            s.close()
        self.assertEqual(hg.log().count("allowed by 'alice'"), before)


class LateHeaders(unittest.TestCase):
    def test_optional_mode_counts_the_client_not_the_proxy(self):
        """Behind one proxy in optional mode, with headers sent after the greeting: the rate limit
        and the connect event go by each client's address."""
        optional = Hostgate(HOSTGATE, "'late'@'127.0.0.%'\n",
                            backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                            server={"trusted_proxies": [TRUSTED], "proxy_protocol": "optional",
                                    "max_connect_rate_per_ip": 2},
                            extra_config='[audit]\nfile = "audit.log"\n').start()

        def late(client_address):
            s = raw_mysql.open_from(TRUSTED, optional.port)
            raw_mysql.read_packet(s)  # the greeting: nothing was waiting
            s.sendall(proxy_header.v2(client_address, 41000, "127.0.0.1", optional.port))
            return s

        def log_in(s):
            # The login after a late header: the raw client's own greeting read is already done.
            caps = (raw_mysql.CLIENT_LONG_PASSWORD | raw_mysql.CLIENT_PROTOCOL_41 |
                    raw_mysql.CLIENT_SECURE_CONNECTION | raw_mysql.CLIENT_PLUGIN_AUTH)
            payload = struct.pack("<IIB", caps, 1 << 24, 45) + bytes(23) + b"late\0\0mysql_native_password\0"
            raw_mysql.write_packet(s, 1, payload)
            while True:
                seq, reply = raw_mysql.read_packet(s)
                if reply[:1] in (b"\x00", b"\xff"):
                    return reply
                raw_mysql.write_packet(s, seq + 1, b"")  # no password: an empty switch answer

        try:
            db.execute("CREATE USER IF NOT EXISTS 'late'@'%'")  # no password
            replies = []
            for i in range(4):
                with late(f"127.0.0.{11 + i}") as s:
                    replies.append(log_in(s)[:1])
            self.assertEqual(replies, [b"\x00"] * 4)
            # The third from one client address within a second is over its limit.
            outcomes = []
            for _ in range(3):
                with late("127.0.0.20") as s:
                    outcomes.append(log_in(s))
            self.assertEqual([o[:1] for o in outcomes[:2]], [b"\x00", b"\x00"])
            err = raw_mysql.parse_err(outcomes[2])
            self.assertEqual((err.code, err.message), (1040, "Too many connections from '127.0.0.20'"))
            optional.wait_for_log("127.0.0.20:41000 via 127.0.0.2")
            events = [json.loads(line) for line in
                      (optional.dir / "audit.log").read_text().splitlines()]
            clients = sorted({e["client"] for e in events if e["event"] == "connect"})
            self.assertEqual(clients, [f"127.0.0.{n}:41000" for n in (11, 12, 13, 14, 20)])
        finally:
            optional.stop()


class BeforeAuthentication(unittest.TestCase):
    def test_unauthenticated_errors_name_no_backend(self):
        """A wrong password for a user whose backend group is down: the generic error only."""
        with self.assertRaises(pymysql.err.OperationalError) as e:
            pymysql.connect(host="127.0.0.1", port=hg.port, user="lost", password="wrong",
                            bind_address="127.0.0.5", connect_timeout=30)
        self.assertEqual(e.exception.args, (1105, "Can't connect to MySQL server"))
        code, out = client(CLIENTS["mysqljs"], "ping", user="lost")
        self.assertEqual((code, out[-1]), (1, "ERROR 1105 (08S01): Can't connect to MySQL server"))
        hg.wait_for_log("user 'lost': no backend of group 'dead' answers")


if __name__ == "__main__":
    unittest.main()
