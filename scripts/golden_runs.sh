#!/usr/bin/env bash
# The run outputs of every example config, held against digests kept in tests/golden/:
#   scripts/golden_runs.sh check  [DESCENT]   trains every configs/*.toml on the CPU and fails
#                                             when a digest differs from tests/golden/runs.sha256
#   scripts/golden_runs.sh update [DESCENT]   rewrites tests/golden/runs.sha256 (say why in the
#                                             commit: it is the proof that a change kept results)
# What is compared: params.json, params/*.npy, and metrics.csv / metrics.jsonl without their
# timing columns (samples_per_s, wall_s), which differ from run to run. Every run uses one
# thread (--threads 1), so that the digests do not depend on the machine's cores (a batched
# product's bits depend on its thread count). DESCENT defaults to
# build/host/cli/descent. A ctest (golden_runs) runs `check` on the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-check}"
descent="${2:-build/host/cli/descent}"
golden=tests/golden/runs.sha256
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for config in configs/*.toml; do
  name="$(basename "$config" .toml)"
  "$descent" train "$config" --device cpu --threads 1 --quiet --out "$work/$name" >"$work/$name.log" 2>&1 || {
    echo "golden_runs: descent train $config failed:" >&2
    cat "$work/$name.log" >&2
    exit 1
  }
  # Timing columns out: the CSV's fields 7 and 8 (samples_per_s, wall_s; the [metrics] columns
  # after them stay), the JSON's two keys of the same names.
  cut -d, -f1-6,9- "$work/$name/metrics.csv" >"$work/$name/metrics.csv.untimed"
  sed -E 's/,"samples_per_s":[^,}]*,"wall_s":[^,}]*//' "$work/$name/metrics.jsonl" \
    >"$work/$name/metrics.jsonl.untimed"
done

(cd "$work" && sha256sum -- */params.json */params/*.npy */metrics.csv.untimed \
  */metrics.jsonl.untimed) | LC_ALL=C sort -k2 >"$work/digests"

case "$mode" in
  update)
    mkdir -p "$(dirname "$golden")"
    cp "$work/digests" "$golden"
    echo "golden_runs: wrote $(wc -l <"$golden") digests to $golden"
    ;;
  check)
    if ! diff -u "$golden" "$work/digests"; then
      echo "golden_runs: run outputs differ from $golden (lines marked - are the kept ones)" >&2
      exit 1
    fi
    echo "golden_runs: $(wc -l <"$golden") files byte-identical to $golden"
    ;;
  *)
    echo "usage: scripts/golden_runs.sh check|update [DESCENT]" >&2
    exit 2
    ;;
esac
