#!/usr/bin/env bash
# Installs what is missing, builds hostgate, runs every test suite, and ends with one line
# "N passed, N failed" counting test cases over all suites. Exit status 0 only when none failed.
#
#   deploy/test.sh              build in ./build and run everything
#   deploy/test.sh --sanitize   then build again with ASan+UBSan in ./build-sanitize and run every
#                               suite against that build too (a sanitizer report fails the test)
#   deploy/test.sh --long       also run the long hostile-client and fault tests
#   BUILD_DIR=dir deploy/test.sh
#   FUZZ_SECONDS=N deploy/test.sh   fuzz each target N seconds (default 10; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=0
for arg in "$@"; do
  case $arg in
    --sanitize) sanitize=1 ;;
    --long) export HOSTGATE_LONG_TESTS=1 ;;
    *) echo "usage: deploy/test.sh [--sanitize] [--long]" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh
# Test clients from the npm registry (Node's mysql2), as pinned in tests/tools/package-lock.json.
if [[ ! -d tests/tools/node_modules/mysql2 ||
      tests/tools/package-lock.json -nt tests/tools/node_modules/.package-lock.json ]]; then
  npm ci --prefix tests/tools --no-audit --no-fund --loglevel=error >/dev/null
fi

# Builds in $1 (with meson options $2...) and runs every suite there; the JUnit reports go to
# $1/test-results.
build_and_test() {
  local build=$1
  shift
  if [[ ! -f $build/build.ninja ]]; then
    meson setup "$build" "$@" >/dev/null
  fi
  meson compile -C "$build"
  rm -rf "$build/test-results"
  mkdir -p "$build/test-results"
  meson test -C "$build" --print-errorlogs --num-processes 2 --timeout-multiplier 3 || true
}

build=${BUILD_DIR:-build}
build_and_test "$build" -Dwerror=true
summaries=("$build/test-results" "$build/meson-logs/testlog.json")

fuzz_seconds=${FUZZ_SECONDS:-10}
if [[ $fuzz_seconds -gt 0 ]]; then
  fuzz_report="$build/test-results/fuzz.xml"
  if ! tests/fuzz/run.sh "$fuzz_seconds" --junit "$fuzz_report" && [[ ! -f $fuzz_report ]]; then
    # Whatever went wrong, a fuzz run that left no report is a failure, never a silent skip.
    printf '<?xml version="1.0"?><testsuites><testsuite name="fuzz"><testcase name="fuzz_run"><failure>no report</failure></testcase></testsuite></testsuites>\n' >"$fuzz_report"
  fi
fi

# The Debian package: built from this tree, checked by lintian, installed, purged. Run once, here
# and not from meson: it installs a package on this machine.
package_report="$build/test-results/package.xml"
if ! /usr/bin/python3 tests/support/run_unittest.py "$package_report" tests/package/test_package.py &&
   [[ ! -f $package_report ]]; then
  printf '<?xml version="1.0"?><testsuites><testsuite name="package"><testcase name="package_run"><failure>no report</failure></testcase></testsuite></testsuites>\n' >"$package_report"
fi

if [[ $sanitize == 1 ]]; then
  # Any report stops the process with an error; the test harness looks for reports in the logs of
  # every hostgate it started (tests/support/servers.py).
  export ASAN_OPTIONS=abort_on_error=0:halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
  export HOSTGATE_SANITIZED=1
  sanitize_build=${build}-sanitize
  # Without -Werror: g++ 12 warns about its own headers (maybe-uninitialized) under sanitizers;
  # the warnings are checked by the first build.
  build_and_test "$sanitize_build" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fno-sanitize-recover=all
  summaries+=("$sanitize_build/test-results" "$sanitize_build/meson-logs/testlog.json")
fi

/usr/bin/python3 tests/summarize.py "${summaries[@]}"
