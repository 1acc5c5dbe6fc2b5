#!/usr/bin/env python3
"""Runs a Python unittest module and writes a JUnit report, so that deploy/test.sh counts its
test cases with the C++ suites.

    run_unittest.py REPORT.xml path/to/test_module.py [args for the module via HOSTGATE_TEST_ARGS]
"""
import importlib.util
import os
import pathlib
import sys
import time
import unittest
import xml.etree.ElementTree as ET


class JUnitResult(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (name, seconds, kind, text)
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, kind, text=""):
        self.cases.append((test.id(), time.monotonic() - self._started, kind, text))

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test, "ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        self._record(test, "error", self._exc_info_to_string(err, test))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._record(test, "skipped", reason)


def main() -> int:
    report, module_path = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    sys.path.insert(0, str(module_path.parent))
    spec = importlib.util.spec_from_file_location(module_path.stem, module_path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_path.stem] = module  # unittest finds setUpModule through sys.modules
    spec.loader.exec_module(module)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(resultclass=JUnitResult, verbosity=2, stream=sys.stdout)
    result = runner.run(suite)

    root = ET.Element("testsuites")
    ts = ET.SubElement(root, "testsuite", name=module_path.stem, tests=str(len(result.cases)))
    for name, seconds, kind, text in result.cases:
        case = ET.SubElement(ts, "testcase", name=name, time=f"{seconds:.3f}")
        if kind in ("failure", "error"):
            ET.SubElement(case, kind).text = text
        elif kind == "skipped":
            ET.SubElement(case, "skipped", message=text)
    report.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(report, encoding="utf-8", xml_declaration=True)
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
