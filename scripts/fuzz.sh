#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ (clang, ASan and UBSan, in build-fuzz/) and runs one or
# all of them, each on a fresh copy of its kept seed corpus (fuzz/corpus/TARGET/), for SECONDS.
#
#   scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]   TARGET: expression config csv npy checkpoint
#   scripts/fuzz.sh all SECONDS [libFuzzer flags...]      every target, one after the other
#
# Prints, per target, the executions, the coverage (libFuzzer's cov and ft), the corpus size and
# the verdict. Exits non-zero when a target reports a crash, a leak, a timeout (a hang), an
# out-of-memory, or an ASan/UBSan error; the report is printed and the input that caused it is
# kept under build-fuzz/fuzz-work/TARGET/artifacts/ (add it to the seed corpus once fixed, and
# record one that belongs to someone else's code under fuzz/findings/). The grown corpus stays
# in build-fuzz/fuzz-work/TARGET/corpus/ for inspection; the kept seeds are never modified.
# scripts/install_deps.sh installs clang and libFuzzer (Debian: clang, libclang-rt-14-dev).
set -euo pipefail
cd "$(dirname "$0")/.."

targets=(expression config csv npy checkpoint)
# Inputs longer than this are not tried: every reader is linear, so longer inputs only slow the
# search down (and a purpose-sized input must not be able to exhaust memory or time).
declare -A max_len=([expression]=512 [config]=4096 [csv]=2048 [npy]=2048 [checkpoint]=2048)
build_dir=${DESCENT_FUZZ_BUILD_DIR:-build-fuzz}

usage() {
  echo "usage: scripts/fuzz.sh TARGET|all SECONDS [libFuzzer flags...]" >&2
  echo "targets: ${targets[*]}" >&2
  exit 2
}
(($# >= 2)) || usage
which_targets=$1
seconds=$2
shift 2
[[ $seconds =~ ^[0-9]+$ ]] || usage
if [[ $which_targets == all ]]; then
  selected=("${targets[@]}")
else
  [[ -n ${max_len[$which_targets]:-} ]] || usage
  selected=("$which_targets")
fi

bash scripts/install_deps.sh

if ! grep -q '^DESCENT_FUZZ:BOOL=ON' "$build_dir/CMakeCache.txt" 2>/dev/null; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDESCENT_FUZZ=ON -DDESCENT_TESTS=OFF -DDESCENT_BENCH=OFF \
    -DDESCENT_CUDA=OFF -DDESCENT_NATIVE=OFF >/dev/null
fi
build_targets=()
for t in "${selected[@]}"; do build_targets+=("fuzz_$t"); done
cmake --build "$build_dir" --parallel "$(nproc)" --target "${build_targets[@]}"

# ASan: report leaks, keep going on nothing; UBSan: print the stack of a report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
summary=()
for t in "${selected[@]}"; do
  work="$build_dir/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if [[ -d fuzz/corpus/$t ]]; then cp -R "fuzz/corpus/$t/." "$work/corpus/"; fi
  binary="$build_dir/fuzz/fuzz_$t"
  if [[ $t == checkpoint ]]; then
    DESCENT_FUZZ_WRITE_SEEDS="$work/corpus" "$binary"  # the format's seeds, written fresh
  fi
  flags=(-max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=25 -rss_limit_mb=2048
         -print_final_stats=1 -artifact_prefix="$work/artifacts/")
  if [[ -f fuzz/$t.dict ]]; then flags+=(-dict="fuzz/$t.dict"); fi
  seeds=$(find "$work/corpus" -type f | wc -l)
  echo "fuzz: $t for ${seconds}s from $seeds seeds"
  set +e
  "$binary" "${flags[@]}" "$@" "$work/corpus" >"$work/fuzz.log" 2>&1
  rc=$?
  set -e
  executions=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/fuzz.log" | tail -1 |
    awk '{print $2}' || true)
  progress=$(grep -E '^#[0-9]+.*cov: ' "$work/fuzz.log" | tail -1 || true)
  # Fork mode (-fork=N) prints no final stats: its last progress line counts the executions.
  executions=${executions:-$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$progress")}
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$progress")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$progress")
  corpus=$(find "$work/corpus" -type f | wc -l)
  verdict=ok
  if ((rc != 0)) || grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:|ERROR: libFuzzer' "$work/fuzz.log"; then
    verdict="FAILED (exit $rc)"
    failed+=("$t")
    echo "fuzz: $t failed; the report (full log: $work/fuzz.log):"
    grep -E -A40 'ERROR:|runtime error:|descent-fuzz:|==[0-9]+== ' "$work/fuzz.log" | head -80 || true
    echo "fuzz: inputs kept:"
    ls -1 "$work/artifacts"
  fi
  summary+=("$(printf '%-11s executions %-10s cov %-6s ft %-7s corpus %-6s %s' "$t" \
    "${executions:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$verdict")")
done

echo "fuzz: ${seconds}s per target"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
