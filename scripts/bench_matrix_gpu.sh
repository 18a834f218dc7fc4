#!/usr/bin/env bash
# The GPU machine's matrix benchmark: descent --device gpu against PyTorch eager and
# torch.compile on the same card, a 784-256-10 tanh MLP (softmax cross-entropy, Adam),
# N = 60,000 synthetic rows, B = 1024, f32 (scripts/bench_matrix_gpu.py says what is timed).
# Runs with no network: no apt, no pip; it uses the machine's python3 with numpy and torch
# (with CUDA), and the third-party headers staged in .deps/ (bash scripts/stage_deps.sh, here,
# then carry .deps) unless $DESCENT names a descent built with CUDA.
#   bash scripts/bench_matrix_gpu.sh [--epochs 5] [--n 60000] [--workdir DIR]
# BUILD_DIR overrides the build folder (default build-gpu/, the one scripts/gpu_check.sh uses).
# Without a GPU, or without torch with CUDA, it stops at once with exit 1 and says why.
# Timings are this machine's; nothing here asserts them, and nothing here is a test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

fail() {
  echo "bench_matrix_gpu: error: $*" >&2
  exit 1
}

command -v nvidia-smi >/dev/null || fail "no GPU: nvidia-smi is not installed"
nvidia-smi -L 2>/dev/null | grep -q '^GPU' || fail "no GPU: nvidia-smi says: $(nvidia-smi -L 2>&1 | head -1)"
python=""
for candidate in python3 /usr/bin/python3; do
  if "$candidate" -c 'import numpy, torch; assert torch.cuda.is_available()' 2>/dev/null; then
    python=$candidate
    break
  fi
done
[[ -n $python ]] || fail "no python3 with numpy and a CUDA-enabled torch"

descent="${DESCENT:-}"
if [[ -z $descent ]]; then
  [[ -d .deps/include ]] || fail "no .deps/: run scripts/stage_deps.sh first and carry .deps, or set DESCENT"
  build="${BUILD_DIR:-build-gpu}"
  export PATH="$PATH:/usr/local/cuda/bin"
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDESCENT_CUDA=ON \
    -DDESCENT_DEPS_DIR="$PWD/.deps" -DDESCENT_BENCH=OFF -DDESCENT_TESTS=OFF >/dev/null
  cmake --build "$build" --parallel "$(nproc)" --target descent >/dev/null
  descent="$build/host/cli/descent"
fi
export DESCENT_CACHE_DIR="${DESCENT_CACHE_DIR:-$PWD/${BUILD_DIR:-build-gpu}/kernel-cache}"
exec "$python" scripts/bench_matrix_gpu.py --descent "$descent" "$@"
