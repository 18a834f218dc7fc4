#!/usr/bin/env bash
# Fails when a tracked C++ or CUDA file is not formatted by .clang-format, and when clang-format
# itself is missing (scripts/install_deps.sh installs Debian's): the check is never skipped.
# Fix with: clang-format -i $(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh')
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null; then
  echo "check_format: clang-format is not installed (apt-get install clang-format," \
    "or run scripts/install_deps.sh)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.cu' '*.cuh' 2>/dev/null ||
  find host cuda tests bench \( -name '*.[ch]pp' -o -name '*.cu' -o -name '*.cuh' \))
clang-format --dry-run --Werror "${files[@]}"
echo "check_format: ${#files[@]} files formatted ($(clang-format --version | grep -o 'version [0-9.]*'))"
