#!/usr/bin/env bash
# Builds descent in Release (build-bench-cpu/) and runs scripts/bench_cpu_vs_torch.py: descent's
# CPU path against PyTorch on the CPU, on a synthetic logistic regression (1,000,000 x 32):
# the mini-batch (B = 1024) epoch time and the full-batch step time of both, and their ratios.
# Needs Debian's PyTorch and NumPy for /usr/bin/python3:
#   apt-get install -y python3-torch python3-numpy
# Arguments go to the script, e.g.
#   scripts/bench_cpu_vs_torch.sh --json bench-cpu-vs-torch.json
#   scripts/bench_cpu_vs_torch.sh --n 200000 --repeats 1
# BUILD_DIR overrides the build folder. Timings are this machine's; nothing here asserts them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench-cpu}"
python=/usr/bin/python3  # Debian's, which python3-torch installs into (not a pyenv python3)

if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  echo "error: $python cannot import torch and numpy; install them with" >&2
  echo "  apt-get install -y python3-torch python3-numpy" >&2
  exit 1
fi

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_WERROR=ON \
  -DDESCENT_BENCH=OFF >/dev/null
ninja -C "$build" descent >/dev/null
exec "$python" "$root/scripts/bench_cpu_vs_torch.py" --descent "$build/host/cli/descent" "$@"
