"""`hostgate --check-config`: the example is valid; mistakes are named with key and line."""
import os
import pathlib
import re
import subprocess
import tempfile
import unittest

HOSTGATE = os.environ["HOSTGATE"]
EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "examples" / "hostgate.toml"
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"

BASE = """\
[server]
listen = ["127.0.0.1:4306"]
[grants]
file = "grants.conf"
[[backend]]
name = "db1"
address = "127.0.0.1:4307"
"""


def check(text: str, grants: str = "'app'@'%'\n"):
    with tempfile.TemporaryDirectory() as d:
        (pathlib.Path(d) / "grants.conf").write_text(grants)
        path = pathlib.Path(d) / "hostgate.toml"
        path.write_text(text)
        r = subprocess.run([HOSTGATE, "--check-config", str(path)], capture_output=True, text=True, timeout=30)
        return r.returncode, (r.stdout + r.stderr).replace(str(path), "hostgate.toml").replace(d + "/", "")


class CheckConfig(unittest.TestCase):
    def test_example_is_valid(self):
        r = subprocess.run([HOSTGATE, "--check-config", str(EXAMPLE)], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OK (9 grant rules, 2 backends)", r.stdout)

    def test_version(self):
        version = re.search(r"version : '([^']+)'", (README.parent / "meson.build").read_text()).group(1)
        r = subprocess.run([HOSTGATE, "--version"], capture_output=True, text=True, timeout=30)
        self.assertEqual((r.returncode, r.stdout), (0, f"hostgate {version}\n"))
        with tempfile.TemporaryDirectory() as d:
            (pathlib.Path(d) / "grants.conf").write_text("'app'@'%'\n")
            # A source address this machine does not have: hostgate stops right after its first line.
            (pathlib.Path(d) / "hostgate.toml").write_text(BASE + 'source = "192.0.2.1"\n')
            r = subprocess.run([HOSTGATE, "--config", str(pathlib.Path(d) / "hostgate.toml")],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
        self.assertRegex(r.stdout.splitlines()[0], rf" info hostgate {re.escape(version)} starting with ")

    def test_minimal_is_valid(self):
        self.assertEqual(check(BASE), (0, "hostgate.toml: OK (1 grant rules, 1 backends)\n"))

    def test_errors_name_key_and_line(self):
        cases = [
            (BASE.replace("listen", "listne"), "hostgate.toml:2: server.listne: unknown key"),
            (BASE.replace('["127.0.0.1:4306"]', '["localhost:4306"]'),
             "hostgate.toml:2: server.listen: 'localhost:4306' is not an address:port "
             "(\"127.0.0.1:3306\", \"[::1]:3306\")"),
            (BASE + 'proxy_protocol = "v3"\n', "hostgate.toml:8: backend.proxy_protocol: expected \"v1\" | \"v2\" | \"off\""),
            (BASE.replace("[server]\n", "[server]\nthreads = -1\n"),
             "hostgate.toml:2: server.threads: expected a number from 0 to 256"),
            (BASE.replace("[server]\n", "[server]\ntrusted_proxies = [\"10.1.2.3/16\"]\n"),
             "hostgate.toml:2: server.trusted_proxies: trusted network '10.1.2.3/16': address bits set past "
             "the prefix; did you mean 10.1.0.0/16?"),
            (BASE + '[[backend]]\nname = "db1"\naddress = "127.0.0.1:1"\n',
             "hostgate.toml:9: backend.name: 'db1' is used twice"),
            (BASE.replace('[grants]\nfile = "grants.conf"\n', ""), "hostgate.toml: grants.file: is required"),
            (BASE + 'source = "backend-host"\n',
             "hostgate.toml:8: backend.source: 'backend-host' is not an IPv4 or IPv6 address"),
            (BASE + 'source = "::1"\n',
             "hostgate.toml:8: backend.source: is not of the address family of backend.address"),
            # TEST-NET-1: an address no machine here has; nothing is sent, the bind fails.
            (BASE + 'source = "192.0.2.1"\n',
             "hostgate.toml: backend db1: source 192.0.2.1: Cannot assign requested address (not an "
             "address of this machine)"),
            (BASE + 'proxy_protocol = "v1"\nproxy_protocol_tlvs = ["ssl"]\n',
             "hostgate.toml:9: backend.proxy_protocol_tlvs: needs proxy_protocol = \"v2\": a v1 header cannot "
             "carry TLVs"),
            (BASE + 'proxy_protocol_tlvs = ["ssl", "sni"]\n',
             "hostgate.toml:8: backend.proxy_protocol_tlvs: 'sni' is none of ssl, cn, client_cert, authority, "
             "unique_id, endpoint"),
            (BASE + '[tls]\nca = "ca.pem"\n', "hostgate.toml:9: tls.ca: needs tls.cert and tls.key"),
            ("[server\n", "hostgate.toml:1: "),
        ]
        for text, message in cases:
            with self.subTest(message=message):
                code, out = check(text)
                self.assertEqual(code, 2, out)
                self.assertTrue(out.startswith(message), out)

    def test_readme_configuration_table_is_the_reference(self):
        """The README's table is `hostgate --config-reference`, which config.cpp derives from the
        one description of every key: a key added, renamed or given a new default there and not
        in the README fails here."""
        r = subprocess.run([HOSTGATE, "--config-reference"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        table = r.stdout
        self.assertTrue(table.startswith("| key | default | reload | meaning |\n"), table)
        readme = README.read_text()
        section = readme[readme.index("## Configuration"):readme.index("## Operating hostgate")]
        rows = [line for line in section.splitlines() if line.startswith("|")]
        self.assertEqual("\n".join(rows) + "\n", table)

    def test_bad_grants_file_is_reported(self):
        code, out = check(BASE, grants="'app'@'10.0.0.300'\n")
        self.assertEqual(code, 2)
        self.assertEqual(out, "grants.conf:1:7: '10.0.0.300' is not a valid IP address\n")
