#!/usr/bin/env bash
# The GPU machine's check (issue 8), one script that people and the device tool both run:
#   here:   bash scripts/stage_deps.sh      (third-party headers into .deps/; carry it along)
#   there:  OUT=DIR bash scripts/gpu_check.sh
# Steps, each time-boxed so that the whole fits in 8 minutes on the GPU machine (16 cores):
#   1. the card and the driver (nvidia-smi)
#   2. build descent and the test binary with every core against .deps/ (-DDESCENT_CUDA=ON)
#   3. ctest; on a machine with a GPU a skipped test fails the check (listed), except those
#      that skip by design in a CUDA build; each GPU test's worst error goes into the summary
#   4. descent check CONFIG --device gpu --precision f32|f64 on every example config, with its
#      own plan and with --plan batched; the configs of tests/gpu_refused_configs.txt with
#      --plan fused must be refused instead (exit 2, naming the parameter listed there)
#   5. descent train CONFIG --device gpu --precision f32|f64 on every example config, the final
#      loss beside a CPU run's (convex configs: within 1e-10 relative in f64, 1e-4 in f32), and
#      the f32 run twice: params.json must be the same bytes
#   6. timing: logistic regression, N = 1M rows, d = 32, full batch and B = 1024, on the GPU
#      (f32, f64), on the CPU, and in PyTorch on the GPU (scripts/bench_gpu.py)
#   7. the matrix benchmark (scripts/bench_matrix_gpu.sh: a 784-256-10 MLP with each plan,
#      against PyTorch eager and torch.compile)
#   8. a profile (ncu, where it is installed) of the kernels of step 6's full-batch f32 step, and
#      the emitted kernels' sources as $OUT/kernels.tgz; informative, not part of the verdict
# GPU_CHECK_STEPS="3 5" runs only those steps after the build (and builds the tests only with
# step 3); GPU_CHECK_TESTS=REGEX gives step 3 a ctest -R pattern: a rerun after a fix.
# Without a GPU it runs end to end too: the GPU tests skip for no GPU, the GPU commands exit 5,
# and neither counts as a failure there. Writes $OUT/summary.txt (the verdict last), build.log,
# ctest.log, runs.log, ncu.txt and kernels.tgz. Exit status 0 when everything passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
start=$(date +%s)
cores=$(nproc)
# Time boxes (seconds; GPU_CHECK_BUDGET_S and GPU_CHECK_BUILD_S override them): 450 for the
# whole and 300 for the build on the GPU machine; a small machine (under 8 cores: a development
# machine) builds far slower, and gets 2400 and 1800.
small=$([[ $cores -ge 8 ]] || echo 1)
budget=${GPU_CHECK_BUDGET_S:-$([[ -z $small ]] && echo 450 || echo 2400)}
build_limit=${GPU_CHECK_BUILD_S:-$([[ -z $small ]] && echo 300 || echo 1800)}
out="${OUT:-/tmp/descent-gpu-check}"
mkdir -p "$out"
summary="$out/summary.txt" build_log="$out/build.log" ctest_log="$out/ctest.log"
runs_log="$out/runs.log"
: >"$summary"
: >"$runs_log"
build="build-gpu"
descent="$build/host/cli/descent"
last="$build/last-run.log"  # one command's output, before it joins runs.log
runs="$build/runs"           # the training runs of steps 5 to 8
data="$build/bench-data"     # step 6's data set and configs (step 8 profiles one)
# The steps after the build (GPU_CHECK_STEPS, all by default) and step 3's ctest -R pattern.
steps=" ${GPU_CHECK_STEPS:-3 4 5 6 7 8} "
tests_pattern=${GPU_CHECK_TESTS:-}
want() { [[ $steps == *" $1 "* ]]; }
rm -rf "$runs"
export DESCENT_CACHE_DIR="$PWD/$build/kernel-cache"
export PATH="$PATH:/usr/local/cuda/bin"
failures=()
convex=" linear logistic softmax quickstart "
by_design_skips=" Nvrtc.WithoutCudaCompilingIsANoDeviceError "  # tests the build without CUDA
# Tests of what descent does on a machine without a GPU skip where there is one.
without_gpu_skips=" Check.WithoutAGpuTheGpuCheckIsExitFive DeviceChoice.AutoTrainsOnTheCpuAndSaysWhyWithoutAGpu "

note() { echo "$*" | tee -a "$summary"; }
# The parameter that the GPU's refusal of configs/NAME.toml names, or nothing when the GPU must
# take it (tests/gpu_refused_configs.txt).
refused_param() { awk -v c="$1.toml" '$1 == c { print $2 }' tests/gpu_refused_configs.txt; }
# expect_refusal WHAT NAME RC: on a GPU, a refused config must exit 2 naming its parameter.
expect_refusal() {
  local param
  param=$(refused_param "$2")
  if [[ $3 == 2 ]] && grep -q "'$param'" "$last"; then
    note "$1: refused as expected, naming '$param' (its own plan is batched)"
  else
    fail "$1: exit $3, expected the refusal (exit 2) naming '$param'"
  fi
}
fail() {
  failures+=("$1")
  note "FAIL: $1"
}
left() { echo $((budget - ($(date +%s) - start))); }
# boxed SECONDS CMD...: CMD under a time limit of SECONDS or what is left of the budget; 124 when
# it ran out, 125 when no time was left to start it.
boxed() {
  local limit=$1 remaining
  shift
  remaining=$(left)
  ((remaining < limit)) && limit=$remaining
  ((limit < 5)) && return 125
  timeout --kill-after=5 "$limit" "$@"
}
# The last row's value of a column of a run's metrics.csv.
metric() {
  awk -F, -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) c = i; next }
                        { v = $c } END { print v }' "$1/metrics.csv" 2>/dev/null
}
finish() {
  note "== verdict ($(($(date +%s) - start)) s, budget ${budget} s)"
  if ((${#failures[@]} == 0)); then
    note "RESULT: PASS${has_gpu:+ on $gpu_name}"
    exit 0
  fi
  note "RESULT: FAIL (${#failures[@]}):"
  printf '  %s\n' "${failures[@]}" | tee -a "$summary"
  exit 1
}

note "== 1. device"
has_gpu=""
gpu_name=""
if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
  has_gpu=1
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)
  nvidia-smi --query-gpu=index,name,driver_version,compute_cap,memory.total \
    --format=csv 2>&1 | tee -a "$summary"
elif command -v nvidia-smi >/dev/null; then
  note "no GPU: nvidia-smi says: $(nvidia-smi -L 2>&1 | head -1)"
else
  note "no GPU: nvidia-smi is not installed"
fi
note "cores: $cores; nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo none)"

note "== 2. build"
if [[ ! -d .deps/include ]]; then
  fail "no .deps/: run scripts/stage_deps.sh first and carry .deps"
  finish
fi
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
t0=$(date +%s)
if boxed 120 cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DDESCENT_CUDA=ON -DDESCENT_DEPS_DIR="$PWD/.deps" -DDESCENT_BENCH=OFF >"$build_log" 2>&1 &&
  boxed "$build_limit" cmake --build "$build" --parallel "$cores" \
    --target descent $(want 3 && echo descent_tests) >>"$build_log" 2>&1; then
  note "build ok ($(($(date +%s) - t0)) s)"
else
  fail "build (exit $?; see build.log)"
  tail -25 "$build_log" >>"$summary"
  finish
fi

if want 3; then
  note "== 3. tests"
  t0=$(date +%s)
  boxed 240 ctest --test-dir "$build" -V -j "$cores" --timeout 200 \
    ${tests_pattern:+-R "$tests_pattern"} >"$ctest_log" 2>&1
  rc=$?
  note "ctest exit $rc ($(($(date +%s) - t0)) s): $(grep -E 'tests passed' "$ctest_log" | tail -1)"
  ((rc != 0)) && fail "ctest exit $rc$( ((rc == 124 || rc == 125)) && echo ': out of time')"
  grep -E '^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)' "$ctest_log" |
    sed -E 's/^\s+[0-9]+ - //; s/  # GetParam.*\(/ (/' | while read -r line; do echo "  failed: $line"; done |
    tee -a "$summary"
  mapfile -t skipped < <(grep -E '^\s+[0-9]+ - .*\(Skipped\)' "$ctest_log" |
    sed -E 's/^\s+[0-9]+ - //; s/  # GetParam.*//; s/ \(Skipped\)$//')
  gpu_skipped=0
  for name in "${skipped[@]}"; do
    if [[ $by_design_skips == *" $name "* ]]; then
      note "  skipped by design in a CUDA build: $name"
    elif [[ -n $has_gpu && $without_gpu_skips == *" $name "* ]]; then
      note "  skipped by design on a machine with a GPU: $name"
    elif [[ -n $has_gpu ]]; then
      fail "skipped on a machine with a GPU: $name"
    elif [[ $name == Gpu* ]]; then
      gpu_skipped=$((gpu_skipped + 1))
    else
      note "  skipped: $name"
    fi
  done
  ((gpu_skipped > 0)) && note "  $gpu_skipped GPU tests skipped for no GPU"
  # Every GPU test's worst error as a fraction of its tolerance (ctest -V prefixes output lines
  # with the test's number).
  awk '/^ +Start +[0-9]+: Gpu/ { n = $2; sub(":", "", n); name[n] = $3 }
       /^[0-9]+:   worst error:/ { n = $1; sub(":", "", n); if (n in name) {
         sub(/^[0-9]+:   worst error: /, ""); print "  " name[n] ": " $0 } }' "$ctest_log" |
    sort | tee -a "$summary"
fi

if want 4; then
  note "== 4. descent check --device gpu"
  have_check=1
  if ! "$descent" --help 2>/dev/null | grep -qE '^\s+check\b'; then
    have_check=""
    note "(this descent lists no 'check' command; the runs below report what it says)"
  fi
  for config in configs/*.toml; do
    name=$(basename "$config" .toml)
    for plan in own batched fused; do
      # --plan fused only where it must be refused; the others everywhere.
      [[ $plan == fused && -z $(refused_param "$name") ]] && continue
      plan_args=()
      [[ $plan != own ]] && plan_args=(--plan "$plan")
      for precision in f32 f64; do
        what="check $name $plan $precision"
        boxed 60 "$descent" check "$config" --device gpu --precision "$precision" \
          "${plan_args[@]}" >"$last" 2>&1
        rc=$?
        { echo "### $what: exit $rc"; cat "$last"; } >>"$runs_log"
        if [[ -n $has_gpu && $plan == fused ]]; then
          expect_refusal "$what" "$name" "$rc"
        elif ((rc == 0)); then
          note "$what: ok ($(grep -m1 -o 'plan [^)]*' "$last"))"
        elif [[ -z $has_gpu && $rc == 5 ]]; then
          note "$what: exit 5, no GPU"
        elif [[ -z $have_check ]]; then
          note "$what: exit $rc: $(grep -m1 . "$last" | cut -c1-100)"
        else
          fail "$what: exit $rc: $(grep -m1 -iE 'error|required|fail' "$last" | cut -c1-120)"
        fi
      done
    done
  done

  [[ -z $have_check ]] && fail "descent check: not a command of this descent"
fi

if want 5; then
  note "== 5. descent train --device gpu (final loss beside the CPU run's)"
  for config in configs/*.toml; do
    name=$(basename "$config" .toml)
    echo "### train $name cpu" >>"$runs_log"
    boxed 120 "$descent" train "$config" --device cpu --quiet --out "$runs/$name-cpu" >>"$runs_log" 2>&1 ||
      fail "train $name on the CPU: exit $?"
    cpu_loss=$(metric "$runs/$name-cpu" loss)
    for precision in f32 f64; do
      run="$runs/$name-gpu-$precision"
      echo "### train $name gpu $precision" >>"$runs_log"
      boxed 120 "$descent" train "$config" --device gpu --precision "$precision" --quiet \
        --out "$run" >"$last" 2>&1
      rc=$?
      cat "$last" >>"$runs_log"
      if [[ -z $has_gpu && $rc == 5 ]]; then
        note "train $name $precision: exit 5, no GPU"
        continue
      elif ((rc != 0)); then
        fail "train $name $precision: exit $rc"
        continue
      fi
      loss=$(metric "$run" loss)
      limit=$([[ $precision == f64 ]] && echo 1e-10 || echo 1e-4)
      verdict=$(awk -v a="$loss" -v b="$cpu_loss" -v l="$limit" -v convex="$([[ $convex == *" $name "* ]] && echo 1)" \
        'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b; r = m > 0 ? d / m : d;
                 printf "%.3g %s", r, (convex && !(r <= l)) ? "over" : "ok" }')
      note "train $name $precision: final loss $loss, CPU $cpu_loss, relative difference ${verdict% *}"
      [[ ${verdict#* } == over ]] && fail "train $name $precision: final loss off the CPU's by more than $limit"
      if [[ $precision == f32 ]]; then
        boxed 120 "$descent" train "$config" --device gpu --precision f32 --quiet \
          --out "$run-again" >>"$runs_log" 2>&1
        if cmp -s "$run/params.json" "$run-again/params.json"; then
          note "train $name f32 twice: params.json identical"
        else
          fail "train $name f32 twice: params.json differs"
        fi
      fi
    done
  done
fi

python=""
if want 6; then
  note "== 6. timing: logistic regression, N = 1M, d = 32 (lr 0.5, momentum 0.9)"
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import numpy' 2>/dev/null; then
      python=$candidate
      break
    fi
  done
  # Without numpy only this step is skipped: the matrix benchmark looks for its own python, and
  # the emitted sources still come back.
  [[ -n $python ]] || note "timing skipped: no python3 with numpy"
fi

if want 6 && [[ -n $python ]]; then
  boxed 90 "$python" scripts/bench_gpu.py data "$data" --rows 1000000 --dim 32 >>"$runs_log" 2>&1 ||
    fail "timing: the data could not be made"
  for mode in full mini; do
    {
      echo "[experiment]"
      echo "name = \"bench_$mode\""
      echo "[data]"
      echo 'npy = { x = "X.npy", y = "y.npy" }'
      echo "[params]"
      echo 'w = { shape = [32], init = "zeros" }'
      echo 'b = { init = "zeros" }'
      echo "[model]"
      echo 'z = "dot(w, x) + b"'
      echo "[cost]"
      echo 'loss = "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"'
      echo "[train]"
      echo 'optimizer = "momentum"'
      echo "lr = 0.5"
      echo "momentum = 0.9"
      # One checkpoint, at the end: the PyTorch loop it is timed against writes none, and the
      # default (every total/20 steps: 25 synced writes here) took 39 of 45 ms of a 1000-row run
      # on a development machine.
      [[ $mode == full ]] && echo -e "steps = 50\nbatch_size = 0\ncheckpoint_every = 50" || echo -e "epochs = 1\nbatch_size = 1024"
    } >"$data/$mode.toml"
    for device in gpu:f32 gpu:f64 cpu:f64; do
      set -- "${device%:*}" "${device#*:}"
      run="$runs/bench-$mode-$1-$2"
      t0=$(date +%s.%N)
      boxed 120 "$descent" train "$data/$mode.toml" --device "$1" --precision "$2" --quiet \
        --out "$run" >>"$runs_log" 2>&1
      rc=$?
      seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
      if ((rc != 0)); then
        note "timing $mode $1 $2: exit $rc after $seconds s"
        [[ -n $has_gpu || $1 == cpu ]] && fail "timing $mode $1 $2: exit $rc"
        continue
      fi
      # Rows visited: 50 steps of all 1M rows, or one epoch. The training time is the trainer's
      # (metrics.csv wall_s); the process time adds reading the data and compiling.
      rate=$(awk -v steps="$(metric "$run" step)" -v wall="$(metric "$run" wall_s)" -v mode="$mode" \
        'BEGIN { rows = mode == "full" ? steps * 1e6 : 1e6; printf "%.3g", (wall > 0 ? rows / wall : 0) }')
      note "timing $mode $1 $2: $(metric "$run" step) steps, training" \
        "$(printf '%.3f' "$(metric "$run" wall_s)") s ($rate rows/s), process $seconds s," \
        "loss $(metric "$run" loss)"
    done
  done
  boxed 120 "$python" scripts/bench_gpu.py torch "$data" --steps 50 --batch 1024 2>>"$runs_log" |
    tee -a "$summary"
fi

if want 7; then
  note "== 7. the matrix benchmark: 784-256-10 MLP, B = 1024, f32 (scripts/bench_matrix_gpu.sh)"
  if [[ -n $has_gpu ]]; then
    export DESCENT="$PWD/$descent"
    boxed 150 bash scripts/bench_matrix_gpu.sh --epochs 3 --workdir "$build/bench-matrix" \
      2>>"$runs_log" | tee -a "$summary"
    rc=${PIPESTATUS[0]}
    ((rc == 0)) || fail "the matrix benchmark: exit $rc"
  else
    note "matrix benchmark skipped: no GPU"
  fi
fi

if want 8; then
  note "== 8. profile: one launch of each kernel of the full-batch f32 step (ncu), the emitted sources"
  ncu=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
  if [[ -n $has_gpu && -n $ncu && -f $data/full.toml ]]; then
    # Kernel durations and how busy the memory and the multiprocessors were (the clocks left as
    # they are). Only what ncu says comes back: the verdict does not depend on it.
    boxed 90 "$ncu" --clock-control none --launch-skip 8 --launch-count 4 \
      --section SpeedOfLight --section LaunchStats --section Occupancy \
      "$descent" train "$data/full.toml" --device gpu --precision f32 --quiet \
      --out "$runs/profile-full" >"$out/ncu.txt" 2>&1
    note "ncu exit $? ($(grep -c 'Duration' "$out/ncu.txt") kernels measured; ncu.txt):"
    grep -E '^\s+[a-z_0-9]+_(first|rows|update|seg[0-9]+|finish)\b|Duration|Memory Throughput|Compute \(SM\) Throughput|Registers Per|Achieved Occupancy|Grid Size|Block Size' \
      "$out/ncu.txt" | head -60 | tee -a "$summary"
  else
    note "profile skipped (GPU: ${has_gpu:-none}; ncu: ${ncu:-none})"
  fi
  # The emitted kernels' sources and NVRTC's logs of this check's compiles, for reading afterwards.
  tar czf "$out/kernels.tgz" -C "$build" kernel-cache 2>/dev/null || true
fi

finish
