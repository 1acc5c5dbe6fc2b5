"""`hostgate explain` against MariaDB's own account matching.

The same accounts are created in a real MariaDB 10.11 and written to a grants file. For each
(user, client address) MariaDB is asked for real: a PROXY v2 header claims the address (MariaDB
trusts loopback through proxy_protocol_networks), then PyMySQL logs in. Allow / 1045 / 1130 must
agree, and so must the account that applies (CURRENT_USER()) wherever MySQL's and MariaDB's
orders agree (MariaDB 10.4+ prefers a named user over an anonymous account at a more specific
host; the sets below avoid that case).

Only host forms MariaDB itself supports are compared: literal IPv4/IPv6, % and _ wildcards,
addr/netmask, '%' and ''. CIDR forms are hostgate's extension (MySQL 8.0.23+ syntax) and are
covered by the unit tables.
"""
import os
import re
import socket
import subprocess
import tempfile
import unittest

from support import proxy_header, raw_mysql
from support.servers import MariaDB

HOSTGATE = os.environ["HOSTGATE"]
PASSWORD = "pw-1"

# (accounts, [(user, client address)]): each set is loaded on its own.
SETS = {
    "no_any_host": (
        ["'lit'@'10.1.2.3'", "'wild'@'10.1.%'", "'under'@'10.3.4._'",
         "'mask'@'10.2.0.0/255.255.0.0'", "'mask'@'10.2.3.0/255.255.255.0'",
         "'v6'@'2001:db8::1'", "'v6w'@'2001:db8::%'", "''@'10.9.9.9'",
         "'multi'@'10.5.%'", "'multi'@'10.5.6.7'", "'Case'@'10.6.0.1'", "'deep'@'10.7.%.1'"],
        [("lit", "10.1.2.3"), ("lit", "10.1.2.4"), ("lit", "::ffff:10.1.2.3"),
         ("wild", "10.1.200.1"), ("wild", "10.10.0.1"), ("wild", "10.1.2.3"),
         ("under", "10.3.4.5"), ("under", "10.3.4.55"),
         ("mask", "10.2.9.9"), ("mask", "10.2.3.9"), ("mask", "10.3.0.1"), ("mask", "10.2.0.0"),
         ("v6", "2001:db8::1"), ("v6", "2001:db8::2"), ("v6w", "2001:db8::abcd"),
         ("v6w", "2001:db9::1"), ("v6", "2001:db8:0:0:0:0:0:1"),
         ("anyone", "10.9.9.9"), ("lit", "10.9.9.9"), ("", "10.9.9.9"),
         ("multi", "10.5.6.7"), ("multi", "10.5.1.1"),
         ("case", "10.6.0.1"), ("Case", "10.6.0.1"),
         ("deep", "10.7.200.1"), ("deep", "10.7.200.2"),
         ("nobody", "192.0.2.1"), ("nobody", "10.1.2.3")],
    ),
    "any_host": (
        ["'any'@'%'", "'eh'@''", "'lit'@'10.1.2.3'", "'wild'@'10.1.%'"],
        [("any", "203.0.113.5"), ("any", "2001:db8::5"), ("eh", "203.0.113.5"),
         ("lit", "203.0.113.5"), ("lit", "10.1.2.3"), ("wild", "10.1.9.9"),
         ("nobody", "203.0.113.5"), ("any", "10.1.2.3")],
    ),
}


def mariadb_outcome(db: MariaDB, user: str, address: str) -> str:
    """'allow user@host' (CURRENT_USER) or 'deny NNNN'."""
    v6 = ":" in address
    with socket.create_connection(("127.0.0.1", db.port), timeout=30) as sock:
        sock.sendall(proxy_header.v2(address, 40000, "::1" if v6 else "127.0.0.1", db.port))
        try:
            raw_mysql.login(sock, user, PASSWORD)
        except raw_mysql.MySQLError as e:
            return f"deny {e.code}"
        return "allow " + raw_mysql.query_one(sock, "SELECT CURRENT_USER()")


def hostgate_outcome(grants_file: str, user: str, address: str) -> str:
    r = subprocess.run([HOSTGATE, "explain", "--grants", grants_file, user, address],
                       capture_output=True, text=True, timeout=30)
    first = r.stdout.splitlines()[0] if r.stdout else r.stderr
    if r.returncode == 0:
        m = re.match(r"allow: '((?:[^']|'')*)'@'((?:[^']|'')*)'", first)
        # MariaDB stores a '' host as '%'; hostgate keeps '' (MySQL orders it after '%').
        return f"allow {m.group(1)}@{m.group(2) or '%'}"
    if r.returncode == 1:
        return "deny " + re.match(r"deny: ERROR (\d+)", first).group(1)
    raise AssertionError(f"hostgate explain failed: {r.stderr}")


class GrantsAgreeWithMariaDB(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.db = MariaDB().start()

    @classmethod
    def tearDownClass(cls):
        cls.db.stop()

    def load(self, accounts):
        existing = self.db.execute("SELECT User, Host FROM mysql.user WHERE User NOT IN "
                                   "('root', 'mariadb.sys')")
        drops = [f"DROP USER '{u}'@'{h}'" for u, h in existing]
        creates = [f"CREATE USER {a} IDENTIFIED BY '{PASSWORD}'" for a in accounts]
        self.db.execute(*drops, *creates, "FLUSH PRIVILEGES")
        f = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
        f.write("\n".join(accounts) + "\n")
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def check_set(self, name):
        accounts, clients = SETS[name]
        grants = self.load(accounts)
        for user, address in clients:
            with self.subTest(user=user, address=address):
                self.assertEqual(hostgate_outcome(grants, user, address),
                                 mariadb_outcome(self.db, user, address))

    def test_without_any_host_accounts(self):
        self.check_set("no_any_host")

    def test_with_any_host_accounts(self):
        self.check_set("any_host")
