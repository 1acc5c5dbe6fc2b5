#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS from its seed corpus.
#
#   tests/fuzz/run.sh SECONDS [--junit FILE]
#
# New inputs go to a scratch corpus (build-fuzz/corpus/TARGET), never into the seeds in the repo.
# A finding leaves its reproducer in build-fuzz/findings/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:?usage: tests/fuzz/run.sh SECONDS [--junit FILE]}
junit=""
[[ ${2:-} == --junit ]] && junit=${3:?--junit needs a file}

build=build-fuzz
if [[ ! -f $build/build.ninja ]]; then
  CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Db_sanitize=address,undefined \
    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
  mkdir -p "$build"
fi
if ! meson compile -C "$build" >"$build/compile.log" 2>&1; then
  tail -30 "$build/compile.log"
  echo "fuzz targets: build failed (log: $build/compile.log)"
  [[ -n $junit ]] && printf '<?xml version="1.0"?><testsuites><testsuite name="fuzz"><testcase name="fuzz_build"><failure>build failed</failure></testcase></testsuite></testsuites>\n' >"$junit"
  exit 1
fi

targets=(fuzz_proxy_protocol fuzz_mysql_frame fuzz_command_framer fuzz_mysql_messages fuzz_grants_file fuzz_untrusted_text fuzz_response_tracker)
mkdir -p "$build/findings"
cases=""
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  log="$build/findings/$t.log"
  start=$(date +%s)
  if UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$build/tests/fuzz/$t" \
      "$build/corpus/$t" "tests/fuzz/corpus/$t" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$build/findings/$t-" >"$log" 2>&1; then
    runs=$(grep -oP 'stat::number_of_executed_units: \K[0-9]+' "$log" || echo 0)
    echo "$t: $runs executions in ${seconds}s, no finding"
    cases+="<testcase name=\"$t\" time=\"$(( $(date +%s) - start ))\"/>"
  else
    failed=$((failed + 1))
    echo "$t: FINDING, see $log and $build/findings/$t-*"
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 || true
    cases+="<testcase name=\"$t\"><failure>finding: see $log</failure></testcase>"
  fi
done

if [[ -n $junit ]]; then
  mkdir -p "$(dirname "$junit")"
  printf '<?xml version="1.0"?><testsuites><testsuite name="fuzz">%s</testsuite></testsuites>\n' \
    "$cases" >"$junit"
fi
exit $(( failed > 0 ))
