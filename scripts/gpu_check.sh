#!/usr/bin/env bash
# The GPU machine's check, run there through the device tool in one call:
#   here:   bash scripts/stage_deps.sh          (copies third-party headers into .deps/)
#   there:  bash scripts/gpu_check.sh           (run with carry: [".deps"])
# Builds descent header-only against .deps/ with CUDA on, runs every test (among them the one
# that launches every example config's emitted kernels on the device and compares them with the
# Interpreter; its line and NVRTC's go into the summary), trains every example config with
# --device auto, runs the benchmarks, and
# writes at most 4 files under $OUT (the device tool returns at most 8): summary.txt,
# ctest.log, train.log, bench_derive.json.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/descent-gpu-check}"
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary"; }

note "== device"
(nvidia-smi -L 2>&1 || echo "nvidia-smi failed") | tee -a "$summary"
note "nvcc: $(nvcc --version 2>&1 | tail -1)"

if [[ ! -d .deps/include ]]; then
  note "error: .deps/ is missing: run scripts/stage_deps.sh here and carry .deps"
  exit 2
fi

note "== build"
jobs="$(nproc)"
if ! cmake -S . -B build-gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_CUDA=ON \
    -DDESCENT_DEPS_DIR="$PWD/.deps" -DDESCENT_WERROR=ON >"$out/ctest.log" 2>&1 ||
   ! cmake --build build-gpu --parallel "$jobs" >>"$out/ctest.log" 2>&1; then
  note "build FAILED (see ctest.log)"
  tail -30 "$out/ctest.log" >>"$summary"
  exit 1
fi
note "build ok"

note "== tests"
ctest --test-dir build-gpu --output-on-failure --timeout 600 -j "$jobs" >>"$out/ctest.log" 2>&1
note "ctest exit $?: $(grep -E 'tests passed|tests failed' "$out/ctest.log" | tail -1)"
# The tests that only mean something here: the emitted kernels run on the device, and NVRTC.
grep -E 'Test +#[0-9]+: (EmittedKernels|EmittedSource|Nvrtc)\.' "$out/ctest.log" |
  sed -E 's/^.*Test +#[0-9]+: //; s/ \.+\**/ /' | tee -a "$summary"

note "== example configs (--device auto)"
: >"$out/train.log"
for config in configs/*.toml; do
  name="$(basename "$config" .toml)"
  build-gpu/host/cli/descent train "$config" --device auto --quiet --out "build-gpu/runs/$name" \
    >>"$out/train.log" 2>&1
  note "train $name: exit $?"
done

note "== benchmarks"
build-gpu/bench/descent_bench_derive --sizes 1000,10000,100000 --json "$out/bench_derive.json" \
  >>"$summary" 2>&1
note "bench_derive exit $?"
