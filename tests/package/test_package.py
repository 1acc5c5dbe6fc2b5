"""The Debian package, as an operator installs it: deploy/package.sh builds it, lintian finds no
error in it, dpkg installs it, the installed binary checks the installed configuration, and dpkg
purges it without a trace. Run by deploy/test.sh as root (dpkg), never from meson: it changes the
machine's installed packages."""
import os
import pathlib
import re
import subprocess
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]
VERSION = re.search(r"^  version : '([^']+)',$", (ROOT / "meson.build").read_text(), re.M).group(1)
SUDO = [] if os.geteuid() == 0 else ["sudo"]

deb = None


def run(*args, **kwargs):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=1800, **kwargs)


def installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "hostgate")
    return r.returncode == 0 and r.stdout.startswith("install ok installed")


def setUpModule():
    global deb
    if installed():
        raise RuntimeError("a hostgate package is installed on this machine: the test would replace it")
    r = run(str(ROOT / "deploy/package.sh"))
    if r.returncode != 0:
        raise RuntimeError(f"deploy/package.sh failed:\n{r.stdout}\n{r.stderr}")
    deb = pathlib.Path(r.stdout.splitlines()[-1])


class Package(unittest.TestCase):
    def test_1_last_line_is_the_deb(self):
        self.assertEqual(deb.name, f"hostgate_{VERSION}_{run('dpkg', '--print-architecture').stdout.strip()}.deb")
        self.assertTrue(deb.is_file())
        r = run("dpkg-deb", "--field", str(deb), "Package", "Version")
        self.assertEqual(r.stdout.splitlines(), ["Package: hostgate", f"Version: {VERSION}"])
        files = {line.split()[-1] for line in run("dpkg-deb", "-c", str(deb)).stdout.splitlines()}
        for path in ("./usr/sbin/hostgate", "./etc/hostgate/hostgate.toml", "./etc/hostgate/grants.conf",
                     "./lib/systemd/system/hostgate.service", "./usr/share/man/man8/hostgate.8.gz",
                     "./usr/share/doc/hostgate/examples/hostgate.json"):
            self.assertIn(path, files)

    def test_2_lintian_finds_no_error(self):
        r = run("lintian", "--fail-on", "error", str(deb))
        errors = [line for line in r.stdout.splitlines() if line.startswith("E:")]
        self.assertEqual((r.returncode, errors), (0, []), r.stdout + r.stderr)

    def test_3_install_check_config_and_purge(self):
        r = run(*SUDO, "dpkg", "-i", str(deb))
        self.addCleanup(lambda: installed() and run(*SUDO, "dpkg", "--purge", "hostgate"))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(installed())
        self.assertEqual(run("/usr/sbin/hostgate", "--version").stdout.split(), ["hostgate", VERSION])
        r = run("/usr/sbin/hostgate", "--check-config", "/etc/hostgate/hostgate.toml")
        self.assertEqual((r.returncode, r.stdout.strip()),
                         (0, "/etc/hostgate/hostgate.toml: OK (0 grant rules, 1 backends)"), r.stderr)
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", "hostgate").stdout.split()
        self.assertIn("/etc/hostgate/hostgate.toml", conffiles)
        self.assertIn("/etc/hostgate/grants.conf", conffiles)
        unit = pathlib.Path("/lib/systemd/system/hostgate.service").read_text()
        self.assertIn("\nExecStart=/usr/sbin/hostgate --config /etc/hostgate/hostgate.toml\n", unit)
        self.assertIn("\nDocumentation=man:hostgate(8)\n", unit)
        # The installed configuration listens on loopback only and allows nobody.
        toml = pathlib.Path("/etc/hostgate/hostgate.toml").read_text()
        self.assertIn('\nlisten = ["127.0.0.1:3307"]\n', toml)
        rules = [line for line in pathlib.Path("/etc/hostgate/grants.conf").read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
        self.assertEqual(rules, [])

        r = run(*SUDO, "dpkg", "--purge", "hostgate")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(installed())
        for gone in ("/usr/sbin/hostgate", "/etc/hostgate", "/lib/systemd/system/hostgate.service",
                     "/usr/share/man/man8/hostgate.8.gz"):
            self.assertFalse(pathlib.Path(gone).exists(), gone)

    def test_4_man_page_names_this_version(self):
        th = (ROOT / "deploy/man/hostgate.8").read_text().split("\n.TH ", 1)[1].splitlines()[0]
        self.assertIn(f'"hostgate {VERSION}"', th)
        r = run("man", "--warnings", "-l", str(ROOT / "deploy/man/hostgate.8"), env={**os.environ, "MANWIDTH": "80"})
        self.assertEqual((r.returncode, r.stderr), (0, ""))
