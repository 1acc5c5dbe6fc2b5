#!/usr/bin/env python3
"""Adds up the JUnit reports of every suite into one line: "N passed, N failed".

    summarize.py RESULTS_DIR MESON_TESTLOG [RESULTS_DIR MESON_TESTLOG ...]

Several pairs (one per build, such as the sanitizer build) add up into the one line.

A suite that meson saw fail without a failure in its report (it crashed, timed out or never
wrote one) counts as one failed test case, so nothing is lost between the two views.
Exit status: 0 when nothing failed, 1 otherwise.
"""
import json
import pathlib
import sys
import xml.etree.ElementTree as ET


def count(results_dir: str, meson_log: str):
    passed = failed = 0
    failing_reports = set()
    for report in sorted(pathlib.Path(results_dir).glob("*.xml")):
        try:
            root = ET.parse(report).getroot()
        except ET.ParseError as e:
            print(f"{report.name}: unreadable report ({e})")
            failed += 1
            failing_reports.add(report.stem)
            continue
        for case in root.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failing_reports.add(report.stem)
            else:
                passed += 1

    log = pathlib.Path(meson_log)
    if log.exists():
        for line in log.read_text().splitlines():
            entry = json.loads(line)
            if entry.get("result") in ("OK", "SKIP", "EXPECTEDFAIL"):
                continue
            if entry["name"] not in failing_reports:
                print(f"suite {entry['name']}: {entry['result']} without a failing test case")
                failed += 1
    else:
        print(f"no meson test log at {meson_log}")
        failed += 1

    return passed, failed


def main(pairs) -> int:
    passed = failed = 0
    for results_dir, meson_log in pairs:
        p, f = count(results_dir, meson_log)
        passed, failed = passed + p, failed + f
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or len(args) % 2:
        sys.exit("usage: summarize.py RESULTS_DIR MESON_TESTLOG [RESULTS_DIR MESON_TESTLOG ...]")
    sys.exit(main(zip(args[::2], args[1::2])))
