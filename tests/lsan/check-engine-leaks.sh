#!/bin/sh
# The asan preset's proof that tests/lsan.supp hides only Unicorn's own leak (README
# "Reliability"). Usage: check-engine-leaks.sh ENGINE_LEAKS_PROGRAM SUPPRESSION_FILE
#  1. Without suppressions, N engines created and closed leak exactly N x 32 bytes in N
#     allocations: Unicorn 2.1.1's one known leak per engine, nothing of ours. A missing
#     uc_close (or any other leak) makes the total larger.
#  2. Without suppressions, one machine leaked on purpose shows a larger total.
#  3. With the suppression file, N engines report no leak at all. (A machine leaked on purpose
#     is hidden by it too, measured: its blocks are reachable from its engine's, which the
#     suppression covers. That is why 1 and 2 run without it.)
set -u
prog=$1
supp=$2
n=4
summary() {  # $1: extra LSAN_OPTIONS, $2: program mode; prints "<bytes> <allocations>" or "0 0"
  out=$(ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS="exitcode=0:$1" "$prog" "$n" $2 2>&1)
  line=$(printf '%s\n' "$out" | sed -n 's/^SUMMARY: AddressSanitizer: \([0-9]*\) byte(s) leaked in \([0-9]*\) allocation(s).*/\1 \2/p')
  echo "${line:-0 0}"
}
fail=0
check() {  # $1 description, $2 condition (shell test)
  if eval "$2"; then echo "ok - $1"; else echo "not ok - $1"; fail=1; fi
}
set -- $(summary "" "")
check "no suppression: $n engines leak $1 bytes in $2 allocations (Unicorn's: $((n * 32)) in $n)" \
      "[ $1 -eq $((n * 32)) ] && [ $2 -eq $n ]"
set -- $(summary "" "leak-one")
check "no suppression: a leaked machine adds to that ($1 bytes)" "[ $1 -gt $((n * 32)) ]"
set -- $(summary "suppressions=$supp" "")
check "suppressed: $n engines report no leak ($1 bytes)" "[ $1 -eq 0 ]"
exit $fail
