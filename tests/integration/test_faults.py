"""Faults around hostgate: a backend killed mid-query or stalled (SIGSTOP), reloads under load, and
a restart. Each test starts its own two MariaDB servers: db1 and db2 form the default group, and
db2 is also the only backend of group "second" (as "db2-second"), where user 'other' goes.
deploy/test.sh --long makes the reload test run for a minute."""
import os
import signal
import threading
import time
import unittest

import pymysql

from support.servers import Hostgate, MariaDB, wait_until

HOSTGATE = os.environ["HOSTGATE"]
LONG = bool(os.environ.get("HOSTGATE_LONG_TESTS"))
GRANTS = """\
'app'@'127.0.0.0/8'
'other'@'127.0.0.0/8'   BACKEND second
'solo'@'127.0.0.0/8'    BACKEND first
"""


class Faults(unittest.TestCase):
    def setUp(self):
        self.dbs = [MariaDB().start(), MariaDB().start()]
        for db in self.dbs:
            db.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'",
                       "CREATE USER 'other'@'%' IDENTIFIED BY 'other-secret'",
                       "CREATE USER 'solo'@'%' IDENTIFIED BY 'solo-secret'")
        db1, db2 = self.dbs
        self.backends = [
            {"name": "db1", "address": f"127.0.0.1:{db1.port}"},
            {"name": "db2", "address": f"127.0.0.1:{db2.port}"},
            {"name": "db2-second", "address": f"127.0.0.1:{db2.port}", "group": "second"},
            {"name": "db1-first", "address": f"127.0.0.1:{db1.port}", "group": "first"},
        ]
        self.hg = self.start_hostgate()

    def tearDown(self):
        for db in self.dbs:
            if db.process and db.process.poll() is None:
                os.kill(db.process.pid, signal.SIGCONT)
        self.hg.stop()
        for db in self.dbs:
            db.stop()

    def start_hostgate(self, port=None):
        hg = Hostgate(HOSTGATE, GRANTS, backends=self.backends,
                      server={"connect_timeout_ms": 1000, "handshake_timeout_ms": 8000,
                              "shutdown_grace_ms": 1000})
        if port:
            hg.port = port
        return hg.start()

    def connect(self, user, port=None, **kwargs):
        return pymysql.connect(host="127.0.0.1", port=port or self.hg.port, user=user,
                               password=f"{user}-secret", bind_address="127.0.0.5",
                               connect_timeout=30, read_timeout=60, autocommit=True, **kwargs)

    @staticmethod
    def query(conn, sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def backend_sessions(self, db, user):
        return db.execute(
            f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{user}'")[0][0]

    def test_backend_killed_mid_query(self):
        db1, db2 = self.dbs
        victim = self.connect("app")
        bystander = self.connect("other")
        self.assertEqual(self.backend_sessions(db1, "app"), 1)
        result = {}

        def long_query():
            started = time.monotonic()
            try:
                self.query(victim, "SELECT SLEEP(60)")
                result["outcome"] = "finished"
            except pymysql.err.OperationalError as e:
                result["outcome"] = e.args[0]
            result["after"] = time.monotonic() - started

        worker = threading.Thread(target=long_query)
        worker.start()
        wait_until(lambda: db1.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                       "WHERE INFO LIKE 'SELECT SLEEP%'")[0][0] == 1, 30,
                   "the query to run on db1")
        os.kill(db1.process.pid, signal.SIGKILL)
        worker.join(60)
        self.assertEqual(result["outcome"], 2013)  # Lost connection to MySQL server during query
        self.assertLess(result["after"], 30)
        # The session on the other backend goes on; new sessions go to the group's next backend.
        self.assertEqual(self.query(bystander, "SELECT 1"), ((1,),))
        fresh = self.connect("app")
        self.assertEqual(self.query(fresh, "SELECT 1"), ((1,),))
        self.assertEqual(self.backend_sessions(db2, "app"), 1)
        self.assertIsNone(self.hg.process.poll())
        for c in (bystander, fresh):
            c.close()

    def test_stalled_backend_times_out_and_blocks_nobody(self):
        db1, db2 = self.dbs
        bystander = self.connect("other")
        os.kill(db1.process.pid, signal.SIGSTOP)
        try:
            outcome = {}

            def login(user):
                started = time.monotonic()
                try:
                    conn = self.connect(user)
                    outcome[user] = ("ok", self.query(conn, "SELECT 1"))
                    conn.close()
                except pymysql.err.OperationalError as e:
                    outcome[user] = ("error", e.args[0])
                outcome[user + " after"] = time.monotonic() - started

            logins = [threading.Thread(target=login, args=(u,)) for u in ("app", "solo")]
            for t in logins:
                t.start()
            # While both wait on the stalled backend, the other sessions are served at once.
            for _ in range(20):
                started = time.monotonic()
                self.assertEqual(self.query(bystander, "SELECT 1"), ((1,),))
                self.assertLess(time.monotonic() - started, 0.5)
            for t in logins:
                t.join(60)
            # 'app' fails over to db2 after connect_timeout_ms; 'solo' has only db1: ERR 1105.
            self.assertEqual(outcome["app"], ("ok", ((1,),)))
            self.assertGreaterEqual(outcome["app after"], 0.9)
            self.assertLess(outcome["app after"], 6)
            self.assertEqual(outcome["solo"], ("error", 1105))
            self.assertLess(outcome["solo after"], 6)
        finally:
            os.kill(db1.process.pid, signal.SIGCONT)
        bystander.close()

    def test_reload_every_second_under_load(self):
        sessions = [self.connect("app") for _ in range(200)]
        seconds = 60 if LONG else 8
        stop = threading.Event()
        counts = {"queries": 0, "errors": []}
        lock = threading.Lock()

        def drive(mine):
            while not stop.is_set():
                for conn in mine:
                    try:
                        self.query(conn, "SELECT 1")
                        with lock:
                            counts["queries"] += 1
                    except pymysql.MySQLError as e:
                        with lock:
                            counts["errors"].append(repr(e))
                        return

        workers = [threading.Thread(target=drive, args=(sessions[i::8],)) for i in range(8)]
        for w in workers:
            w.start()
        grants = self.hg.dir / "grants.conf"
        reloads_before = self.hg.log().count("reloaded")
        for i in range(seconds):
            time.sleep(1)
            grants.write_text(GRANTS + f"'nobody{i}'@'10.0.0.{i % 250}'\n")  # a real change each time
            os.kill(self.hg.process.pid, signal.SIGHUP)
        stop.set()
        for w in workers:
            w.join(60)
        self.assertEqual(counts["errors"], [])
        self.assertGreater(counts["queries"], 1000)
        for conn in sessions:  # every session is still there
            self.assertEqual(self.query(conn, "SELECT 1"), ((1,),))
            conn.close()
        wait_until(lambda: self.hg.log().count("reloaded") >= reloads_before + seconds, 30,
                   "every reload to be logged")
        print(f"{seconds} reloads under 200 sessions: {counts['queries']} queries, 0 failed")

    def test_restart_leaves_nothing_half_open(self):
        db1, _ = self.dbs
        port = self.hg.port
        sessions = [self.connect("app") for _ in range(20)]
        self.assertEqual(self.backend_sessions(db1, "app"), 20)
        self.hg.stop()  # SIGTERM: sessions get shutdown_grace_ms, then are closed
        wait_until(lambda: self.backend_sessions(db1, "app") == 0, 30,
                   "the backend to see every session closed")
        for conn in sessions:
            with self.assertRaises(pymysql.MySQLError):
                self.query(conn, "SELECT 1")
            conn.close()
        self.hg = self.start_hostgate(port)  # as a supervisor would: same config, same port
        again = self.connect("app")
        self.assertEqual(self.query(again, "SELECT 1"), ((1,),))
        self.assertEqual(self.backend_sessions(db1, "app"), 1)
        again.close()


if __name__ == "__main__":
    unittest.main()
