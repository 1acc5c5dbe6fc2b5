"""Hostile names: user and database names a client chooses (newlines, CR, ESC sequences, invalid
and overlong UTF-8, invisible and bidirectional characters, quotes, 64 KiB) sent by a raw client
to hostgate in front of a real MariaDB, at the login, in COM_CHANGE_USER and at the admin login.

Whatever the names, every line of hostgate's log starts with its own timestamp and level and shows
each name as the literal the README describes; every audit line parses as strict UTF-8 JSON and
gives the exact bytes back (from the text, or from its _hex field); the admin port's processlist is
readable by strict clients (PyMySQL, the mariadb CLI, Node's mysqljs and mysql2) and shows each name in display
form; metrics labels hold nothing a client chose."""
import json
import os
import pathlib
import re
import subprocess
import unittest

import pymysql

from support import raw_mysql
from support.servers import Hostgate, MariaDB, free_port, wait_until
from support.untrusted_text import display, log_literal

HOSTGATE = os.environ["HOSTGATE"]
ADMIN_PASSWORD = "admin-secret"
REFUSED_FROM = "127.0.0.5"  # only 'app' may log in from here
ALLOWED_FROM = "127.0.0.6"  # an anonymous rule: any name reaches the backend

FORGED = (b"bob\n2026-12-02T00:00:00.000000Z info session 99 10.0.0.1:1 user 'admin': "
          b"allowed by 'admin'@'%' (line 1)")

# name -> the bytes a client sends. None of them holds a NUL: the protocol ends names with one.
NAMES = {
    "forged_log_line": FORGED,
    "carriage_return": b"bob\rinfo session 1 user 'admin': allowed",
    "tab_and_del": b"a\tb\x7fc",
    "esc_clear_screen": b"\x1b[2J\x1b[1;1Hroot",
    "esc_window_title": b"\x1b]0;pwned\x07x",
    "c1_csi": "\u009b31mred".encode(),
    "invalid_utf8": b"\xff\xfeevil",
    "overlong_utf8": b"\xc0\xae\xc0\xaeadmin\xe0\x80\xaf",
    "surrogate_utf8": b"\xed\xa0\x80x",
    "bidi_override": "\u202enimda".encode(),
    "line_separator": "a\u2028b\u2029c".encode(),
    "zero_width": "adm\u200bin\ufeff".encode(),
    "quotes_backslashes": b"o'brien\\\" --",
    "json_breaker": b'x","event":"auth_ok","user":"admin',
    "printable_utf8": "Jos\u00e9_\u00d1and\u00fa_\U0001F600".encode(),
    "64_kib": b"n" * 65536,
}

LOG_LINE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (trace|debug|info|warning|error|critical) \S")

db = None
hg = None


def setUpModule():
    global db, hg
    db = MariaDB().start()
    db.execute("CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret'",
               "CREATE USER ''@'%'",  # anonymous, no password: takes whatever name MariaDB accepts
               "GRANT USAGE ON *.* TO ''@'%'")
    password_hash = db.execute(f"SELECT PASSWORD('{ADMIN_PASSWORD}')")[0][0]
    admin_port, metrics_port = free_port(), free_port()
    hg = Hostgate(HOSTGATE, f"'app'@'{REFUSED_FROM}'\n''@'{ALLOWED_FROM}'\n",
                  backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}"}],
                  extra_config=f'[audit]\nfile = "audit.log"\n'
                               f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                               f'password_hash = "{password_hash}"\n'
                               f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n').start()
    hg.admin_port, hg.metrics_port = admin_port, metrics_port


def tearDownModule():
    hg.stop()
    db.stop()


def connect(source, port=None):
    return raw_mysql.open_from(source, port or hg.port)


def log_bytes() -> bytes:
    return (hg.dir / "hostgate.log").read_bytes()


def audit_events():
    return hg.audit_events()


def exact(event, field):
    """The exact bytes of a text field of an audit event."""
    if field + "_hex" in event:
        return bytes.fromhex(event[field + "_hex"])
    return event[field].encode()


AUDIT_NAME_LIMIT = 1024
MAX_USER_NAME_LENGTH = 80  # characters, hostgate's default


def holds(event, field, name: bytes) -> bool:
    """Whether an audit event's field is `name`: all of it, or, past the audit's 1 KiB, its
    first bytes with the whole length beside them."""
    if len(name) <= AUDIT_NAME_LIMIT:
        return exact(event, field) == name and field + "_bytes" not in event
    return (event.get(field + "_bytes") == len(name) and name.startswith(exact(event, field))
            and len(exact(event, field)) > AUDIT_NAME_LIMIT - 4)


def too_long(name: bytes) -> bool:
    return len(name.decode("utf-8", errors="replace")) > MAX_USER_NAME_LENGTH


def denial(name: bytes) -> str:
    """The reason hostgate logs for refusing a login or COM_CHANGE_USER to `name` from an address
    with no rule for it."""
    if too_long(name):
        return (f"a user name of {len(name.decode('utf-8', errors='replace'))} characters, over "
                f"max_user_name_length ({MAX_USER_NAME_LENGTH})")
    return "no rule for this user from this address"


def admin_rows(sql):
    conn = pymysql.connect(host="127.0.0.1", port=hg.admin_port, user="ops",
                           password=ADMIN_PASSWORD, connect_timeout=30)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [list(r) for r in cur.fetchall()]
    finally:
        conn.close()


class HostileNames(unittest.TestCase):
    maxDiff = None

    def assert_log_sound(self):
        """Every line is hostgate's own: its timestamp and level first; and the file is UTF-8."""
        data = log_bytes()
        data.decode("utf-8", errors="strict")
        for line in data.split(b"\n")[:-1]:
            text = line.decode()
            self.assertRegex(text, LOG_LINE)
            self.assertFalse(any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text), text)

    def wait_for_log(self, text):
        wait_until(lambda: text.encode() in log_bytes(), 30, f"{text[:80]!r} in the log")

    def wait_for_events(self, predicate, count, what):
        return wait_until(lambda: (lambda es: es if len(es) >= count else None)(
            [e for e in audit_events() if predicate(e)]), 30, what)

    def test_refused_logins(self):
        """Refused by the grants (no rule for the name from this address): log and audit."""
        for case, name in NAMES.items():
            with self.subTest(case), connect(REFUSED_FROM) as s:
                with self.assertRaises(raw_mysql.MySQLError) as refused:
                    raw_mysql.login(s, name, "x")
                self.assertEqual(refused.exception.code, 1045)
        for case, name in NAMES.items():
            with self.subTest(case):
                self.wait_for_log(f"user {log_literal(name)}: {denial(name)}")
                events = self.wait_for_events(
                    lambda e: e["event"] == "denied_user" and holds(e, "user", name)
                    and e["client"].startswith(REFUSED_FROM + ":"), 1,
                    f"the denied_user event of {case}")
                self.assertEqual(events[0]["client"].split(":")[0], REFUSED_FROM)
                self.assertEqual("user_hex" in events[0], case in (
                    "invalid_utf8", "overlong_utf8", "surrogate_utf8"))
        self.assertIn(b"'" + b"n" * 256 + b"'[cut, 65536 bytes in all]", log_bytes())
        self.assertNotIn(b"n" * 257, log_bytes())
        self.assert_log_sound()

    def test_names_through_to_the_backend(self):
        """Allowed by hostgate's anonymous rule: the backend takes the name or refuses it with a
        message that quotes it. Either way the log stays sound; the sessions it takes are listed on
        the admin port in display form, cell by cell, for every strict client."""
        open_sessions, refused = {}, {}
        try:
            for case, name in NAMES.items():
                s = connect(ALLOWED_FROM)
                try:
                    open_sessions[case] = (raw_mysql.login(s, name, ""), s)
                except raw_mysql.MySQLError as e:
                    refused[case] = e.code
                    s.close()
            # MariaDB's anonymous account takes every one of them; hostgate refuses the name
            # longer than any server takes before the backend.
            self.assertEqual(refused, {c: 1045 for c, name in NAMES.items() if too_long(name)})
            expected = {open_sessions[c][0]: display(NAMES[c]) for c in open_sessions}
            wait_until(lambda: len(admin_rows("SHOW PROCESSLIST")) >= len(expected), 30,
                       "every session in the processlist")
            users = {int(r[0]): r[1] for r in admin_rows("SHOW PROCESSLIST")}
            self.assertEqual({i: users.get(i) for i in expected}, expected)
            # The same cells through the mariadb CLI (libmariadb) and Node's mysqljs.
            cli = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hg.admin_port}",
                                  "-uops", f"-p{ADMIN_PASSWORD}", "-B", "-N", "-r",
                                  "-e", "SHOW PROCESSLIST"],
                                 capture_output=True, timeout=60, check=True)
            cli_users = {int(line.split(b"\t")[0]): line.split(b"\t")[1].decode("utf-8", "strict")
                         for line in cli.stdout.splitlines()}
            self.assertEqual({i: cli_users.get(i) for i in expected}, expected)
            for driver in ("mysql", MYSQL2):
                node = subprocess.run(["node", "-e", NODE_PROCESSLIST, str(hg.admin_port),
                                       ADMIN_PASSWORD, driver], capture_output=True, timeout=60,
                                      env={**os.environ, "NODE_PATH": "/usr/share/nodejs"})
                self.assertEqual(node.returncode, 0, node.stderr)
                node_users = {int(k): v for k, v in json.loads(node.stdout).items()}
                self.assertEqual({i: node_users.get(i) for i in expected}, expected)
        finally:
            for _, s in open_sessions.values():
                s.close()
        self.wait_for_log("user " + log_literal(NAMES["64_kib"]) + ": " + denial(NAMES["64_kib"]))
        self.assert_log_sound()
        for case in open_sessions:
            self.wait_for_events(lambda e: e["event"] == "auth_ok" and holds(e, "user", NAMES[case]),
                                 1, f"the auth_ok event of {case}")

    def test_hostile_database_names(self):
        """A database name the backend refuses: its ERR quotes the name; the audit keeps the bytes."""
        for case, name in NAMES.items():
            with self.subTest(case), connect(REFUSED_FROM) as s:
                with self.assertRaises(raw_mysql.MySQLError):
                    raw_mysql.login(s, "app", "app-secret", database=name)
        for case, name in NAMES.items():
            with self.subTest(case):
                self.wait_for_events(lambda e: e["event"] == "auth_failed" and holds(e, "db", name),
                                     1, f"the auth_failed event of {case}")
        self.assert_log_sound()

    def test_change_user_to_hostile_names(self):
        for case, name in NAMES.items():
            with self.subTest(case), connect(REFUSED_FROM) as s:
                raw_mysql.login(s, "app", "app-secret")
                _, reply = raw_mysql.change_user(s, name)
                self.assertEqual(reply[0], 0xFF)
                self.assertEqual(raw_mysql.parse_err(reply).code, 1045)
        for case, name in NAMES.items():
            with self.subTest(case):
                self.wait_for_log(f"COM_CHANGE_USER from 'app' to {log_literal(name)} denied: "
                                  f"{denial(name)}")
                self.wait_for_events(
                    lambda e: e["event"] == "change_user" and holds(e, "user", name), 1,
                    f"the change_user event of {case}")
        self.assert_log_sound()

    def test_admin_login_names(self):
        # Each from an address of its own: failed admin logins lock an address out after ten.
        for i, (case, name) in enumerate(NAMES.items()):
            with self.subTest(case), connect(f"127.0.0.{40 + i}", hg.admin_port) as s:
                with self.assertRaises(raw_mysql.MySQLError) as refused:
                    raw_mysql.login(s, name, "guess")
                # Before its login the admin port takes packets of 8 KiB at most.
                self.assertEqual(refused.exception.code, 1153 if len(name) > 8192 else 1045)
        for i, (case, name) in enumerate(NAMES.items()):
            with self.subTest(case):
                if len(name) > 8192:
                    self.wait_for_log(f"admin 127.0.0.{40 + i}:")
                    self.wait_for_log("a login packet over 8192 bytes")
                else:
                    self.wait_for_log(f"login refused for user {log_literal(name)}")
        self.assert_log_sound()

    def test_metrics_labels_hold_no_client_bytes(self):
        with connect(REFUSED_FROM) as s:
            with self.assertRaises(raw_mysql.MySQLError):
                raw_mysql.login(s, FORGED, "x")
        out = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{hg.metrics_port}/metrics"],
                             capture_output=True, timeout=60, check=True).stdout.decode("ascii")
        labels = set()
        for line in out.splitlines():
            if line.startswith("#"):
                continue
            m = re.fullmatch(r'[a-z_]+(\{([a-z_]+)="([^"\\\n]*)"\})? [0-9.e+-]+', line)
            self.assertIsNotNone(m, line)
            if m.group(1):
                labels.add((m.group(2), m.group(3)))
        allowed_values = {"outcome": {"auth_ok", "auth_failed", "denied_host", "denied_user",
                                      "proxy_rejected", "too_many_connections", "change_user"},
                          "reason": {"proxy_header_missing", "proxy_header_malformed", "proxy_header_untrusted",
                                     "connect_rate", "max_handshakes", "max_connections", "bad_handshake",
                                     "no_rule_for_host", "no_rule_for_user", "user_name_too_long",
                                     "require_not_met", "max_user_connections", "no_backend", "backend_refused",
                                     "backend_error"},
                          "direction": {"client_to_backend", "backend_to_client"},
                          "backend": {"db1"}, "result": {"ok", "failed"},
                          "version": {subprocess.run([HOSTGATE, "--version"], capture_output=True, text=True,
                                                     timeout=30, check=True).stdout.split()[1]}}
        for key, value in labels:
            if key == "le":
                float(value.replace("+Inf", "inf"))
            else:
                self.assertIn(value, allowed_values[key], key)


# Node's mysqljs (Debian's node-mysql) or mysql2 (npm, tests/tools): SHOW PROCESSLIST on the admin
# port, {id: user} as JSON.
MYSQL2 = str(pathlib.Path(__file__).parent.parent / "tools" / "node_modules" / "mysql2")
NODE_PROCESSLIST = """
const mysql = require(process.argv[3]);
const c = mysql.createConnection({host: '127.0.0.1', port: +process.argv[1], user: 'ops',
                                  password: process.argv[2], charset: 'UTF8MB4_GENERAL_CI'});
c.query('SHOW PROCESSLIST', (err, rows) => {
  if (err) { console.error(err); process.exit(1); }
  const out = {};
  for (const r of rows) out[r.Id] = r.User;
  console.log(JSON.stringify(out));
  c.end();
});
"""


if __name__ == "__main__":
    unittest.main()
