#!/usr/bin/env bash
# Runs fuzz targets of a `fuzz` build for SECONDS each, one after the other, from the build's
# seed corpus plus the corpus earlier runs grew in BUILD/fuzz/corpus/<target>.
# Usage: run-fuzz.sh BUILD_DIR SECONDS [TARGET...]   (default: every target)
# A crash, sanitizer report, broken invariant, leak, an input that runs longer than 25 s or
# takes more than 2 GiB ends the run with a non-zero status; the input is kept as
# BUILD/fuzz/artifacts/<target>-crash-... (or -timeout-, -leak-, -oom-) and libFuzzer prints
# how to reproduce it: BUILD/fuzz/fuzz_<target> <that file>.
set -euo pipefail
build=$(cd "$1" && pwd) seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image state_file device_tree dispatcher)
src=$(cd "$(dirname "$0")/.." && pwd)

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$src/tests/lsan.supp:print_suppressions=0}"

status=0
for t in "${targets[@]}"; do
  seeds=$build/fuzz/seeds/$t
  corpus=$build/fuzz/corpus/$t
  mkdir -p "$corpus" "$build/fuzz/artifacts"
  echo "run-fuzz: $t for ${seconds}s (corpus $corpus, seeds $seeds)"
  if ! nice "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$build/fuzz/artifacts/$t-" "$corpus" "$seeds"; then
    echo "run-fuzz: $t FAILED" >&2
    status=1
  fi
done
exit $status
