"""Client certificates: [tls] ca and crl, and REQUIRE X509 / ISSUER / SUBJECT / CIPHER rules, with
certificates made by the test (one CA, a rogue CA, several subjects), read by PyMySQL and the
mariadb CLI against real MariaDB. The backend accounts require nothing: hostgate terminates the
client's TLS, so it enforces what the grants say itself."""
import os
import pathlib
import shutil
import ssl
import subprocess
import tempfile
import unittest

import pymysql

from support.servers import CertificateAuthority, Hostgate, MariaDB, free_port, self_signed_certificate

HOSTGATE = os.environ["HOSTGATE"]
APP_SUBJECT = "/C=NL/O=Example/CN=app"
CIPHER = "TLS_AES_256_GCM_SHA384"  # what OpenSSL 3 and TLS 1.3 pick between these peers

GRANTS = f"""\
'x509'@'127.0.0.5'    REQUIRE X509
'subject'@'127.0.0.5' REQUIRE SUBJECT '{APP_SUBJECT}' AND ISSUER '/CN=hostgate-test-ca'
'cipher'@'127.0.0.5'  REQUIRE CIPHER '{CIPHER}'
'other'@'127.0.0.5'   REQUIRE CIPHER 'TLS_AES_128_GCM_SHA256'
'plain'@'127.0.0.5'
'cli'@'127.0.0.1'     REQUIRE SUBJECT '{APP_SUBJECT}'
"""
USERS = ("x509", "subject", "cipher", "other", "plain")

db = hg = ca = rogue = None
workdir = None
certs = {}


def setUpModule():
    global db, hg, ca, rogue, workdir
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="hostgate-tls-identity-"))
    ca = CertificateAuthority(workdir, "hostgate-test-ca")
    rogue = CertificateAuthority(workdir, "rogue-ca")
    certs["app"] = ca.issue("app", APP_SUBJECT)
    certs["other"] = ca.issue("other", "/C=NL/O=Example/CN=someone-else")
    certs["revoked"] = ca.issue("revoked", APP_SUBJECT)
    certs["rogue"] = rogue.issue("rogue-app", APP_SUBJECT)
    crl = ca.crl_revoking(certs["revoked"][0])
    db = MariaDB().start()
    for user in USERS:
        db.execute(f"CREATE USER '{user}'@'127.0.0.5' IDENTIFIED BY 'secret'")
    db.execute("CREATE USER 'cli'@'127.0.0.1' IDENTIFIED BY 'secret'")  # the CLI cannot bind
    server_cert, server_key = self_signed_certificate(workdir, "hostgate")
    admin_port = free_port()
    password_hash = db.execute("SELECT PASSWORD('ops-secret')")[0][0]
    hg = Hostgate(HOSTGATE, GRANTS, backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}", "tls": "off"}],
                  tls={"cert": str(server_cert), "key": str(server_key), "ca": str(ca.cert), "crl": str(crl)},
                  extra_config=f'[admin]\nlisten = "127.0.0.1:{admin_port}"\nuser = "ops"\n'
                               f'password_hash = "{password_hash}"\n[audit]\nfile = "audit.log"\n').start()
    hg.admin_port = admin_port


def tearDownModule():
    if hg:
        hg.stop()
    if db:
        db.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def client_context(certificate=None):
    """A client's TLS context that takes any server certificate, with this client certificate
    (a key of `certs`) if one is named."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if certificate:
        context.load_cert_chain(*map(str, certs[certificate]))
    return context


def connect(user, certificate=None, tls=True):
    """PyMySQL from 127.0.0.5, over TLS (with a client certificate if named) or not."""
    options = {}
    if tls:
        options["ssl"] = client_context(certificate)
    return pymysql.connect(host="127.0.0.1", port=hg.port, user=user, password="secret",
                           bind_address="127.0.0.5", connect_timeout=30, **options)


def denied(user):
    return (1045, f"Access denied for user '{user}'@'127.0.0.5' (using password: YES)")


class Requirements(unittest.TestCase):
    def assert_denied(self, user, **kwargs):
        with self.assertRaises(pymysql.err.OperationalError) as e:
            connect(user, **kwargs)
        self.assertEqual(e.exception.args, denied(user))

    def test_x509_needs_a_verified_certificate(self):
        conn = connect("x509", certificate="other")
        conn.close()
        self.assert_denied("x509")             # TLS without a certificate
        self.assert_denied("x509", tls=False)  # plaintext
        hg.wait_for_log("'x509'@'127.0.0.5' requires X509; the client presented no verified certificate")

    def test_subject_and_issuer_are_compared_exactly(self):
        conn = connect("subject", certificate="app")
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            self.assertEqual(cur.fetchone(), ("subject@127.0.0.5",))
        conn.close()
        self.assert_denied("subject", certificate="other")
        hg.wait_for_log("requires ISSUER '/CN=hostgate-test-ca' AND SUBJECT '/C=NL/O=Example/CN=app'; "
                        "the certificate's subject is '/C=NL/O=Example/CN=someone-else'")
        self.assert_denied("subject")

    def test_cipher(self):
        connect("cipher").close()
        self.assert_denied("other")
        self.assert_denied("cipher", tls=False)

    def test_a_certificate_of_another_ca_or_revoked_fails_the_tls_handshake(self):
        for name in ("rogue", "revoked"):
            with self.subTest(name):
                with self.assertRaises(pymysql.err.OperationalError):
                    connect("plain", certificate=name)
        # A client without a certificate is served where its rule asks for none.
        connect("plain").close()
        connect("plain", tls=False).close()

    def test_the_process_list_and_the_audit_show_the_subject(self):
        conn = connect("subject", certificate="app")
        try:
            session = conn.thread_id()
            admin = pymysql.connect(host="127.0.0.1", port=hg.admin_port, user="ops", password="ops-secret",
                                    connect_timeout=30, cursorclass=pymysql.cursors.DictCursor)
            with admin.cursor() as cur:
                cur.execute("SHOW PROCESSLIST")
                rows = [r for r in cur.fetchall() if r["Id"] == session]
                cur.execute("SHOW GRANTS")
                grants = {r["Account"]: r["Options"] for r in cur.fetchall()}
            admin.close()
            self.assertEqual([(r["User"], r["TLS"], r["TLS_subject"]) for r in rows],
                             [("subject", "Yes", APP_SUBJECT)])
            self.assertEqual(grants["'subject'@'127.0.0.5'"],
                             f"REQUIRE ISSUER '/CN=hostgate-test-ca' AND SUBJECT '{APP_SUBJECT}'")
            event = hg.wait_for_audit(lambda e: e["event"] == "auth_ok" and e["session"] == session,
                                      "the auth_ok event")[0]
            self.assertEqual((event["user"], event["tls"], event["tls_subject"]), ("subject", True, APP_SUBJECT))
        finally:
            conn.close()

    def test_mysql2_with_and_without_its_certificate(self):
        cert, key = certs["app"]
        base = ["node", str(pathlib.Path(__file__).parent.parent / "tools" / "nodeclient.js"), "--driver",
                "mysql2", "--port", str(hg.port), "--bind", "127.0.0.5", "--user", "subject", "--password",
                "secret", "--ssl"]
        env = {**os.environ, "NODE_PATH": "/usr/share/nodejs"}
        r = subprocess.run(base + ["--ssl-cert", str(cert), "--ssl-key", str(key), "query", "SELECT CURRENT_USER()"],
                           capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1]), (0, "subject@127.0.0.5"), r.stdout + r.stderr)
        r = subprocess.run(base + ["ping"], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                         (1, f"ERROR 1045 (28000): {denied('subject')[1]}"), r.stdout)

    def test_the_mariadb_cli_with_and_without_its_certificate(self):
        cert, key = certs["app"]
        base = ["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{hg.port}", "-ucli", "-psecret", "--ssl",
                "--skip-ssl-verify-server-cert", "-N", "-e", "SELECT CURRENT_USER()"]
        r = subprocess.run(base + [f"--ssl-cert={cert}", f"--ssl-key={key}"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "cli@127.0.0.1"), r.stderr)
        r = subprocess.run(base, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.stderr.strip(),
                         "ERROR 1045 (28000): Access denied for user 'cli'@'127.0.0.1' (using password: YES)")

class ChainOfHostgates(unittest.TestCase):
    """A hostgate in front terminates the client's TLS and tells the one behind it in its v2
    header (proxy_protocol_tlvs); the one behind counts it with server.accept_proxy_tls."""

    @classmethod
    def setUpClass(cls):
        for user in ("chain", "chaincn"):
            db.execute(f"CREATE USER '{user}'@'127.0.0.5' IDENTIFIED BY 'secret'")
        behind_grants = (f"'chain'@'127.0.0.5'   REQUIRE SUBJECT '{APP_SUBJECT}' AND ISSUER '/CN=hostgate-test-ca'\n"
                         "'chaincn'@'127.0.0.5' REQUIRE SUBJECT '/CN=app'\n"
                         # The front's own connections (its start-up probe, health checks) come
                         # with a LOCAL header, from its address: a rule for it lets them greet.
                         "'monitor'@'127.0.0.1'\n")
        backend = [{"name": "db1", "address": f"127.0.0.1:{db.port}", "tls": "off"}]
        cls.behind = {
            counted: Hostgate(HOSTGATE, behind_grants, backends=backend,
                              server={"trusted_proxies": ["127.0.0.1"], "accept_proxy_tls": counted},
                              extra_config='[audit]\nfile = "audit.log"\n').start()
            for counted in (True, False)}
        server_cert, server_key = self_signed_certificate(workdir, "front")
        tls = {"cert": str(server_cert), "key": str(server_key), "ca": str(ca.cert)}
        front_grants = "'chain'@'127.0.0.5' REQUIRE X509\n'chaincn'@'127.0.0.5' REQUIRE X509\n"
        cls.fronts = {}
        for counted, hg_behind in cls.behind.items():
            for tlvs in (("ssl", "client_cert", "unique_id"), ("ssl", "cn")):
                cls.fronts[counted, tlvs] = Hostgate(
                    HOSTGATE, front_grants, tls=tls,
                    backends=[{"name": "behind", "address": f"127.0.0.1:{hg_behind.port}", "tls": "off",
                               "proxy_protocol_tlvs": list(tlvs)}]).start()

    @classmethod
    def tearDownClass(cls):
        for hg_front in cls.fronts.values():
            hg_front.stop()
        for hg_behind in cls.behind.values():
            hg_behind.stop()

    def through(self, front, user):
        context = client_context("app")
        return pymysql.connect(host="127.0.0.1", port=front.port, user=user, password="secret",
                               bind_address="127.0.0.5", connect_timeout=30, ssl=context)

    def test_the_certificate_reaches_the_hostgate_behind(self):
        front = self.fronts[True, ("ssl", "client_cert", "unique_id")]
        conn = self.through(front, "chain")
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            self.assertEqual(cur.fetchone(), ("chain@127.0.0.5",))
        conn.close()
        event = self.behind[True].wait_for_audit(lambda e: e["event"] == "auth_ok" and e["user"] == "chain",
                                                 "the login behind")[0]
        self.assertEqual(event["tls_subject"], APP_SUBJECT)
        self.assertTrue(event["proxy_tls"].endswith(f", certificate verified, subject {APP_SUBJECT}"),
                        event["proxy_tls"])
        # Without the certificate, the CN alone: a SUBJECT of exactly '/CN=app'.
        front = self.fronts[True, ("ssl", "cn")]
        self.through(front, "chaincn").close()
        with self.assertRaises(pymysql.err.OperationalError) as e:
            self.through(front, "chain")
        self.assertEqual(e.exception.args, self.denied_behind("chain"))

    @staticmethod
    def denied_behind(user):
        """The refusal of the hostgate behind, relayed by the one in front, whose login carries no
        password (it forces the authentication switch): 'using password: NO'."""
        return (1045, f"Access denied for user '{user}'@'127.0.0.5' (using password: NO)")

    def test_without_accept_proxy_tls_the_tlv_counts_for_nothing(self):
        front = self.fronts[False, ("ssl", "client_cert", "unique_id")]
        with self.assertRaises(pymysql.err.OperationalError) as e:
            self.through(front, "chain")
        self.assertEqual(e.exception.args, self.denied_behind("chain"))
        event = self.behind[False].wait_for_audit(
            lambda e: e["event"] == "denied_user" and e["user"] == "chain", "the refusal behind")[0]
        self.assertTrue(event["proxy_tls"].endswith("(not counted: server.accept_proxy_tls is off)"),
                        event["proxy_tls"])


class BehindHAProxyTerminatingTls(unittest.TestCase):
    """HAProxy terminates TLS from the first byte (a client behind stunnel, say, speaks MySQL
    inside it), with verify required, and tells hostgate with send-proxy-v2-ssl-cn: the CN
    alone, so a SUBJECT of exactly '/CN=<cn>' matches."""

    @classmethod
    def setUpClass(cls):
        from support.servers import HAProxy
        db.execute("CREATE USER 'stunnel'@'127.0.0.5' IDENTIFIED BY 'secret'")
        cls.hg = Hostgate(HOSTGATE, "'stunnel'@'127.0.0.5' REQUIRE SUBJECT '/CN=app'\n",
                          backends=[{"name": "db1", "address": f"127.0.0.1:{db.port}", "tls": "off"}],
                          server={"trusted_proxies": ["127.0.0.1"], "accept_proxy_tls": True}).start()
        cert, key = self_signed_certificate(workdir, "haproxy")
        pem = workdir / "haproxy.pem"
        pem.write_text(pathlib.Path(cert).read_text() + pathlib.Path(key).read_text())
        cls.haproxy = HAProxy(cls.hg.port, send_proxy="send-proxy-v2-ssl-cn",
                              bind_options=f"ssl crt {pem} verify required ca-file {ca.cert}").start()

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.stop()
        cls.hg.stop()

    def test_a_verified_cn_meets_the_subject(self):
        from support import raw_mysql
        context = client_context("app")
        plain = raw_mysql.open_from("127.0.0.5", self.haproxy.port)
        with context.wrap_socket(plain) as s:
            raw_mysql.login(s, "stunnel", "secret")
            self.assertEqual(raw_mysql.query_one(s, "SELECT CURRENT_USER()"), "stunnel@127.0.0.5")
        # Another subject's CN is refused.
        context = client_context("other")
        plain = raw_mysql.open_from("127.0.0.5", self.haproxy.port)
        with context.wrap_socket(plain) as s:
            with self.assertRaises(raw_mysql.MySQLError) as e:
                raw_mysql.login(s, "stunnel", "secret")
        self.assertEqual(e.exception.code, 1045)


class CleartextPasswords(unittest.TestCase):
    """MariaDB's auth_pam (a PAM service of the test's own that accepts anyone, pam_permit) with
    pam_use_cleartext_plugin: the server asks for the password in clear. A client on TLS sends it;
    hostgate must not pass it on over a plaintext backend leg, and says what to set instead."""

    SERVICE = "hostgate-test-pam"
    REFUSED = (1105, "This account's authentication sends the password in clear, and hostgate's "
                     "connection to the database server is not encrypted: set tls = \"mirror\" or "
                     "\"required\" on that backend")

    @classmethod
    def setUpClass(cls):
        cls.pam_file = pathlib.Path("/etc/pam.d") / cls.SERVICE
        cls.pam_file.write_text("auth required pam_permit.so\naccount required pam_permit.so\n")
        db_cert, db_key = self_signed_certificate(workdir, "pam-db")
        cls.db = MariaDB(extra_args=["--plugin-load-add=auth_pam.so", "--pam-use-cleartext-plugin=ON",
                                     f"--ssl-cert={db_cert}", f"--ssl-key={db_key}"]).start()
        cls.db.execute(f"CREATE USER 'pam'@'%' IDENTIFIED VIA pam USING '{cls.SERVICE}'")
        server_cert, server_key = self_signed_certificate(workdir, "pam-hostgate")
        cls.hg = Hostgate(HOSTGATE, "'pam'@'127.0.0.5'\n'pam'@'127.0.0.6' BACKEND encrypted\n",
                          backends=[{"name": "plain", "address": f"127.0.0.1:{cls.db.port}", "tls": "off"},
                                    {"name": "tls", "address": f"127.0.0.1:{cls.db.port}", "tls": "mirror",
                                     "group": "encrypted"}],
                          tls={"cert": str(server_cert), "key": str(server_key)}).start()

    @classmethod
    def tearDownClass(cls):
        cls.hg.stop()
        cls.db.stop()
        cls.pam_file.unlink()

    def pam(self, source="127.0.0.5", tls=True):
        context = client_context() if tls else None
        return pymysql.connect(host="127.0.0.1", port=self.hg.port, user="pam", password="anything",
                               bind_address=source, connect_timeout=30, ssl=context)

    def test_refused_toward_a_plaintext_backend_passed_toward_tls(self):
        with self.assertRaises(pymysql.err.OperationalError) as e:
            self.pam()
        self.assertEqual(e.exception.args, self.REFUSED)
        r = subprocess.run(["node", str(pathlib.Path(__file__).parent.parent / "tools" / "nodeclient.js"),
                            "--driver", "mysql2", "--port", str(self.hg.port), "--bind", "127.0.0.5",
                            "--user", "pam", "--password", "anything", "--ssl", "ping"],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "NODE_PATH": "/usr/share/nodejs"})
        self.assertEqual((r.returncode, r.stdout.splitlines()[-1]),
                         (1, f"ERROR {self.REFUSED[0]} (HY000): {self.REFUSED[1]}"), r.stdout)
        self.hg.wait_for_log("asks for the password in clear (mysql_clear_password) on a plaintext leg")
        # Both legs on TLS: the password goes on, encrypted, and PAM lets it in.
        conn = self.pam(source="127.0.0.6")
        with conn.cursor() as cur:
            cur.execute("SELECT CURRENT_USER()")
            self.assertEqual(cur.fetchone(), ("pam@%",))
        conn.close()


if __name__ == "__main__":
    unittest.main()
