#!/usr/bin/env bash
# descent's CPU path against PyTorch (eager) and JAX (jit) on a 784-128-10 MLP and on
# scripts/bench_cpu_vs_torch.py's logistic regression, f32 and f64, 1 and 2 threads, every
# process pinned with taskset to as many cores as threads: one run, one table with ratios, and
# descent's peak memory beside the data's size (scripts/bench_matrix.py says what is timed).
#
# What it needs, and gets when missing:
#   - Debian's PyTorch and NumPy for /usr/bin/python3 (apt-get install python3-torch
#     python3-numpy, as root), and GNU time (apt-get install time) for the peak memory;
#   - JAX in a virtual environment of its own, created once with pip from PyPI and reused:
#     $BENCH_JAX_VENV, default ${XDG_CACHE_HOME:-~/.cache}/descent/bench-jax-venv (without
#     network the JAX columns say "absent");
#   - descent: $DESCENT if set, else a Release build in build-bench-cpu/ (BUILD_DIR overrides).
# Sizes (environment; defaults are the full benchmark, about 10 minutes on 2 cores):
#   BENCH_MLP_N=60000 BENCH_LOGISTIC_N=1000000 BENCH_EPOCHS=1 BENCH_STEPS=10
#   BENCH_THREADS=1,2 BENCH_PRECISIONS=f32,f64 BENCH_PLANS=fused,batched
# e.g. a quick run: BENCH_MLP_N=6000 BENCH_LOGISTIC_N=100000 bash scripts/bench_matrix.sh
# Other arguments go to bench_matrix.py (--json FILE, --workdir DIR). Timings are this machine's;
# nothing here asserts them, and nothing here is a test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python=/usr/bin/python3 # Debian's, which python3-torch installs into

if ! "$python" -c "import torch, numpy" 2>/dev/null; then
  echo "bench_matrix: installing python3-torch and python3-numpy with apt-get" >&2
  if [[ $(id -u) -ne 0 ]]; then
    echo "error: $python cannot import torch and numpy, and installing them needs root:" >&2
    echo "  apt-get install -y python3-torch python3-numpy" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-numpy >/dev/null
fi
command -v taskset >/dev/null || {
  echo "error: taskset (util-linux) is missing" >&2
  exit 1
}
if [[ ! -x /usr/bin/time ]]; then # GNU time: descent's peak memory
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
  else
    echo "bench_matrix: warning: no /usr/bin/time (apt-get install time): no peak memory" >&2
  fi
fi

venv="${BENCH_JAX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/descent/bench-jax-venv}"
jax_python="$venv/bin/python"
if ! "$jax_python" -c "import jax, numpy" 2>/dev/null; then
  echo "bench_matrix: creating the JAX environment in $venv (pip, once)" >&2
  if "$python" -m venv "$venv" >&2 && "$jax_python" -m pip install --quiet jax numpy >&2; then
    :
  else
    echo "bench_matrix: warning: no JAX (pip failed); its columns will say 'absent'" >&2
  fi
fi
jax_args=()
"$jax_python" -c "import jax" 2>/dev/null && jax_args=(--jax-python "$jax_python")

descent="${DESCENT:-}"
if [[ -z $descent ]]; then
  build="${BUILD_DIR:-$root/build-bench-cpu}"
  generator=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DDESCENT_WERROR=ON \
    -DDESCENT_BENCH=OFF -DDESCENT_TESTS=OFF >/dev/null
  cmake --build "$build" --target descent >/dev/null
  descent="$build/host/cli/descent"
fi

exec "$python" "$root/scripts/bench_matrix.py" --descent "$descent" "${jax_args[@]}" \
  --mlp-n "${BENCH_MLP_N:-60000}" --logistic-n "${BENCH_LOGISTIC_N:-1000000}" \
  --epochs "${BENCH_EPOCHS:-1}" --steps "${BENCH_STEPS:-10}" \
  --threads "${BENCH_THREADS:-1,2}" --precisions "${BENCH_PRECISIONS:-f32,f64}" \
  --plans "${BENCH_PLANS:-fused,batched}" "$@"
