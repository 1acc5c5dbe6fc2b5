"""The admin port, read by real clients: PyMySQL, the mariadb CLI and libmysqlclient."""
import os
import socket
import subprocess
import unittest

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


def setUpModule():
    global db, hg
    db = MariaDB().start()
    for host in ("127.0.0.5", "127.0.0.7"):
        db.execute(f"CREATE USER 'app'@'{host}' IDENTIFIED BY 'app-secret'")
    password_hash = db.execute(f"SELECT PASSWORD('{ADMIN_PASSWORD}')")[0][0]
    admin_port = free_port()
    hg = Hostgate(HOSTGATE, "'app'@'127.0.0.5'\n'app'@'127.0.0.0/255.255.255.0'  MAX_USER_CONNECTIONS 5\n",
                  backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"},
                            {"name": "spare", "address": f"127.0.0.1:{free_port()}", "group": "spare",
                             "tls": "required"}],
                  server={"trusted_proxies": ["127.0.0.2"]},
                  extra_config=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                               f'password_hash = "{password_hash}"\n').start()
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
        r = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hg.admin_port}", "-uops",
                            f"-p{ADMIN_PASSWORD}", "--ssl=0", "-e", "SHOW PROCESSLIST; SHOW BACKENDS"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Id\tUser\tHost\tVia\tEndpoint\tBackend", r.stdout)
        self.assertIn("db1\t127.0.0.1:", r.stdout)
        r = subprocess.run([SQLCLIENT, "--port", str(hg.admin_port), "--user", "ops", "--password", ADMIN_PASSWORD,
                            "query", "SHOW GRANTS"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[1].startswith("1\t'app'@'127.0.0.5'\t\tIPv4 address 127.0.0.5\t"), lines)
        self.assertTrue(lines[2].startswith("2\t'app'@'127.0.0.0/255.255.255.0'\tMAX_USER_CONNECTIONS 5\t"), lines)


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

    def test_unknown_command(self):
        conn = admin()
        with conn.cursor() as cur:
            with self.assertRaises(pymysql.err.ProgrammingError) as e:
                cur.execute("DROP TABLE x")
        conn.close()
        self.assertEqual(e.exception.args[0], 1064)
        self.assertIn("try SHOW PROCESSLIST", e.exception.args[1])


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
