#!/usr/bin/env python3
"""The peers' side of scripts/bench_matrix.py and scripts/bench_matrix_gpu.sh: one measurement
of PyTorch or JAX on data that the caller wrote as .npy files, printed as one JSON line.

  bench_matrix_peers.py SPEC_JSON

SPEC keys: framework ("torch" | "jax"), workload ("mlp" | "logistic"), dir (X.npy, y.npy),
dtype ("float32" | "float64"), threads, and per workload:
  mlp       hidden, classes, batch, epochs, lr (Adam, betas 0.9/0.999, eps 1e-8); torch also takes
            device ("cpu" | "cuda") and compile (torch.compile of the loss, on top of eager)
  logistic  batch, epochs, steps, lr (plain SGD from zeros; the textbook cross-entropy
            -(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z))), as scripts/bench_cpu_vs_torch.py
            writes it for PyTorch; this file only does JAX's side of that workload)

What is timed: the training loop only. The data is read and converted to the dtype first (and
uploaded, on a GPU); then a warm-up (MLP: a few steps at both batch shapes, which is also when
JAX and torch.compile compile; logistic: a whole epoch and a full-batch step, as the PyTorch
side does), then `epochs` epochs (a fresh permutation each, the batch gathered by index, one
optimizer step a batch) and, for logistic, `steps` full-batch steps. The loss is read back once
at the end of each timed span, which also waits for the device. Results: seconds per epoch and
per full-batch step, and the final loss.

Thread counts: the caller pins this process to `threads` cores (taskset); here torch gets
torch.set_num_threads(threads), and JAX's XLA gets intra-op threading off for threads == 1
(XLA_FLAGS, set before jax is imported); with more, XLA sizes its pool from the cores it may run
on. Timings are this script's output; nothing asserts them.
"""
import json
import os
import sys
import time


def load(spec):
    import numpy as np

    x = np.load(os.path.join(spec["dir"], "X.npy")).astype(spec["dtype"])
    y = np.load(os.path.join(spec["dir"], "y.npy"))
    return x, y


# ------------------------------------------------------------------------------------------
# PyTorch: the MLP (eager, optionally torch.compile), on the CPU or a CUDA device
# ------------------------------------------------------------------------------------------

def torch_mlp(spec):
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(spec["threads"])
    device = torch.device(spec.get("device", "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("torch: no CUDA device")
    dtype = getattr(torch, spec["dtype"])
    x_np, y_np = load(spec)
    x_all = torch.from_numpy(x_np).to(device=device, dtype=dtype)
    y_all = torch.from_numpy(y_np).to(device=device, dtype=torch.long)
    n, d = x_all.shape
    hidden, classes, batch = spec["hidden"], spec["classes"], spec["batch"]
    generator = torch.Generator(device="cpu").manual_seed(1)

    def xavier(rows, cols):
        bound = (6.0 / (rows + cols)) ** 0.5
        w = (torch.rand(rows, cols, generator=generator, dtype=torch.float64) * 2 - 1) * bound
        return w.to(device=device, dtype=dtype).requires_grad_()

    w1, w2 = xavier(hidden, d), xavier(classes, hidden)
    b1 = torch.zeros(hidden, device=device, dtype=dtype, requires_grad=True)
    b2 = torch.zeros(classes, device=device, dtype=dtype, requires_grad=True)
    opt = torch.optim.Adam([w1, b1, w2, b2], lr=spec["lr"])

    def loss_of(xb, yb):
        logits = torch.tanh(xb @ w1.T + b1) @ w2.T + b2
        return F.cross_entropy(logits, yb)

    loss_fn = torch.compile(loss_of) if spec.get("compile") else loss_of

    def step(idx):
        loss = loss_fn(x_all[idx], y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    # Warm-up: both batch shapes of an epoch (a full batch and the tail), which is when
    # torch.compile compiles.
    warm = torch.arange(batch, device=device)
    for _ in range(3):
        step(warm)
    if n % batch:
        step(warm[: n % batch])
    sync()
    times = []
    for _ in range(spec["epochs"]):
        started = time.perf_counter()
        perm = torch.randperm(n, device=device)
        for first in range(0, n, batch):
            loss = step(perm[first:first + batch])
        final = float(loss)  # waits for the device
        times.append(time.perf_counter() - started)
    return {"epoch_s": times, "final_loss": final, "version": torch.__version__,
            "threads": torch.get_num_threads()}


# ------------------------------------------------------------------------------------------
# JAX (jit), on the CPU
# ------------------------------------------------------------------------------------------

def jax_setup(spec):
    if spec["threads"] == 1:
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                   " --xla_cpu_multi_thread_eigen=false"
                                   " intra_op_parallelism_threads=1").strip()
    import jax

    jax.config.update("jax_platforms", "cpu")
    if spec["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    return jax


def jax_mlp(spec):
    jax = jax_setup(spec)
    import jax.numpy as jnp
    import numpy as np

    x_np, y_np = load(spec)
    n, d = x_np.shape
    x_all, y_all = jax.device_put(x_np), jax.device_put(y_np.astype(np.int32))
    hidden, classes, batch, lr = spec["hidden"], spec["classes"], spec["batch"], spec["lr"]
    rng = np.random.default_rng(1)

    def xavier(rows, cols):
        bound = (6.0 / (rows + cols)) ** 0.5
        return jnp.asarray(rng.uniform(-bound, bound, (rows, cols)).astype(spec["dtype"]))

    params = [xavier(hidden, d), jnp.zeros(hidden, spec["dtype"]), xavier(classes, hidden),
              jnp.zeros(classes, spec["dtype"])]

    def loss_of(p, xb, yb):
        w1, b1, w2, b2 = p
        logits = jnp.tanh(xb @ w1.T + b1) @ w2.T + b2
        logp = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    @jax.jit
    def step(p, m, v, t, idx):
        loss, g = jax.value_and_grad(loss_of)(p, x_all[idx], y_all[idx])
        t = t + 1
        m = [0.9 * mi + 0.1 * gi for mi, gi in zip(m, g)]
        v = [0.999 * vi + 0.001 * gi * gi for vi, gi in zip(v, g)]
        c1, c2 = 1 - 0.9 ** t, 1 - 0.999 ** t
        p = [pi - lr * (mi / c1) / (jnp.sqrt(vi / c2) + 1e-8) for pi, mi, vi in zip(p, m, v)]
        return p, m, v, t, loss

    m = [jnp.zeros_like(q) for q in params]
    v = [jnp.zeros_like(q) for q in params]
    t = jnp.zeros((), spec["dtype"])
    warm = np.arange(batch, dtype=np.int32)
    for _ in range(3):
        params, m, v, t, loss = step(params, m, v, t, warm)
    if n % batch:
        params, m, v, t, loss = step(params, m, v, t, warm[: n % batch])
    loss.block_until_ready()
    times = []
    for _ in range(spec["epochs"]):
        started = time.perf_counter()
        perm = rng.permutation(n).astype(np.int32)
        for first in range(0, n, batch):
            params, m, v, t, loss = step(params, m, v, t, perm[first:first + batch])
        final = float(loss)
        times.append(time.perf_counter() - started)
    return {"epoch_s": times, "final_loss": final, "version": jax.__version__}


def jax_logistic(spec):
    jax = jax_setup(spec)
    import jax.numpy as jnp
    import numpy as np

    x_np, y_np = load(spec)
    n, d = x_np.shape
    x_all, y_all = jax.device_put(x_np), jax.device_put(y_np.astype(spec["dtype"]))
    batch, lr = spec["batch"], spec["lr"]

    def loss_of(p, xb, yb):
        w, b = p
        s = jax.nn.sigmoid(xb @ w + b)
        return jnp.mean(-(yb * jnp.log(s) + (1 - yb) * jnp.log(1 - s)))

    def update(p, xb, yb):
        loss, g = jax.value_and_grad(loss_of)(p, xb, yb)
        return [pi - lr * gi for pi, gi in zip(p, g)], loss

    mini = jax.jit(lambda p, idx: update(p, x_all[idx], y_all[idx]))
    full = jax.jit(lambda p: update(p, x_all, y_all))
    zeros = lambda: [jnp.zeros(d, spec["dtype"]), jnp.zeros((), spec["dtype"])]  # noqa: E731
    rng = np.random.default_rng(1)

    def epoch(p):
        perm = rng.permutation(n).astype(np.int32)
        for first in range(0, n, batch):
            p, loss = mini(p, perm[first:first + batch])
        return p, float(loss)

    p, _ = epoch(zeros())  # warm-up: compiles both batch shapes
    epoch_s = []
    for _ in range(spec["epochs"]):
        started = time.perf_counter()
        p, epoch_loss = epoch(p)
        epoch_s.append(time.perf_counter() - started)
    p = zeros()
    p, loss = full(p)
    loss.block_until_ready()
    started = time.perf_counter()
    for _ in range(spec["steps"]):
        p, loss = full(p)
    step_loss = float(loss)
    step_s = (time.perf_counter() - started) / spec["steps"]
    return {"epoch_s": epoch_s, "epoch_loss": epoch_loss, "step_s": step_s,
            "step_loss": step_loss, "version": jax.__version__}


def main():
    spec = json.loads(sys.argv[1])
    run = {("torch", "mlp"): torch_mlp, ("jax", "mlp"): jax_mlp,
           ("jax", "logistic"): jax_logistic}.get((spec["framework"], spec["workload"]))
    if run is None:
        raise SystemExit(f"no measurement for {spec['framework']} {spec['workload']}")
    result = run(spec)
    import numpy

    result["numpy"] = numpy.__version__
    print(json.dumps(result))


if __name__ == "__main__":
    main()
