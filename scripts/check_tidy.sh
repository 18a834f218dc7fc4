#!/usr/bin/env bash
# Runs clang-tidy (Debian's, the checks listed and justified in .clang-tidy) over every host/ and
# cuda/ source file that the build compiles, with the build's own flags from
# BUILD_DIR/compile_commands.json (default build/, which scripts/build.sh makes), one file per
# core at a time. Fails on any finding (.clang-tidy: WarningsAsErrors) and when clang-tidy or the
# compile database is missing. The compiler's own warnings are the build's business, not this
# script's (-Wno-error). Arguments, if any, are the files to check instead of all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
build="${BUILD_DIR:-build}"
if ! command -v clang-tidy >/dev/null; then
  echo "check_tidy: clang-tidy is not installed (apt-get install clang-tidy," \
    "or run scripts/install_deps.sh)" >&2
  exit 1
fi
if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "check_tidy: $build/compile_commands.json is missing: build first (scripts/build.sh)" >&2
  exit 1
fi

if (($#)); then
  files=("$@")
else
  mapfile -t files < <(python3 - "$build/compile_commands.json" "$root" <<'PY'
import json, sys
root = sys.argv[2].rstrip("/") + "/"
seen = set()
for entry in json.load(open(sys.argv[1])):
    path = entry["file"]
    if path.startswith((root + "host/", root + "cuda/")) and path not in seen:
        seen.add(path)
        print(path)
PY
  )
fi
if ((${#files[@]} == 0)); then
  echo "check_tidy: no host/ or cuda/ file in $build/compile_commands.json" >&2
  exit 1
fi

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
export build logs
header_filter="^$(printf '%s' "$root" | sed 's/[][\.*^$+?(){}|]/\\&/g')/(host|cuda)/"
export header_filter
start=$SECONDS
printf '%s\n' "${files[@]}" | xargs -d '\n' -P "$(nproc)" -I{} bash -c '
  log="$logs/$(printf "%s" "$1" | tr / _).log"
  clang-tidy -p "$build" --quiet --header-filter="$header_filter" \
    --extra-arg=-Wno-error --extra-arg=-Wno-unknown-warning-option "$1" >"$log" 2>&1 ||
    echo "$1" >>"$logs/failed"' _ {}

# A header's finding is reported once per file that includes it: print each one once.
cat "$logs"/*.log | grep -v -E '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' |
  awk '/^\// { seen_block = ($0 in seen); seen[$0] = 1 } !seen_block' || true
if [[ -s "$logs/failed" ]]; then
  echo "check_tidy: findings in $(grep -c '' "$logs/failed") of ${#files[@]} files" \
    "($((SECONDS - start)) s)" >&2
  exit 1
fi
echo "check_tidy: ${#files[@]} files clean ($((SECONDS - start)) s," \
  "$(clang-tidy --version | grep -o 'version [0-9.]*'))"
