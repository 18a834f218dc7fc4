#!/usr/bin/env python3
"""The data and the PyTorch baseline of scripts/gpu_check.sh's timing: a logistic regression
(N rows, d features, labels drawn from a known weight vector) trained with SGD + momentum
(lr 0.5, mu 0.9) full-batch and in mini-batches, as descent's timing configs do.

  bench_gpu.py data DIR [--rows N] [--dim D]
      writes DIR/X.npy (float32, N x D, standard normal) and DIR/y.npy (float32, 0/1)
  bench_gpu.py torch DIR [--steps S] [--batch B]
      times PyTorch (eager, on the GPU) on them, f32 and f64: S full-batch steps, and one epoch
      of mini-batches of B rows; prints one line per run

Timings are this script's output, never a test's assertion. Needs numpy (data) and torch (torch).
"""
import argparse
import os
import sys
import time


def make_data(out, rows, dim):
    import numpy as np

    rng = np.random.default_rng(2024)
    x = rng.standard_normal((rows, dim), dtype=np.float32)
    w = rng.standard_normal(dim).astype(np.float32) / np.sqrt(dim)
    p = 1.0 / (1.0 + np.exp(-(x @ w + 0.1)))
    y = (rng.random(rows) < p).astype(np.float32)
    os.makedirs(out, exist_ok=True)
    np.save(os.path.join(out, "X.npy"), x)
    np.save(os.path.join(out, "y.npy"), y)
    print(f"wrote {rows} x {dim} rows to {out}")


def time_torch(data, steps, batch):
    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print("torch: no CUDA device")
        return
    device = torch.device("cuda")
    x_host = torch.from_numpy(np.load(os.path.join(data, "X.npy")))
    y_host = torch.from_numpy(np.load(os.path.join(data, "y.npy")))
    rows = x_host.shape[0]
    for dtype, label in ((torch.float32, "f32"), (torch.float64, "f64")):
        x = x_host.to(device=device, dtype=dtype)
        y = y_host.to(device=device, dtype=dtype)
        for mode in ("full", "mini"):
            w = torch.zeros(x.shape[1], device=device, dtype=dtype, requires_grad=True)
            b = torch.zeros((), device=device, dtype=dtype, requires_grad=True)
            opt = torch.optim.SGD([w, b], lr=0.5, momentum=0.9)

            def step(xb, yb):
                loss = torch.nn.functional.binary_cross_entropy_with_logits(xb @ w + b, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                return loss

            step(x[:batch], y[:batch])  # warm-up: kernels loaded, allocator primed
            torch.cuda.synchronize()
            start = time.perf_counter()
            if mode == "full":
                for _ in range(steps):
                    loss = step(x, y)
                n_steps, samples = steps, steps * rows
            else:
                order = torch.randperm(rows, device=device)
                n_steps = 0
                for first in range(0, rows, batch):
                    index = order[first:first + batch]
                    loss = step(x[index], y[index])
                    n_steps += 1
                samples = rows
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
            print(f"torch {label} {mode}: {n_steps} steps in {seconds:.3f} s, "
                  f"{samples / seconds:.4g} samples/s, loss {loss.item():.6g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data")
    data.add_argument("dir")
    data.add_argument("--rows", type=int, default=1_000_000)
    data.add_argument("--dim", type=int, default=32)
    torch_cmd = sub.add_parser("torch")
    torch_cmd.add_argument("dir")
    torch_cmd.add_argument("--steps", type=int, default=50)
    torch_cmd.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args()
    if args.command == "data":
        make_data(args.dir, args.rows, args.dim)
    else:
        try:
            import torch  # noqa: F401
        except ImportError:
            print("torch: not installed")
            return 0
        time_torch(args.dir, args.steps, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
