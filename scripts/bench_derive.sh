#!/usr/bin/env bash
# Builds descent_bench_derive in Release (build-bench/) and runs it: the time to parse, lower,
# stabilize, differentiate and simplify generated expressions of ~1k, 10k and 100k nodes.
# Arguments go to the benchmark, e.g.
#   scripts/bench_derive.sh --json bench-derive.json
#   scripts/bench_derive.sh --families mlp --sizes 1000,10000 --budget 5
#   scripts/bench_derive.sh --sizes 10000,100000 --clock cpu --rounds 5   # the scaling goal:
#     time per node at 100k against 10k, sizes taking turns so that a shared machine's slow
#     spells fall on both alike; the last figure of the scaling line, the ratio of each
#     size's fastest rep, is the steadier one on a busy machine. Each rep pays again for the
#     memory it touches, as a one-shot run does (the benchmark's --heap); the per-node ratio
#     of user time alone, in the section printed after the scaling lines, leaves the kernel's
#     part (page faults) out
# BUILD_DIR overrides the build folder, which is configured for the benchmark (Release, tests
# and CUDA off): give it a folder of its own, not a development build. Timings are this
# machine's; nothing here asserts them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_BENCH=ON \
  -DDESCENT_TESTS=OFF -DDESCENT_CUDA=OFF -DDESCENT_WERROR=ON >/dev/null
ninja -C "$build" descent_bench_derive >/dev/null
exec "$build/bench/descent_bench_derive" "$@"
