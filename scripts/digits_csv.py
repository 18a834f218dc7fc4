#!/usr/bin/env python3
"""Writes configs/data/digits.csv from the copy of the UCI optical digits that scikit-learn ships
(sklearn/datasets/data/digits.csv.gz: 1,797 rows of 64 pixel counts 0..16, then the digit), with
the header that descent's CSV reader needs: p00..p77 (pixel row, column) and digit.

A one-time conversion, not a build step; the CSV is kept in the repository. To redo it:
  pip download scikit-learn --no-deps -d /tmp/skl
  python3 scripts/digits_csv.py /tmp/skl/scikit_learn-*.whl
(a path to digits.csv.gz itself works too). Source and license: configs/data/README.md.
Python standard library only.
"""
import gzip
import io
import os
import sys
import zipfile

MEMBER = "sklearn/datasets/data/digits.csv.gz"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "configs", "data",
                   "digits.csv")


def read_gz(path):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as wheel:
            return gzip.decompress(wheel.read(MEMBER)).decode("ascii")
    with gzip.open(path, "rt", encoding="ascii") as f:
        return f.read()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: digits_csv.py SCIKIT_LEARN_WHEEL|digits.csv.gz")
    header = [f"p{r}{c}" for r in range(8) for c in range(8)] + ["digit"]
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    rows = 0
    for line in read_gz(sys.argv[1]).splitlines():
        if not line.strip():
            continue
        values = [int(float(v)) for v in line.split(",")]
        if len(values) != 65 or not all(0 <= v <= 16 for v in values[:64]) or not 0 <= values[64] <= 9:
            sys.exit(f"unexpected row {rows + 1}: {line[:60]}")
        out.write(",".join(map(str, values)) + "\n")
        rows += 1
    with open(OUT, "w", newline="\n") as f:
        f.write(out.getvalue())
    print(f"wrote {os.path.normpath(OUT)} ({rows} rows)")


if __name__ == "__main__":
    main()
