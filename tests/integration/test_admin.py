"""The admin port, read by real clients: PyMySQL, the mariadb CLI and libmysqlclient."""
import os
import socket
import subprocess
import unittest
from pathlib import Path

import pymysql

from support import proxy_header, raw_mysql
from support.servers import Hostgate, MariaDB, free_port, wait_until

HOSTGATE = os.environ["HOSTGATE"]
SQLCLIENT = os.environ["SQLCLIENT"]
ADMIN_PASSWORD = "admin-secret"
# meson.build's project() version, as `hostgate --version` prints it.
VERSION = subprocess.run([HOSTGATE, "--version"], capture_output=True, text=True, timeout=30,
                         check=True).stdout.split()[1]

db = None
hg = None
spare_port = None


def setUpModule():
    global db, hg, spare_port
    db = MariaDB().start()
    for host in ("127.0.0.5", "127.0.0.7"):
        db.execute(f"CREATE USER 'app'@'{host}' IDENTIFIED BY 'app-secret'")
    password_hash = db.execute(f"SELECT PASSWORD('{ADMIN_PASSWORD}')")[0][0]
    admin_port = free_port()
    spare_port = free_port()  # nothing listens on it: a backend that is down
    hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n'app'@'127.0.0.0/255.255.255.0'  MAX_USER_CONNECTIONS 5\n",
                  backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                            {"name": "spare", "address": f"127.0.0.1:{spare_port}", "group": "spare",
                             "tls": "required"}],
                  server={"trusted_proxies": ["127.0.0.2"]},
                  extra_config=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                               f'password_hash = "{password_hash}"\nquery_time_limit_ms = 20000\n').start()
    hg.admin_port = admin_port


def tearDownModule():
    hg.stop()
    db.stop()


def admin(**kwargs):
    return pymysql.connect(host="127.0.0.1", port=hg.admin_port, user="ops", password=ADMIN_PASSWORD,
                           connect_timeout=30, **kwargs)


def rows(sql):
    conn = admin(cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def client(bind="127.0.0.5"):
    return pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                           bind_address=bind, connect_timeout=30)


class Processlist(unittest.TestCase):
    def test_real_address_and_backend_id_join_the_backends_processlist(self):
        conn = client()
        try:
            port = conn._sock.getsockname()[1]
            with conn.cursor() as cur:
                cur.execute("SELECT CONNECTION_ID()")
                backend_thread = cur.fetchone()[0]
            mine = [r for r in rows("SHOW PROCESSLIST") if r["Host"] == f"127.0.0.5:{port}"]
            self.assertEqual(len(mine), 1)
            row = mine[0]
            self.assertEqual((row["User"], row["Via"], row["Backend"], row["TLS"], row["Command"]),
                             ("app", "", "db1", "No", "Sleep"))
            self.assertEqual(int(row["Backend_id"]), backend_thread)
            backend_host = db.execute(f"SELECT HOST FROM information_schema.processlist "
                                      f"WHERE ID = {row['Backend_id']}")[0][0]
            self.assertEqual(backend_host, f"127.0.0.5:{port}")
            self.assertGreater(int(row["Bytes_in"]), 0)
            self.assertEqual(list(row.keys()), ["Id", "User", "Host", "Via", "Endpoint", "Backend", "Backend_id", "db",
                                                "Command", "Time", "State", "TLS", "TLS_subject", "Bytes_in", "Bytes_out"])
            self.assertIsNone(row["TLS_subject"])
            self.assertIsNone(row["Endpoint"])
        finally:
            conn.close()

    def test_via_shows_the_trusted_proxy(self):
        with socket.create_connection(("127.0.0.1", hg.port), timeout=30, source_address=("127.0.0.2", 0)) as s:
            s.sendall(proxy_header.v2("127.0.0.7", 4444, "127.0.0.1", hg.port))
            raw_mysql.login(s, "app", "app-secret")
            via = f"127.0.0.2:{s.getsockname()[1]}"
            # The session is listed once its relay starts, just after the client has its OK.
            mine = wait_until(lambda: [r for r in rows("SHOW FULL PROCESSLIST") if r["Via"] == via], 30,
                              "the session in the process list")
            self.assertEqual([r["Host"] for r in mine], ["127.0.0.7:4444"])

    def test_mariadb_cli_and_libmysqlclient_read_the_result_sets(self):
        held = client()
        self.addCleanup(held.close)
        host = f"127.0.0.5:{held._sock.getsockname()[1]}"
        wait_until(lambda: [r for r in rows("SHOW PROCESSLIST") if r["Host"] == host], 30,
                   "the session in the process list")
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hg.admin_port}", "-uops",
                            f"-p{ADMIN_PASSWORD}", "--ssl=0", "--batch", "-e", "SHOW PROCESSLIST; SHOW BACKENDS"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [line.split("\t") for line in r.stdout.splitlines()]
        processlist_header = ["Id", "User", "Host", "Via", "Endpoint", "Backend", "Backend_id", "db", "Command",
                              "Time", "State", "TLS", "TLS_subject", "Bytes_in", "Bytes_out"]
        self.assertEqual(lines[0], processlist_header)
        mine = [line for line in lines if len(line) == 15 and line[2] == host]
        self.assertEqual(len(mine), 1)
        row = dict(zip(processlist_header, mine[0]))
        self.assertEqual({k: row[k] for k in ("User", "Via", "Endpoint", "Backend", "db", "Command", "State",
                                              "TLS", "TLS_subject")},
                         {"User": "app", "Via": "", "Endpoint": "NULL", "Backend": "db1", "db": "NULL",
                          "Command": "Sleep", "State": "", "TLS": "No", "TLS_subject": "NULL"})
        for number in ("Id", "Backend_id", "Time", "Bytes_in", "Bytes_out"):
            self.assertRegex(row[number], r"^\d+$")
        backends_at = lines.index(["Name", "Address", "Group", "Proxy_protocol", "TLS", "Up", "Down_reason",
                                   "Connect_errors", "Version"])
        self.assertEqual(lines[backends_at + 1][:8], ["db1", f"127.0.0.1:{db.port}", "default", "v2", "mirror",
                                                      "Yes", "NULL", "0"])
        self.assertEqual(lines[backends_at + 2][:8], ["spare", f"127.0.0.1:{spare_port}", "spare", "v2",
                                                      "required", "No", "connect: Connection refused", "1"])
        r = subprocess.run([SQLCLIENT, "--port", str(hg.admin_port), "--user", "ops", "--password", ADMIN_PASSWORD,
                            "query", "SHOW GRANTS"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        lines = [line.split("\t") for line in r.stdout.splitlines()]
        grants = str(hg.dir / "grants.conf")
        self.assertEqual(lines[1:3], [
            ["1", "'app'@'127.0.0.5'", "", "IPv4 address 127.0.0.5", f"{grants}:1"],
            ["2", "'app'@'127.0.0.0/255.255.255.0'", "MAX_USER_CONNECTIONS 5",
             "IPv4 network 127.0.0.0/24 (netmask form)", f"{grants}:2"]])


class Backends(unittest.TestCase):
    def test_every_cell_of_show_backends(self):
        """Read by PyMySQL, which converts each number column: a row one value short (as Down_reason
        once was) shifts every cell after it."""
        # As the backend greets: MariaDB puts "5.5.5-" before its version for old clients.
        version = "5.5.5-" + db.execute("SELECT VERSION()")[0][0]
        by_name = {r["Name"]: r for r in rows("SHOW BACKENDS")}
        self.assertEqual(list(by_name), ["db1", "spare"])
        self.assertEqual(by_name["db1"], {
            "Name": "db1", "Address": f"127.0.0.1:{db.port}", "Group": "default", "Proxy_protocol": "v2",
            "TLS": "mirror", "Up": "Yes", "Down_reason": None, "Connect_errors": 0, "Version": version})
        spare = by_name["spare"]
        self.assertEqual((spare["Group"], spare["TLS"], spare["Up"], spare["Connect_errors"], spare["Version"]),
                         ("spare", "required", "No", 1, None))
        self.assertEqual(spare["Down_reason"], "connect: Connection refused")


class Commands(unittest.TestCase):
    def test_kill_closes_a_session(self):
        conn = client()
        port = conn._sock.getsockname()[1]
        session_id = wait_until(lambda: [r for r in rows("SHOW PROCESSLIST") if r["Host"] == f"127.0.0.5:{port}"],
                                30, "the session in the process list")[0]["Id"]
        a = admin()
        with a.cursor() as cur:
            cur.execute(f"KILL {session_id}")
            with self.assertRaises(pymysql.err.OperationalError) as e:
                cur.execute("KILL 999999")
            self.assertEqual(e.exception.args, (1094, "Unknown thread id: 999999"))
        a.close()
        with self.assertRaises(pymysql.err.OperationalError):
            with conn.cursor() as cur:
                cur.execute("SELECT 1")

    def test_explain(self):
        lines = [r["Explain"] for r in rows("EXPLAIN 'app'@'127.0.0.9'")]
        self.assertEqual(lines[0], "allow: 'app'@'127.0.0.0/255.255.255.0' (line 2) applies to 'app'@127.0.0.9")
        lines = [r["Explain"] for r in rows("EXPLAIN 'app'@'10.0.0.1'")]
        self.assertTrue(lines[0].startswith("deny: ERROR 1130 (HY000)"), lines)

    def test_status(self):
        answer = rows("SHOW STATUS")
        self.assertEqual(answer[0], {"Variable_name": "version", "Value": VERSION})
        status = {r["Variable_name"]: r["Value"] for r in answer}
        self.assertEqual(status[f'hostgate_build_info{{version="{VERSION}"}}'], "1")
        self.assertIn('hostgate_connections_total{outcome="auth_ok"}', status)
        self.assertEqual(status['hostgate_backend_sessions{backend="spare"}'], "0")

        def sessions_on_db1():
            return {r["Variable_name"]: r["Value"] for r in rows("SHOW STATUS")}[
                'hostgate_backend_sessions{backend="db1"}']
        # Sessions of earlier tests end on hostgate's own time, and a new one is counted once
        # its relay starts, just after the client has its OK.
        wait_until(lambda: sessions_on_db1() == "0", 30, "no session on db1")
        held = client()
        try:
            wait_until(lambda: sessions_on_db1() == "1", 30, "one session on db1")
        finally:
            held.close()
        wait_until(lambda: sessions_on_db1() == "0", 30, "the session to end")
        self.assertIn("hostgate_active_sessions", status)

    def test_reload_grants(self):
        grants = hg.dir / "grants.conf"
        original = grants.read_text()
        self.addCleanup(lambda: (grants.write_text(original), rows("RELOAD GRANTS")))
        grants.write_text(original + "'app'@'10.0.0.300'\n")
        conn = admin()
        with conn.cursor() as cur:
            with self.assertRaises(pymysql.err.OperationalError) as e:
                cur.execute("RELOAD GRANTS")
            self.assertEqual(e.exception.args[0], 1105)
            self.assertIn("grants.conf:3:7: '10.0.0.300' is not a valid IP address", e.exception.args[1])
            grants.write_text(original + "'app'@'127.0.1.1'\n")
            cur.execute("RELOAD GRANTS")
        conn.close()
        self.assertEqual(len(rows("SHOW GRANTS")), 3)

    def test_show_tables(self):
        self.assertEqual(rows("SHOW TABLES"), [{"Tables_in_hostgate": t} for t in
                                               ("backends", "events", "grants", "processlist", "status")])


TABLES = "backends, events, grants, processlist, status"


def refused(sql):
    """The (errno, message) a strict client raises for `sql`."""
    conn = admin()
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql)
            except (pymysql.err.ProgrammingError, pymysql.err.OperationalError,
                    pymysql.err.InternalError) as e:
                return e.args
            raise AssertionError(f"{sql!r} was answered")
    finally:
        conn.close()


def admin_thread_state():
    """The state letter of hostgate's admin thread (R while it runs a query), from /proc."""
    for task in (Path("/proc") / str(hg.process.pid) / "task").iterdir():
        if (task / "comm").read_text().strip() == "hostgate-admin":
            return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
    raise AssertionError("no hostgate-admin thread")


class Sql(unittest.TestCase):
    """SQL on the admin port, read by PyMySQL, which converts each cell by its column's type."""

    def test_processlist_where_user(self):
        held = client()
        self.addCleanup(held.close)
        port = held._sock.getsockname()[1]
        host = f"127.0.0.5:{port}"
        shown = wait_until(lambda: [r for r in rows("SHOW PROCESSLIST") if r["Host"] == host], 30,
                           "the session in the process list")
        selected = rows(f"SELECT * FROM processlist WHERE user = 'app' AND Host = '{host}'")
        # The same row, cell by cell, with the same types; Time may have ticked.
        for row in shown + selected:
            row.pop("Time")
        self.assertEqual(selected, shown)
        self.assertIsInstance(selected[0]["Id"], int)

    def test_join_group_by_order_by_limit(self):
        held = [client(), client("127.0.0.7")]
        for c in held:
            self.addCleanup(c.close)
        query = ("SELECT b.Name, b.Up, COUNT(p.Id) AS sessions FROM backends b "
                 "LEFT JOIN processlist p ON p.Backend = b.Name AND p.Host LIKE '127.0.0._:%' "
                 "GROUP BY b.Name ORDER BY b.Name DESC LIMIT 5")
        # Both sessions are listed once their relays start; those of earlier tests may linger.
        answer = wait_until(lambda: (lambda a: a if a[1]["sessions"] >= 2 else None)(rows(query)), 30,
                            "both sessions in the process list", interval=0.2)
        self.assertEqual(answer[0], {"Name": "spare", "Up": "No", "sessions": 0})
        self.assertEqual(answer[1]["Name"], "db1")
        self.assertEqual(answer[1]["Up"], "Yes")
        self.assertGreaterEqual(answer[1]["sessions"], 2)

    def test_grants_like_and_order(self):
        self.assertEqual(rows("SELECT \"Order\", Account, Options FROM grants WHERE Account LIKE '%/%' "
                              "ORDER BY \"Order\" DESC LIMIT 1"),
                         [{"Order": 2, "Account": "'app'@'127.0.0.0/255.255.255.0'",
                           "Options": "MAX_USER_CONNECTIONS 5"}])

    def test_status_version(self):
        self.assertEqual(rows("SELECT Value FROM status WHERE Variable_name = 'version'"), [{"Value": VERSION}])

    def test_events_of_refused_logins(self):
        """The issue's own query: who was refused lately, and why. The audit file is off here."""
        for user in ("mallory", "eve\x07"):
            with self.assertRaises(pymysql.err.OperationalError):
                pymysql.connect(host="127.0.0.1", port=hg.port, user=user, password="x",
                                bind_address="127.0.0.5", connect_timeout=30)
        with self.assertRaises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=hg.port, user="app", password="app-secret",
                            bind_address="127.0.1.9", connect_timeout=30)
        answer = rows("SELECT client, user, reason FROM events WHERE event LIKE 'denied%' "
                      "ORDER BY time DESC LIMIT 3")
        for row in answer:
            self.assertRegex(row.pop("client"), r"^127\.0\.[01]\.[59]:\d+$")
        self.assertEqual(answer, [
            {"user": None, "reason": "refused before the greeting: no rule for this host"},
            {"user": "eve\\x07", "reason": "no rule for this user from this address"},
            {"user": "mallory", "reason": "no rule for this user from this address"}])
        # Every field of the audit, typed: numbers are numbers, time sorts as text.
        conn = admin()
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM events ORDER BY time DESC LIMIT 1")
            names = [d[0] for d in cur.description]
            row = cur.fetchone()
        conn.close()
        self.assertEqual(names, ["time", "event", "session", "client", "via", "endpoint", "user", "db", "rule",
                                 "backend", "backend_id", "tls", "tls_subject", "proxy_tls", "reason",
                                 "bytes_in", "bytes_out", "duration_s"])
        self.assertRegex(row[0], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
        self.assertEqual(row[1], "denied_host")
        self.assertIsInstance(row[2], int)
        counts = rows("SELECT event, COUNT(*) AS n FROM events WHERE event IN ('auth_ok', 'disconnect') "
                      "GROUP BY event ORDER BY event")
        self.assertEqual([r["event"] for r in counts], ["auth_ok", "disconnect"])
        self.assertTrue(all(isinstance(r["n"], int) and r["n"] > 0 for r in counts), counts)

    def test_writes_are_refused(self):
        for sql, what in (("DELETE FROM processlist", "DELETE"), ("DROP TABLE grants", "DROP TABLE"),
                          ("UPDATE backends SET Up = 'Yes'", "UPDATE"),
                          (f"ATTACH DATABASE '{hg.dir}/x.db' AS x", "ATTACH")):
            with self.subTest(sql=sql):
                self.assertEqual(refused(sql), (1290, f"The admin port is read-only: {what} is refused; "
                                                      f"SELECT reads {TABLES}"))
        self.assertFalse((hg.dir / "x.db").exists())

    def test_bad_sql_gets_1064_with_sqlites_message(self):
        self.assertEqual(refused("SELECT nope FROM processlist"), (1064, "no such column: nope"))
        self.assertEqual(refused("SELECT * FROM users"),
                         (1064, f"no such table: users; the admin tables are {TABLES}"))
        code, message = refused("SELEC 1")
        self.assertEqual(code, 1064)
        self.assertTrue(message.startswith('near "SELEC": syntax error; the admin port takes SELECT over '
                                           f"{TABLES} (SQLite's SQL), and SHOW PROCESSLIST"), message)

    def test_a_long_query_is_interrupted_and_holds_up_no_session(self):
        """The query runs on the admin port's thread: a client's session goes on meanwhile."""
        import threading
        result = {}

        def long_query():
            result["error"] = refused("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                                      "SELECT count(*) FROM c")
        t = threading.Thread(target=long_query)
        t.start()
        wait_until(lambda: admin_thread_state() == "R", 60, "the admin thread to run the query")
        conn = client()
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            self.assertEqual(cur.fetchone(), (1,))
        conn.close()
        self.assertTrue(t.is_alive(), "the query ended before a session could run: the limit is too short here")
        t.join(timeout=120)
        self.assertEqual(result["error"], (1317, "Query execution was interrupted: the admin port gives a "
                                                 "query 20000 ms"))

    def test_mariadb_cli_and_libmysqlclient_read_sql_answers(self):
        sql = "SELECT Name, Up, Connect_errors FROM backends ORDER BY Name"
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hg.admin_port}", "-uops",
                            f"-p{ADMIN_PASSWORD}", "--ssl=0", "--batch", "-e", sql],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([line.split("\t") for line in r.stdout.splitlines()],
                         [["Name", "Up", "Connect_errors"], ["db1", "Yes", "0"], ["spare", "No", "1"]])
        r = subprocess.run([SQLCLIENT, "--port", str(hg.admin_port), "--user", "ops", "--password", ADMIN_PASSWORD,
                            "query", sql], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        # The tool prints the session's id, then the rows.
        self.assertEqual([line.split("\t") for line in r.stdout.splitlines()],
                         [["CONNECTED 0"], ["db1", "Yes", "0"], ["spare", "No", "1"]])


def refusal_counts():
    """hostgate_refusals_total by reason, read through SQL on the status table."""
    answer = rows("SELECT Variable_name, Value FROM status WHERE Variable_name LIKE 'hostgate_refusals_total%'")
    return {r["Variable_name"].split('"')[1]: int(r["Value"]) for r in answer}


class Refusals(unittest.TestCase):
    """Each refusal is counted under its own reason, and under no other."""

    def assert_counted(self, reason, refuse):
        before = refusal_counts()
        refuse()
        after = refusal_counts()
        self.assertEqual({k: after[k] - before[k] for k in after if after[k] != before[k]}, {reason: 1})

    def expect_error(self, code, **kwargs):
        with self.assertRaises(pymysql.err.OperationalError) as e:
            pymysql.connect(host="127.0.0.1", port=hg.port, connect_timeout=30, **kwargs)
        self.assertEqual(e.exception.args[0], code)

    def test_each_reason(self):
        self.assert_counted("no_rule_for_host", lambda: self.expect_error(
            1130, user="app", password="app-secret", bind_address="127.0.1.9"))
        self.assert_counted("no_rule_for_user", lambda: self.expect_error(
            1045, user="nobody", password="x", bind_address="127.0.0.5"))
        self.assert_counted("user_name_too_long", lambda: self.expect_error(
            1045, user="u" * 81, password="x", bind_address="127.0.0.5"))

        def bad_login():
            with raw_mysql.open_from("127.0.0.5", hg.port) as s:
                raw_mysql.read_packet(s)
                raw_mysql.write_packet(s, 1, b"\x01\x02")
                seq, payload = raw_mysql.read_packet(s)
                self.assertEqual(raw_mysql.parse_err(payload).code, 1043)
        self.assert_counted("bad_handshake", bad_login)

        def untrusted_header():
            with raw_mysql.open_from("127.0.0.5", hg.port) as s:
                raw_mysql.read_packet(s)
                s.sendall(proxy_header.v1("10.0.0.1", 1, "127.0.0.1", 2))
                seq, payload = raw_mysql.read_packet(s)
                self.assertEqual(raw_mysql.parse_err(payload).code, 1130)
        self.assert_counted("proxy_header_untrusted", untrusted_header)

        def malformed_header():
            with raw_mysql.open_from("127.0.0.2", hg.port) as s:
                s.sendall(b"PROXY TCP4 10.0.0.300 10.0.0.1 1 2\r\n")
                # The greeting may come first: a trusted peer may send its header late.
                seq, payload = raw_mysql.read_packet(s)
                if payload[0] != 0xFF:
                    seq, payload = raw_mysql.read_packet(s)
                self.assertEqual(raw_mysql.parse_err(payload).code, 1105)
        self.assert_counted("proxy_header_malformed", malformed_header)

        held = []
        self.addCleanup(lambda: [c.close() for c in held])

        def one_more():
            """A session from 127.0.0.7, or None while an earlier test's still holds its place."""
            try:
                return client("127.0.0.7")
            except pymysql.err.OperationalError as e:
                if e.args[0] != 1226:
                    raise
                return None
        for _ in range(5):  # 'app'@'127.0.0.0/255.255.255.0' has MAX_USER_CONNECTIONS 5
            held.append(wait_until(one_more, 30, "a place under MAX_USER_CONNECTIONS"))
        self.assert_counted("max_user_connections", lambda: self.expect_error(
            1226, user="app", password="app-secret", bind_address="127.0.0.7"))
        self.assert_counted("backend_refused", lambda: self.expect_error(
            1045, user="app", password="wrong", bind_address="127.0.0.5"))


class Login(unittest.TestCase):
    def test_wrong_password_or_user(self):
        for user, password in (("ops", "nope"), ("root", ADMIN_PASSWORD), ("ops", "")):
            with self.subTest(user=user, password=password):
                with self.assertRaises(pymysql.err.OperationalError) as e:
                    pymysql.connect(host="127.0.0.1", port=hg.admin_port, user=user, password=password,
                                    connect_timeout=30)
                self.assertEqual(e.exception.args[0], 1045)
        wait_until(lambda: rows("SHOW PROCESSLIST") is not None, 10, "the admin port to answer")


class GrantsFromBackend(unittest.TestCase):
    def test_accounts_of_mysql_user_are_rules_and_follow_reloads(self):
        db.execute("CREATE USER IF NOT EXISTS 'monitor'@'127.0.0.1' IDENTIFIED BY 'monitor-secret'",
                   "GRANT SELECT ON mysql.* TO 'monitor'@'127.0.0.1'",
                   "CREATE USER IF NOT EXISTS 'dbonly'@'127.0.0.8' IDENTIFIED BY 'dbonly-secret'")
        admin_port = free_port()
        password_hash = db.execute(f"SELECT PASSWORD('{ADMIN_PASSWORD}')")[0][0]
        other = Hostgate(HOSTGATE, "'app'@'127.0.0.5'  MAX_USER_CONNECTIONS 3\n",
                         backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                         grants_options={"from_backend": True},
                         extra_config=f'[monitor]\nuser = "monitor"\npassword = "monitor-secret"\n'
                                      f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                                      f'password_hash = "{password_hash}"\n')
        other.start()
        self.addCleanup(other.stop)

        def grants():
            conn = pymysql.connect(host="127.0.0.1", port=admin_port, user="ops", password=ADMIN_PASSWORD,
                                   connect_timeout=30, cursorclass=pymysql.cursors.DictCursor)
            with conn.cursor() as cur:
                cur.execute("SHOW GRANTS")
                rows = {r["Account"]: r for r in cur.fetchall()}
            conn.close()
            return rows

        rows = grants()
        self.assertEqual(rows["'app'@'127.0.0.5'"]["Options"], "MAX_USER_CONNECTIONS 3")  # the file's rule wins
        self.assertTrue(rows["'app'@'127.0.0.5'"]["Source"].endswith("grants.conf:1"))
        self.assertEqual(rows["'dbonly'@'127.0.0.8'"]["Source"], "backend db1")
        conn = pymysql.connect(host="127.0.0.1", port=other.port, user="dbonly", password="dbonly-secret",
                               bind_address="127.0.0.8", connect_timeout=30)
        conn.close()

        db.execute("CREATE USER IF NOT EXISTS 'later'@'127.0.0.9' IDENTIFIED BY 'later-secret'")
        self.assertNotIn("'later'@'127.0.0.9'", rows)
        other.process.send_signal(__import__("signal").SIGHUP)
        other.wait_for_log("reloaded")
        self.assertEqual(grants()["'later'@'127.0.0.9'"]["Source"], "backend db1")
