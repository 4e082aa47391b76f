#!/usr/bin/env bash
# Checks that every C and C++ source in the repository is formatted as .clang-format says,
# with clang-format 14 (Debian bookworm's; other versions format some constructs differently,
# so the version is pinned). Lists the files that are not and exits 1; `--fix` rewrites them.
set -euo pipefail
cd "$(dirname "$0")/.."
readonly CLANG_FORMAT=${CLANG_FORMAT:-clang-format-14}
command -v "$CLANG_FORMAT" >/dev/null || { echo "check-format: $CLANG_FORMAT not found (scripts/setup-deps.sh installs it)" >&2; exit 1; }

mapfile -t files < <(git ls-files -- '*.c' '*.h' '*.cpp')
if [ "${1:-}" = "--fix" ]; then
  "$CLANG_FORMAT" -i -- "${files[@]}"
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  "$CLANG_FORMAT" --dry-run -Werror -- "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'check-format: not formatted as .clang-format says (run scripts/check-format.sh --fix):\n' >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "check-format: ${#files[@]} files formatted"
