#!/usr/bin/env bash
# Fails when a tracked C++ file is not formatted by .clang-format (clang-format from Debian).
# Fix with: clang-format -i $(git ls-files '*.cpp' '*.hpp')
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format is not installed; skipped" >&2
  exit 0
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' 2>/dev/null || find host cuda tests bench -name '*.[ch]pp')
clang-format --dry-run --Werror "${files[@]}"
echo "check_format: ${#files[@]} files formatted"
