#!/usr/bin/env bash
# The test command (README, CI): installs what is missing (scripts/install_deps.sh), then
#   format     scripts/check_format.sh   every C++ file as clang-format writes it
#   layering   scripts/check_layers.sh   no include reaches up or sideways (scripts/layers.txt)
#   build      scripts/build.sh          g++, Release, warnings as errors, into build/
#   tidy       scripts/check_tidy.sh     clang-tidy's checks of .clang-tidy on host/ and cuda/
#   tests      ctest in build/, then scripts/check_skips.sh: only the GPU tests may skip, and
#              only when no CUDA or no device answers
#   sanitized  scripts/test_sanitized.sh the tests again under ASan+UBSan, clang, build-asan/
# Every step runs even when an earlier one failed (a failed build ends the run), so one run
# names every failure; the exit status is non-zero when any step failed. Extra arguments go to
# cmake for build/, e.g. scripts/test.sh -DDESCENT_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh

failed=()
step() {
  local name="$1" start=$SECONDS
  shift
  echo "== $name"
  if "$@"; then
    echo "== $name: ok ($((SECONDS - start)) s)"
  else
    echo "== $name: FAILED ($((SECONDS - start)) s)"
    failed+=("$name")
  fi
}
run_tests() {
  local status=0
  # The tests call python3 by name (NumPy interoperability): Debian's, which has python3-numpy.
  PATH="/usr/bin:$PATH" ctest --test-dir build --output-on-failure --timeout 900 \
    -j "$(nproc)" --output-junit junit.xml || status=$?
  bash scripts/check_skips.sh build/junit.xml || status=1
  return "$status"
}

step format bash scripts/check_format.sh
step layering bash scripts/check_layers.sh
step build bash scripts/build.sh "$@"
if [[ " ${failed[*]} " == *" build "* ]]; then
  echo "test: the build failed; nothing else can run" >&2
  exit 1
fi
step tidy bash scripts/check_tidy.sh
step tests run_tests
step sanitized bash scripts/test_sanitized.sh
step fuzz bash scripts/fuzz.sh all 10

if ((${#failed[@]})); then
  echo "test: FAILED: ${failed[*]} (${SECONDS} s)" >&2
  exit 1
fi
echo "test: all steps passed (${SECONDS} s)"
