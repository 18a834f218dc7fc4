#!/usr/bin/env python3
"""Generates the small synthetic data sets that the example configs in configs/ train on.

Every synthetic file in configs/data/ comes from this script (python3 standard library only,
fixed seeds), so the data is reproducible byte for byte: python3 scripts/make_datasets.py
(digits.csv is real data, converted by scripts/digits_csv.py: configs/data/README.md)
"""
import math
import os
import random

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "data")


def write(name, header, rows):
    path = os.path.join(OUT, name)
    with open(path, "w", newline="\n") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(v if isinstance(v, str) else repr(round(v, 6)) for v in row) + "\n")
    print(f"wrote {path} ({len(rows)} rows)")


def linear(rng):
    # y = 2 x1 - 3 x2 + 0.5 x3 + 1 + N(0, 0.1^2)
    rows = []
    for _ in range(200):
        x = [rng.uniform(-2, 2) for _ in range(3)]
        y = 2 * x[0] - 3 * x[1] + 0.5 * x[2] + 1 + rng.gauss(0, 0.1)
        rows.append(x + [y])
    write("linear.csv", ["x1", "x2", "x3", "y"], rows)


def logistic(rng):
    # P(y = 1 | x) = sigmoid(1.5 x1 - 2 x2 + 0.5): overlapping classes, so the maximum
    # likelihood weights are finite.
    rows = []
    for _ in range(400):
        x1, x2 = rng.gauss(0, 1.5), rng.gauss(0, 1.5)
        p = 1 / (1 + math.exp(-(1.5 * x1 - 2 * x2 + 0.5)))
        rows.append([x1, x2, 1.0 if rng.random() < p else 0.0])
    write("logistic.csv", ["x1", "x2", "y"], rows)


def blobs(rng):
    # Three Gaussian blobs in 2-D that overlap a little, labelled by colour name.
    centres = {"red": (0.0, 2.0), "green": (-1.8, -1.0), "blue": (1.8, -1.0)}
    rows = []
    for _ in range(300):
        label = rng.choice(sorted(centres))
        cx, cy = centres[label]
        rows.append([rng.gauss(cx, 1.0), rng.gauss(cy, 1.0), label])
    write("blobs.csv", ["x1", "x2", "colour"], rows)


def polynomial(rng):
    # y = 1 - 2 x + 0.5 x^3 + N(0, 0.05^2) on [-2, 2]
    rows = []
    for _ in range(200):
        x = rng.uniform(-2, 2)
        rows.append([x, 1 - 2 * x + 0.5 * x ** 3 + rng.gauss(0, 0.05)])
    write("polynomial.csv", ["x", "y"], rows)


def rings(rng):
    # Two noisy concentric rings (radius 1 → class 0, radius 2.2 → class 1): not linearly
    # separable, so it needs the hidden layer.
    rows = []
    for i in range(400):
        label = i % 2
        r = (1.0 if label == 0 else 2.2) + rng.gauss(0, 0.25)
        t = rng.uniform(0, 2 * math.pi)
        rows.append([r * math.cos(t), r * math.sin(t), float(label)])
    write("rings.csv", ["x1", "x2", "y"], rows)


def main():
    os.makedirs(OUT, exist_ok=True)
    linear(random.Random(1))
    logistic(random.Random(2))
    blobs(random.Random(3))
    polynomial(random.Random(4))
    rings(random.Random(5))


if __name__ == "__main__":
    main()
