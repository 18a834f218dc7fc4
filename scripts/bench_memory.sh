#!/usr/bin/env bash
# Peak memory of `descent train --device cpu` against the size of what it must hold: the data
# set in the backend's storage (rows x values a row x 8 bytes, f64) plus the model's parameters.
# Runs, on data made here with NumPy (fixed seeds):
#   logistic regression, N x d (default 1,000,000 x 32), from CSV and from .npy, full batch
#   and mini-batches of 1024, with a validation split, standardization and a metric;
#   a one-hidden-layer MLP on wide data (default 100,000 x 256, 32 hidden units), .npy,
#   mini-batches of 256;
#   an empty run (10 rows): the binary and its libraries, reported on its own.
# For each run it prints the peak RSS (wait4's ru_maxrss), data + model, and their ratio, with
# and without the empty run's RSS. Nothing here asserts; the ctest TrainMemory.* checks a
# bound on a smaller data set.
#
# Usage: scripts/bench_memory.sh [--descent PATH] [--n ROWS] [--d COLUMNS] [--epochs E]
#                                [--mlp-n ROWS] [--mlp-d COLUMNS] [--keep DIR]
# Default PATH: build/host/cli/descent (build it first: cmake --build build). The data goes to a
# temporary folder (about 0.7 GB for the defaults), removed at the end unless --keep names one.
# Needs Debian's NumPy for /usr/bin/python3 (apt-get install -y python3-numpy).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python=/usr/bin/python3
if ! "$python" -c "import numpy" 2>/dev/null; then
  echo "error: $python cannot import numpy; install it with: apt-get install -y python3-numpy" >&2
  exit 1
fi
exec "$python" - "$root" "$@" <<'PY'
import argparse, os, shutil, subprocess, sys, tempfile
import numpy as np

root = sys.argv[1]
parser = argparse.ArgumentParser(prog="bench_memory.sh")
parser.add_argument("--descent", default=os.path.join(root, "build", "host", "cli", "descent"))
parser.add_argument("--n", type=int, default=1_000_000)
parser.add_argument("--d", type=int, default=32)
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--mlp-n", type=int, default=100_000)
parser.add_argument("--mlp-d", type=int, default=256)
parser.add_argument("--keep", default="")
args = parser.parse_args(sys.argv[2:])
if not os.access(args.descent, os.X_OK):
    sys.exit(f"error: no descent binary at {args.descent}; build it or pass --descent PATH")

MiB = 1024.0 * 1024.0
work = args.keep or tempfile.mkdtemp(prefix="descent_bench_memory_")
os.makedirs(work, exist_ok=True)

def logistic_data(folder, n, d):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / 4
    y = ((X @ w + 0.3 * rng.standard_normal(n)) > 0).astype(np.float64)
    np.save(os.path.join(folder, "X.npy"), X)
    np.save(os.path.join(folder, "y.npy"), y)
    header = ",".join([f"x{i + 1}" for i in range(d)] + ["y"])
    np.savetxt(os.path.join(folder, "data.csv"), np.column_stack([X, y]), delimiter=",",
               header=header, comments="", fmt="%.10g")

LOGISTIC = """[experiment]
name = "memory"
[data]
{source}
standardize = ["x"]
validation = 0.2
seed = 3
[params]
w = {{ shape = [{d}], init = "zeros" }}
b = {{ init = "zeros" }}
[model]
z = "dot(w, x) + b"
[cost]
loss = "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"
[metrics]
accuracy = "(z > 0) == y"
[train]
optimizer = "momentum"
lr = 0.5
epochs = {epochs}
batch_size = {batch}
seed = 1
"""

MLP = """[experiment]
name = "memory-mlp"
[data]
npy = {{ x = "X.npy", y = "y.npy" }}
validation = 0.2
seed = 11
[params]
W1 = {{ shape = [{h}, {d}], init = "xavier" }}
b1 = {{ shape = [{h}], init = "zeros" }}
w2 = {{ shape = [{h}], init = "xavier" }}
b2 = {{ init = "zeros" }}
[model]
hidden = "tanh(W1 @ x + b1)"
z = "dot(w2, hidden) + b2"
[cost]
loss = "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"
[metrics]
accuracy = "(z > 0) == y"
[train]
optimizer = "adam"
lr = 0.01
epochs = 1
batch_size = {batch}
seed = 7
"""

def write_config(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path

# Runs a command and prints its peak RSS in KiB (wait4's ru_maxrss). It runs in a fresh, small
# python3: a process's ru_maxrss keeps the high-water mark of the process it was forked from
# (and of what it was before exec), and this script holds the data sets in memory.
MEASURE = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
proc.returncode = os.waitstatus_to_exitcode(status)
print(usage.ru_maxrss)
sys.exit(proc.returncode)
"""

def peak_rss_bytes(config, out):
    """Runs descent train; returns its peak RSS, in bytes."""
    result = subprocess.run([sys.executable, "-c", MEASURE, args.descent, "train", config,
                             "--device", "cpu", "--quiet", "--out", out],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"error: descent train {config} failed ({result.returncode}):\n{result.stderr}")
    return int(result.stdout) * 1024  # KiB on Linux

runs = []  # (name, data bytes, model bytes, config)
folder = os.path.join(work, "logistic")
print(f"making {args.n:,} x {args.d} logistic data in {folder} ...", flush=True)
logistic_data(folder, args.n, args.d)
data_bytes = args.n * (args.d + 1) * 8
model_bytes = (args.d + 1) * 8
sources = {"csv": f'file = "data.csv"\ninputs = {{ x = "x1..x{args.d}", y = "y" }}',
           "npy": 'npy = { x = "X.npy", y = "y.npy" }'}
for kind, source in sources.items():
    for batch, label in ((0, "full batch"), (1024, "batch 1024")):
        text = LOGISTIC.format(source=source, d=args.d, epochs=args.epochs, batch=batch)
        config = write_config(os.path.join(folder, f"{kind}-{batch}.toml"), text)
        runs.append((f"logistic {kind}, {label}", data_bytes, model_bytes, config))

mlp_folder = os.path.join(work, "mlp")
print(f"making {args.mlp_n:,} x {args.mlp_d} MLP data in {mlp_folder} ...", flush=True)
os.makedirs(mlp_folder, exist_ok=True)
rng = np.random.default_rng(1)
X = rng.standard_normal((args.mlp_n, args.mlp_d))
np.save(os.path.join(mlp_folder, "X.npy"), X)
np.save(os.path.join(mlp_folder, "y.npy"), (np.sin(X[:, 0]) + X[:, 1] ** 2 > 1).astype(np.float64))
del X
hidden = 32
config = write_config(os.path.join(mlp_folder, "mlp.toml"),
                      MLP.format(h=hidden, d=args.mlp_d, batch=256))
runs.append((f"mlp npy, batch 256", args.mlp_n * (args.mlp_d + 1) * 8,
             (hidden * args.mlp_d + 2 * hidden + 1) * 8, config))

empty_folder = os.path.join(work, "empty")
logistic_data(empty_folder, 10, args.d)
empty_config = write_config(os.path.join(empty_folder, "empty.toml"),
                            LOGISTIC.format(source=sources["npy"], d=args.d, epochs=1, batch=0))
empty = peak_rss_bytes(empty_config, os.path.join(empty_folder, "run"))
print(f"\nempty run (10 rows): peak RSS {empty / MiB:.1f} MiB (the binary and its libraries)\n")
print(f"{'run':<28} {'data+model MiB':>15} {'peak RSS MiB':>13} {'ratio':>7} "
      f"{'ratio less empty run':>21}")
for name, data, model, config in runs:
    rss = peak_rss_bytes(config, os.path.join(os.path.dirname(config), "run"))
    shutil.rmtree(os.path.join(os.path.dirname(config), "run"), ignore_errors=True)
    need = data + model
    print(f"{name:<28} {need / MiB:>15.1f} {rss / MiB:>13.1f} {rss / need:>7.3f} "
          f"{(rss - empty) / need:>21.3f}", flush=True)
if not args.keep:
    shutil.rmtree(work, ignore_errors=True)
PY
