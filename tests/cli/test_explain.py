"""`hostgate explain`: output and exit status, run as a user would."""
import os
import pathlib
import subprocess
import tempfile
import unittest

HOSTGATE = os.environ["HOSTGATE"]
EXAMPLE_GRANTS = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "examples" / "grants.conf"


def explain(*args, grants=EXAMPLE_GRANTS):
    return subprocess.run([HOSTGATE, "explain", "--grants", str(grants), *args],
                          capture_output=True, text=True, timeout=30)


class ExplainCommand(unittest.TestCase):
    def test_allow_names_the_rule_and_its_line(self):
        r = explain("app", "10.1.2.3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("allow: 'app'@'10.1.%' (line 13) applies to 'app'@10.1.2.3", r.stdout)
        self.assertIn("options: REQUIRE SSL", r.stdout)
        self.assertIn("'app'@'10.1.%'                host yes  user yes  <- applies", r.stdout)

    def test_unknown_user_from_known_host_is_1045(self):
        r = explain("app", "10.2.0.9")
        self.assertEqual(r.returncode, 1)
        self.assertIn("deny: ERROR 1045 (28000): Access denied for user 'app'@'10.2.0.9' "
                      "(using password: YES)", r.stdout)

    def test_unknown_host_is_1130(self):
        r = explain("app", "192.0.2.7")
        self.assertEqual(r.returncode, 1)
        self.assertIn("deny: ERROR 1130 (HY000): Host '192.0.2.7' is not allowed to connect to "
                      "this MySQL server", r.stdout)

    def test_anonymous_rule_and_ipv6(self):
        self.assertEqual(explain("whoever", "10.9.9.9").returncode, 0)
        self.assertEqual(explain("ops", "2001:db8::42").returncode, 0)
        self.assertEqual(explain("ops", "::ffff:10.0.0.1").returncode, 1)

    def test_host_name_rules_need_a_name(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("'web'@'%.example.com'\n")
            f.flush()
            self.assertEqual(explain("web", "192.0.2.1", grants=f.name).returncode, 1)
            r = explain("--host-name", "a.example.com", "web", "192.0.2.1", grants=f.name)
            self.assertEqual(r.returncode, 0, r.stdout)

    def test_endpoint_is_part_of_the_decision(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("'app'@'10.0.0.5' ENDPOINT 'vpce-a' BACKEND tenant_a\n"
                    "'app'@'10.0.0.5' ENDPOINT 'vpce-b' BACKEND tenant_b\n")
            f.flush()
            r = explain("--endpoint", "vpce-b", "app", "10.0.0.5", grants=f.name)
            self.assertEqual(r.returncode, 0, r.stdout)
            self.assertEqual(r.stdout.splitlines(), [
                "allow: 'app'@'10.0.0.5' (line 2) applies to 'app'@10.0.0.5",
                "  host '10.0.0.5': IPv4 address 10.0.0.5",
                "  user: exact match",
                "  options: BACKEND tenant_b ENDPOINT 'vpce-b'",
                "  endpoint: vpce-b",
                "rules in match order:",
                "  line 1    'app'@'10.0.0.5'  host yes  endpoint no",
                "  line 2    'app'@'10.0.0.5'  host yes  endpoint yes  user yes  <- applies",
            ])
            # Without an endpoint, or through another, no rule matches: 1130, as for a host.
            for args in ((), ("--endpoint", "vpce-c")):
                r = explain(*args, "app", "10.0.0.5", grants=f.name)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertEqual(r.stdout.splitlines()[1],
                                 "  no rule matches 10.0.0.5" + (" through endpoint vpce-c" if args else "") +
                                 "; the client is refused before the greeting")

    def test_bad_grants_file_names_line_and_column(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
            f.write("'a'@'%'\n'b'@'10.0.0.300'\n")
            f.flush()
            r = explain("a", "10.0.0.1", grants=f.name)
            self.assertEqual(r.returncode, 2)
            self.assertEqual(r.stdout, "")
            self.assertEqual(r.stderr.strip(),
                             f"{f.name}:2:5: '10.0.0.300' is not a valid IP address")

    def test_bad_arguments_exit_2(self):
        self.assertEqual(explain("a", "10.0.0.1", grants="/nonexistent/grants.conf").returncode, 2)
        self.assertEqual(explain("a", "10.0.0.01").returncode, 2)
        self.assertEqual(explain("a", "example.com").returncode, 2)
        self.assertEqual(explain("a").returncode, 2)
        r = subprocess.run([HOSTGATE], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
