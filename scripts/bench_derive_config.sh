#!/usr/bin/env bash
# Times `descent derive CONFIG` end to end (reading the config, lowering, stabilize, derive,
# simplify and printing every gradient) on generated configs: a minimize config whose cost is a
# family's expression of about N nodes over the parameters x0..x19 (written by
# descent_bench_derive --write-config; the random_tree family by default). Builds descent and
# the benchmark in Release (build-bench/, as scripts/bench_derive.sh does; BUILD_DIR overrides
# it, and is configured the same way: tests and CUDA off, so give it a folder of its own). With
# DESCENT set, that descent is timed; the benchmark still comes from the build folder.
#   scripts/bench_derive_config.sh                                  # random_tree, 10k and 100k
#   scripts/bench_derive_config.sh --families random_tree,scalar_mix --sizes 1000,10000 --reps 5
# Prints, for each case, the wall time of the fastest of --reps runs (default 3), the size of
# what was printed and the time per node. Timings are this machine's; nothing here asserts them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
families="random_tree"
sizes="10000,100000"
reps=3
seed=20240607
while [[ $# -gt 0 ]]; do
  case "$1" in
    --families) families="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: $0 [--families F,...] [--sizes N,...] [--reps R] [--seed S]" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_BENCH=ON \
  -DDESCENT_TESTS=OFF -DDESCENT_CUDA=OFF -DDESCENT_WERROR=ON >/dev/null
ninja -C "$build" descent_bench_derive descent >/dev/null
descent="${DESCENT:-$build/host/cli/descent}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

printf '%-12s %8s %12s %12s %10s %12s\n' family nodes "config B" "printed B" "seconds" "us/node"
IFS=, read -r -a family_list <<<"$families"
IFS=, read -r -a size_list <<<"$sizes"
for family in "${family_list[@]}"; do
  for size in "${size_list[@]}"; do
    config="$work/$family-$size.toml"
    "$build/bench/descent_bench_derive" --write-config "$config" --families "$family" \
      --sizes "$size" --seed "$seed"
    best=""
    for ((r = 0; r < reps; ++r)); do
      start=$(date +%s%N)
      "$descent" derive "$config" >"$work/out.txt"
      end=$(date +%s%N)
      elapsed=$((end - start))
      if [[ -z "$best" || $elapsed -lt $best ]]; then best=$elapsed; fi
    done
    awk -v f="$family" -v n="$size" -v c="$(wc -c <"$config")" -v p="$(wc -c <"$work/out.txt")" \
      -v ns="$best" 'BEGIN { printf "%-12s %8d %12d %12d %10.3f %12.2f\n", f, n, c, p, ns / 1e9, ns / 1e3 / n }'
  done
done
