#!/usr/bin/env bash
# Covers scripts/check_layers.sh on a tiny synthetic tree (three host rooms and cuda/api over
# three floors): the tree as laid out passes; one planted back-reference (a lower room including
# a higher one) fails with its file:line and both rooms named; so do a sideways include on one
# floor, an include of a room that is on no floor, and a folder that is on no floor; removing
# the plant makes it pass again.  Usage: layering_check_test.sh CHECK_LAYERS_SH
set -euo pipefail
check="$1"
tree="$(mktemp -d)"
trap 'rm -rf "$tree"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

mkdir -p "$tree/scripts" "$tree/host/base" "$tree/host/mid" "$tree/host/top" "$tree/cuda/api"
cat >"$tree/scripts/layers.txt" <<'LAYERS'
# bottom first
base
mid cuda/api   # one floor, two rooms
top
LAYERS
printf '#pragma once\n#include <vector>\n' >"$tree/host/base/base.hpp"
printf '#pragma once\n#include "base/base.hpp"\n' >"$tree/host/mid/mid.hpp"
printf '#include "mid/mid.hpp"\n#include "base/base.hpp"\n' >"$tree/host/mid/mid.cpp"
printf '#pragma once\n#include "base/base.hpp"\n' >"$tree/cuda/api/gpu.hpp"
printf '#include "api/gpu.hpp"\n' >"$tree/cuda/api/gpu.cpp"
printf '#pragma once\n#include "mid/mid.hpp"\n#include "cuda/api/gpu.hpp"\n' \
  >"$tree/host/top/top.hpp"

# expect_pass | expect_fail MESSAGE: runs the check on the tree.
run() { out="$(bash "$check" "$tree" 2>&1)" && status=0 || status=$?; }
expect_pass() {
  run
  [[ $status -eq 0 ]] || fail "$1: exit $status, expected 0; output: $out"
}
expect_fail() {
  run
  [[ $status -ne 0 ]] || fail "$1: exit 0, expected a failure; output: $out"
  grep -qF -- "$2" <<<"$out" || fail "$1: expected \"$2\" in: $out"
}

expect_pass "the tree as laid out"

# The planted back-reference: base (floor 1) includes top (floor 3), on line 3.
cp "$tree/host/base/base.hpp" "$tree/base.hpp.kept"
printf '#include "top/top.hpp"\n' >>"$tree/host/base/base.hpp"
expect_fail "back-reference" \
  'host/base/base.hpp:3: #include "top/top.hpp": base (floor 1) includes top, which is above it (floor 3)'
mv "$tree/base.hpp.kept" "$tree/host/base/base.hpp"
expect_pass "the plant removed"

printf '#include "cuda/api/gpu.hpp"\n' >>"$tree/host/mid/mid.cpp"
expect_fail "sideways" 'host/mid/mid.cpp:3: #include "cuda/api/gpu.hpp": mid includes cuda/api, a room on its own floor'
sed -i '$d' "$tree/host/mid/mid.cpp"

printf '#include "nowhere/x.hpp"\n' >>"$tree/host/top/top.hpp"
expect_fail "unknown room" 'host/top/top.hpp:4: #include "nowhere/x.hpp": top includes nowhere, which is no room'
sed -i '$d' "$tree/host/top/top.hpp"

mkdir "$tree/host/attic" && printf '#pragma once\n' >"$tree/host/attic/old.hpp"
expect_fail "unplaced folder" 'host/attic/old.hpp: room attic is on no floor'
rm -r "$tree/host/attic"

expect_pass "the tree restored"
((failures == 0)) || exit 1
echo "layering check: back-reference, sideways, unknown room and unplaced folder caught"
