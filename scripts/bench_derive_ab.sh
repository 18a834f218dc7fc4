#!/usr/bin/env bash
# Compares the symbolic engine at two revisions, the way an engine change is judged: builds
# descent_bench_derive at each (Release, tests and CUDA off, in folders of their own under
# build-ab/; AB_DIR overrides it), checks that both build node-for-node the same graphs (the
# digests of every family at 1k and 10k, and of the timed families at the larger timed size),
# then runs the two benchmarks in turn, --runs times each, A first in one round and B first in
# the next, so that a shared machine's slow spells fall on both alike. A single run of each
# says little on such a machine: the same binary's per-node ratio has been seen to move by 0.3
# within an hour.
#   scripts/bench_derive_ab.sh main WORKTREE
#   scripts/bench_derive_ab.sh 2dd5fc9 HEAD --runs 6 --families scalar_mix,random_tree
# Each benchmark runs with its own defaults: one from before --heap existed runs every rep on
# the heap the reps before left (see the benchmark's --help), one from after on a fresh heap,
# and both the times and the ratio of the totals move with that alone (the ratio by 0.05 to
# 0.2): a pair from either side of that change does not compare.
# WORKTREE stands for the working tree as it is, uncommitted changes included. A revision's
# benchmark must know --digests, --clock cpu and --rounds and print the ratio of the fastest
# reps (83220e5 and later); the digests compare only while the benchmark's Digest and its
# generated expressions are the same at both revisions.
# Prints each run's total times at the two sizes (thread CPU time, median of the run's reps)
# and the time per node at the larger size against the smaller, as the median of the rounds'
# ratios and as the ratio of each size's fastest rep ('-' where a run timed no rep), then the
# median of each revision's runs. Exits 3 when the graphs differ (a change meant only to be
# faster must build the same nodes in the same order), 2 on a bad argument or a revision whose
# benchmark lacks what is needed (the family names are the benchmark's to check: its digest run,
# right after the builds, rejects an unknown one), 1 when a build or a benchmark fails. Timings
# are this machine's; nothing here asserts them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${AB_DIR:-$root/build-ab}"
runs=4
families="scalar_mix,polynomial,mlp,random_tree"
sizes="10000,100000"
budget=1.5
usage="usage: $0 REV_A REV_B [--runs N] [--families F,...] [--sizes SMALL,LARGE] [--budget S]"
[[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
rev_a="$1"
rev_b="$2"
shift 2
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || { echo "$usage" >&2; exit 2; }
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --families) families="$2"; shift 2 ;;
    --sizes) sizes="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    *) echo "$usage" >&2; exit 2 ;;
  esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then echo "$0: --runs must be a whole number >= 1" >&2; exit 2; fi
if ! [[ "$sizes" =~ ^[1-9][0-9]*,[1-9][0-9]*$ ]] || ((${sizes%,*} >= ${sizes#*,})); then
  echo "$0: --sizes takes two sizes, SMALL,LARGE, the smaller first" >&2
  exit 2
fi
if ! [[ "$budget" =~ ^[0-9]+(\.[0-9]+)?$ ]]; then echo "$0: --budget takes seconds" >&2; exit 2; fi

# Builds the benchmark of revision $1 into $work/bench-$2.
build_rev() {
  local rev="$1" tag="$2" src
  local build="$work/build-$tag-rev"
  if [[ "$rev" == WORKTREE ]]; then
    src="$root"
    build="$work/build-$tag-worktree"  # a CMake build folder keeps to one source folder
  else
    local commit
    if ! commit="$(git -C "$root" rev-parse --verify --quiet "$rev^{commit}")"; then
      echo "$0: no such revision: $rev" >&2
      exit 2
    fi
    src="$work/src-$tag"
    rm -rf "$src"
    mkdir -p "$src"
    git -C "$root" archive "$commit" | tar -x -C "$src"
  fi
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDESCENT_BENCH=ON \
    -DDESCENT_TESTS=OFF -DDESCENT_CUDA=OFF >/dev/null
  ninja -C "$build" descent_bench_derive >/dev/null
  cp "$build/bench/descent_bench_derive" "$work/bench-$tag"
  local help
  help="$("$work/bench-$tag" --help 2>&1 || true)"
  for needed in --digests --rounds "--clock wall|cpu" "fastest reps"; do
    if [[ "$help" != *"$needed"* ]]; then
      echo "$0: the benchmark of $rev lacks '$needed' (use 83220e5 or later)" >&2
      exit 2
    fi
  done
}

mkdir -p "$work"
build_rev "$rev_a" A
build_rev "$rev_b" B

for tag in A B; do
  {
    "$work/bench-$tag" --sizes 1000,10000 --digests --budget 0.05
    "$work/bench-$tag" --families "$families" --sizes "${sizes#*,}" --digests --budget 0.05
  } >"$work/digest-run-$tag"
  awk '/digest /' "$work/digest-run-$tag" >"$work/digests-$tag"
  if [[ ! -s "$work/digests-$tag" ]]; then
    echo "$0: the benchmark of revision $tag printed no digest" >&2
    exit 1
  fi
done
if ! cmp -s "$work/digests-A" "$work/digests-B"; then
  echo "the graphs differ between $rev_a (A) and $rev_b (B):"
  diff "$work/digests-A" "$work/digests-B" || true
  exit 3
fi
echo "graphs: identical ($(wc -l <"$work/digests-A") digests: every family at 1k and 10k, the" \
  "timed ones at ${sizes#*,})"

results="$work/results"
: >"$results"
printf '%-3s %-12s %10s %10s %8s %8s\n' rev family "small ms" "large ms" ratio fastest
for ((i = 0; i < runs; ++i)); do
  order="A B"
  if ((i % 2)); then order="B A"; fi
  for tag in $order; do
    "$work/bench-$tag" --families "$families" --sizes "$sizes" --clock cpu --rounds 3 \
      --budget "$budget" |
      awk -v t="$tag" -v small="${sizes%,*}" -v large="${sizes#*,}" '
        $2 == small && NF > 12 { s[$1] = $NF }
        $2 == large && NF > 12 { l[$1] = $NF }
        # The ratios end the row: "median [low-high], fastest"; a case that timed no rep
        # has the fastest-reps figure alone.
        /->/ {
          ratio = "-"; fastest = "-"
          if (match($0, /[0-9.]+ \[[^]]*\], [0-9.]+$/)) {
            split(substr($0, RSTART, RLENGTH), part, " ")
            ratio = part[1]; fastest = part[3]
          } else if (match($0, /, [0-9.]+$/)) {
            fastest = $NF
          }
          printf "%-3s %-12s %10.2f %10.1f %8s %8s\n", t, $1, s[$1], l[$1], ratio, fastest
        }' |
      tee -a "$results"
  done
done

echo
echo "median of the runs (A = $rev_a, B = $rev_b):"
printf '%-3s %-12s %10s %10s %8s %8s\n' rev family "small ms" "large ms" ratio fastest
sort -k1,1 -k2,2 "$results" | awk '
  function median(list,   n, v, i, j, t) {
    n = split(list, v, " ")
    if (n == 0) return "-"
    for (i = 2; i <= n; ++i)
      for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; --j) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : sprintf("%.3f", (v[n / 2] + v[n / 2 + 1]) / 2)
  }
  {
    key = $1 " " $2
    if (!(key in small)) order[++keys] = key
    small[key] = small[key] " " $3; large[key] = large[key] " " $4
    if ($5 != "-") ratio[key] = ratio[key] " " $5
    if ($6 != "-") fastest[key] = fastest[key] " " $6
  }
  END {
    for (k = 1; k <= keys; ++k) {
      split(order[k], f, " ")
      printf "%-3s %-12s %10.2f %10.1f %8s %8s\n", f[1], f[2], median(small[order[k]]),
        median(large[order[k]]), median(ratio[order[k]]), median(fastest[order[k]])
    }
  }'
