#!/usr/bin/env bash
# Installs what is missing, builds hostgate, runs every test suite, and ends with one line
# "N passed, N failed" counting test cases over all suites. Exit status 0 only when none failed.
#
#   deploy/test.sh            build in ./build and run everything
#   BUILD_DIR=dir deploy/test.sh
#   FUZZ_SECONDS=N deploy/test.sh   fuzz each target N seconds (default 10; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh

build=${BUILD_DIR:-build}
if [[ ! -f $build/build.ninja ]]; then
  meson setup "$build" -Dwerror=true >/dev/null
fi
meson compile -C "$build"

rm -rf "$build/test-results"
mkdir -p "$build/test-results"
set +e
meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 3
fuzz_seconds=${FUZZ_SECONDS:-10}
if [[ $fuzz_seconds -gt 0 ]]; then
  fuzz_report="$build/test-results/fuzz.xml"
  if ! tests/fuzz/run.sh "$fuzz_seconds" --junit "$fuzz_report" && [[ ! -f $fuzz_report ]]; then
    # Whatever went wrong, a fuzz run that left no report is a failure, never a silent skip.
    printf '<?xml version="1.0"?><testsuites><testsuite name="fuzz"><testcase name="fuzz_run"><failure>no report</failure></testcase></testsuite></testsuites>\n' >"$fuzz_report"
  fi
fi
set -e
/usr/bin/python3 tests/summarize.py "$build/test-results" "$build/meson-logs/testlog.json"
