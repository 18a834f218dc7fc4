#!/usr/bin/env bash
# The host test suite under AddressSanitizer and UndefinedBehaviorSanitizer, built with clang
# (Debian's clang 14) into build-asan/: no CUDA, no benchmarks, -O1 with debug info so that the
# suite stays quick and the reports name lines. Warnings are not errors here: the main build
# (g++, scripts/build.sh) holds the warning line, and clang's -Wshadow is stricter about names
# that an enumerator and a function share. Any sanitizer report ends its process with a
# non-zero exit (-fno-sanitize-recover=all, halt_on_error), so it fails the test that ran it;
# that includes the descent processes the end-to-end tests start. As in scripts/test.sh, which
# runs this after the main build's tests, only the GPU tests may skip (scripts/check_skips.sh).
# Extra arguments go to ctest, e.g. -R Npy.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${BUILD_DIR:-build-asan}"
jobs="$(nproc)"

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_FLAGS="-O1" -DDESCENT_SANITIZE=ON -DDESCENT_CUDA=OFF -DDESCENT_BENCH=OFF \
  -DDESCENT_WERROR=OFF >/dev/null
cmake --build "$build" --parallel "$jobs"

export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
status=0
# The tests call python3 by name (NumPy interoperability): Debian's, which has python3-numpy.
PATH="/usr/bin:$PATH" ctest --test-dir "$build" --output-on-failure --timeout 900 -j "$jobs" \
  --output-junit junit.xml "$@" || status=$?
bash scripts/check_skips.sh "$build/junit.xml" || status=1
exit "$status"
