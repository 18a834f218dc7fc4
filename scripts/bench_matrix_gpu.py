#!/usr/bin/env python3
"""descent on the GPU against PyTorch on the same GPU (eager, and torch.compile): a 784-256-10
tanh MLP with softmax cross-entropy and Adam, N = 60,000 synthetic rows, B = 1024, f32.
scripts/bench_matrix_gpu.sh checks for the GPU, builds descent and runs this; it needs no
network (numpy and torch as installed on the machine).

Timed, excluding process start, data loading and compilation:
  descent   metrics.csv's wall_s with a row logged at the end of every epoch
            (train.log_every = the steps of an epoch): (last - first) / (epochs - 1), so the
            first epoch, which includes the first launches, is left out; with one epoch, the
            last row's wall_s. Run with --plan fused and --plan batched, and without --plan
            (descent's choice); a flag this descent rejects (exit 2) shows as "n/a", a program
            the GPU refuses shows the first line of descent's message.
  PyTorch   scripts/bench_matrix_peers.py: after a warm-up at both batch shapes (which is when
            torch.compile compiles), perf_counter around each epoch, the device synchronized by
            reading the loss; the median over the epochs.
Ratio = PyTorch time / descent time (above 1: descent is faster). Nothing asserts timings.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_matrix as bm  # noqa: E402  (data, config, runner and table helpers)


def run_descent_gpu(args, work, label, config, flags, steps_per_epoch):
    out = os.path.join(work, "runs", label)
    log = os.path.join(work, "runs", label + ".log")
    command = [args.descent, "train", config, "--device", "gpu", "--precision", "f32",
               "--quiet", "--out", out, "--set", f"train.log_every={steps_per_epoch}"] + flags
    code, rss = bm.run_measured(command, log)
    if code == 2 and "not expected" in bm.first_line(log):  # a flag this descent lacks
        return bm.Cell(why="n/a", log=bm.first_line(log))
    if code == 2:  # bad input: the GPU refused the program (the message names the parameter)
        return bm.Cell(why="refused", log=bm.first_line(log))
    if code != 0:
        return bm.Cell(why=f"exit {code}", log=bm.first_line(log))
    wall = [float(r["wall_s"]) for r in bm.metrics_rows(out)]
    seconds = (wall[-1] - wall[0]) / (len(wall) - 1) if len(wall) > 1 else wall[-1]
    return bm.Cell(seconds, rss=rss, loss=float(bm.metrics_rows(out)[-1]["loss"]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--descent", required=True)
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workdir")
    args = parser.parse_args()
    args.descent = os.path.abspath(args.descent)

    smi = bm.command_output(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                             "--format=csv,noheader"])
    commit = bm.command_output(["git", "-C", bm.ROOT, "rev-parse", "--short=12", "HEAD"])
    print(f"GPU: {smi or 'unknown'}; descent {args.descent} (git {commit or 'unknown'}); "
          f"torch {bm.python_version_of(sys.executable, 'torch')}")
    work = args.workdir or tempfile.mkdtemp(prefix="descent-bench-matrix-gpu-")
    os.makedirs(os.path.join(work, "runs"), exist_ok=True)
    steps_per_epoch = -(-args.n // args.batch)
    cells = {}
    try:
        bm.make_mlp_data(work, args.n, 784, 10, seed=0)
        config = os.path.join(work, "mlp.toml")
        with open(config, "w") as f:
            f.write(bm.mlp_config(784, args.hidden, 10, args.batch, 1e-3, args.epochs))
        for plan in ("fused", "batched", None):
            name = f"descent {plan or '(its choice)'}"
            print(f"  {name}", flush=True)
            cells[name] = run_descent_gpu(args, work, f"descent-{plan or 'auto'}", config,
                                          ["--plan", plan] if plan else [], steps_per_epoch)
        for compiled in (False, True):
            name = "torch.compile" if compiled else "torch eager"
            print(f"  {name}", flush=True)
            spec = {"framework": "torch", "workload": "mlp", "dir": work, "dtype": "float32",
                    "threads": os.cpu_count(), "hidden": args.hidden, "classes": 10,
                    "batch": args.batch, "epochs": args.epochs, "lr": 1e-3, "device": "cuda",
                    "compile": compiled}
            log = os.path.join(work, "runs", name.replace(" ", "-") + ".log")
            code, _ = bm.run_measured([sys.executable, bm.PEERS, json.dumps(spec)], log)
            if code != 0:
                cells[name] = bm.Cell(why=f"exit {code}", log=bm.tail(log, 2))
                continue
            with open(log) as f:
                result = json.loads(f.read().strip().splitlines()[-1])
            cells[name] = bm.Cell(bm.median(result["epoch_s"]), loss=result["final_loss"])
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\n784-{args.hidden}-10 tanh MLP, softmax cross-entropy, Adam, N = {args.n:,}, "
          f"B = {args.batch} ({steps_per_epoch} steps an epoch), f32 on the GPU: "
          f"seconds per epoch")
    descent = [c for n, c in cells.items() if n.startswith("descent") and c.seconds]
    best = min(descent, key=lambda c: c.seconds) if descent else None
    for name, c in cells.items():
        line = f"  {name:<22} {c.text('s'):>12}"
        if not name.startswith("descent"):
            line += f"   ratio {bm.ratio(c, best)} (torch / descent's fastest)"
        if "loss" in c.extra:
            line += f"   final loss {c.extra['loss']:.4f}"
        if c.seconds is None and c.extra.get("log"):
            line += f"   ({c.extra['log'][:140]})"
        print(line)


if __name__ == "__main__":
    main()
