// The launch structure of a training step on the GPU (DESIGN §5), written once for the device
// and once for the host, with the same names side by side: the emitted kernels (codegen/emit.hpp)
// call the device bodies, and the host executor (codegen/host_executor.hpp) calls the host
// twins, which add every number in exactly the device's order. So the host executor, which runs
// on machines without a GPU (CI), checks the kernels' arithmetic and reduction order, and the
// GPU only confirms.
//
// A step program P (emitted) provides:
//   P::Real, P::kTotals (values the rows add: the sink's), P::kWarps (warps per block),
//   P::kTraining, P::kBegin = 0 and P::kEnd = kTotals (the sink values its sample adds)
//   P::first(tid, nthreads, s)      phase 1 (uniform values into s.uniforms), block-parallel
//   P::sample(r, valid, s, sink)    phase 2 for row r: every total's value, sink.add(k, v) once
//                                   for each k in increasing order; per-sample outputs when valid
//   P::finish_total(k, sum, rows)   sink value k after the sum over every row (a mean divides)
//   P::total_place(k)               where sink value k lies in s.totals (T)
//   P::finish_batched(tid, n, s)    the totals that matrix products wrote into T (a mean divides)
//   P::last(tid, nthreads, s)       phase 3 and the outputs (gradients, loss), block-parallel
// Kernels of the fused plan, each launched on a stream in this order:
//   first  <<<1, 32*P::kWarps>>>             only when P has phase-1 values
//   rows   <<<row_blocks(rows), 32*kWarps>>> every row; warp w of block b takes rows
//          (b*kWarps + w)*32 + lane, then every gridDim*kWarps*32 further; each total's values of
//          a warp's 32 rows are added by a butterfly over the lanes (fixed order), into that
//          warp's accumulator in shared memory; the block adds its warps in order into
//          partials[b]; the last block to finish (an atomic ticket) adds the blocks' partials in
//          block order, runs phase 3, the gradient norm, the clip scale and the divergence guard.
//   update <<<update_blocks(n), 256>>>       every packed parameter through optim/update_rules.
// A batched plan (plan/step_plan.hpp: products of a shared matrix with per-sample vectors) cuts
// phase 2 into segments at its matrix products. Segment S_i (emitted; S::kBegin..S::kEnd are the
// sink values it adds) is a rows kernel without the last block's finish; between segments the
// backend runs the matrix products over every row of the batch (cuBLAS on the GPU), which read
// and write per-row values in s.rowbuf (element-major: element e of row r of the value in slot
// `slot` at rowbuf[(slot + e)*rows + r], so that a warp's rows are consecutive addresses):
//   first; segment_0, products, segment_1, products, ...; the outer totals' products into T;
//   finish <<<1, 32*P::kWarps>>> (the partials, phase 3, the guard, as the last block does);
//   update.
// The launch shape depends on the row count and the program only, never on the card, so the
// bits of every sum do not change between GPUs.
//
// Free of the standard library: NVRTC compiles it as a named header.
#pragma once

#include "common/host_device.hpp"
#include "optim/update_rules.hpp"

namespace descent::launch {

inline constexpr int kWarp = 32;
inline constexpr long long kMaxRowBlocks = 1024;  // more rows: each warp takes more of them
inline constexpr int kUpdateThreads = 256;
inline constexpr long long kMaxUpdateBlocks = 1024;

// Blocks of the rows kernel for `rows` rows and `threads` threads a block: one row a thread,
// at most kMaxRowBlocks.
DESCENT_HD constexpr long long row_blocks(long long rows, int threads) {
  const long long blocks = (rows + threads - 1) / threads;
  return blocks < 1 ? 1 : (blocks > kMaxRowBlocks ? kMaxRowBlocks : blocks);
}

DESCENT_HD constexpr long long update_blocks(long long values) {
  const long long blocks = (values + kUpdateThreads - 1) / kUpdateThreads;
  return blocks < 1 ? 1 : (blocks > kMaxUpdateBlocks ? kMaxUpdateBlocks : blocks);
}

// The small values a step leaves for the host, in StepBuffers::scalars.
enum Scalar { kReported = 0, kObjective = 1, kGradNorm = 2, kClipScale = 3, kScalarCount = 4 };

// Everything a step's kernels read and write (device pointers), passed by value to each launch.
template <class Real>
struct StepBuffers {
  const Real* const* inputs;  // by program input: the split's rows, row-major
  const long long* order;     // the epoch order (row r is order[first + r]), or null (first + r)
  long long first;            // the batch's first row
  long long rows;             // rows in the batch (≥ 1)
  Real* params;               // every parameter, packed (emit.hpp: ParamLayout)
  const Real* constants;      // every tensor constant, packed (emit.hpp: ConstantLayout), or null
  const Real* lower;          // bounded runs: each parameter value's lower bound, packed like
  const Real* upper;          //   params (-inf/inf where open); null when no parameter has bounds
  long long values;           // how many: the packed size of params and grads
  Real* grads;                // their gradients, packed the same way
  Real* state0;               // optimizer slot 0, packed, or null
  Real* state1;               // optimizer slot 1, packed, or null
  Real* uniforms;             // phase-1 values (U)
  Real* lasts;                // phase-3 values (L)
  Real* partials;             // row_blocks × kTotals
  Real* totals;               // kTotals (T)
  Real* rowbuf;               // a batched plan's per-row values (see above), or null
  Real* scalars;              // kScalarCount: Scalar
  unsigned int* blocks_done;  // the last-block ticket; 0 between launches
  long long* diverged;        // sticky: the step number of the first non-finite step, 0: none
  long long step;             // this step's number (1-based); 0: no guard (an evaluation)
  Real clip_norm;             // clip the gradient norm to this; 0: off
};

// True for a finite value (false for inf and NaN), with IEEE arithmetic alone.
template <class Real>
DESCENT_HD inline bool finite(Real x) {
  return x - x == Real(0);
}

// After phase 3 of a training step: the gradient norm of `sum_sq`, the clip scale, and the
// guard (the first non-finite step is recorded; the update kernel then changes nothing).
template <class Real>
DESCENT_HD inline void guard_step(Real sum_sq, const StepBuffers<Real>& s) {
  using descent::rules_detail::square_root;
  const Real norm = square_root(sum_sq);
  s.scalars[kGradNorm] = norm;
  s.scalars[kClipScale] =
      s.clip_norm > Real(0) && norm > s.clip_norm ? s.clip_norm / norm : Real(1);
  if (s.step > 0 && *s.diverged == 0 && !(finite(s.scalars[kReported]) && finite(norm)))
    *s.diverged = s.step;
}

// One parameter value's update (the update kernel's body): the clip scale, the rule, then the
// projection into the value's bounds when the run has any (projected gradient descent). The
// values are copied into locals and back (no reference to a local: that would need a stack).
template <class Real>
DESCENT_HD inline void update_value(long long i, const StepBuffers<Real>& s,
                                    const UpdateCoefficients<Real>& c) {
  Real p = s.params[i];
  Real s0 = s.state0 ? s.state0[i] : Real(0);
  Real s1 = s.state1 ? s.state1[i] : Real(0);
  update_element(c, p, s.grads[i] * s.scalars[kClipScale], s0, s1);
  if (s.lower) p = project_into(p, s.lower[i], s.upper[i]);
  s.params[i] = p;
  if (s.state0) s.state0[i] = s0;
  if (s.state1) s.state1[i] = s1;
}

#if DESCENT_DEVICE_CODE
// ---------------------------------------------------------------------------------------------
// Device

template <class Real>
__device__ inline Real butterfly_sum(Real v) {
  for (int m = kWarp / 2; m >= 1; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
  return v;
}

// Where a warp's rows add their totals: every lane gets the 32 values' butterfly sum; lane 0
// adds it to the warp's accumulator. Lanes past the last row add 0.
template <class Real>
struct WarpSink {
  Real* acc;
  int lane;
  bool valid;
  __device__ void add(int k, Real v) {
    v = butterfly_sum(valid ? v : Real(0));
    if (lane == 0) acc[k] += v;
  }
};

template <class P>
__device__ void first_kernel(const StepBuffers<typename P::Real>& s) {
  P::first(threadIdx.x, blockDim.x, s);
}

// The last block: every total from the blocks' partials (in block order), phase 3, then the
// guard of a training step.
template <class P>
__device__ void finish_step(long long blocks, const StepBuffers<typename P::Real>& s) {
  using Real = typename P::Real;
  const int tid = threadIdx.x;
  for (int k = tid; k < P::kTotals; k += blockDim.x) {
    Real sum = Real(0);
    for (long long b = 0; b < blocks; ++b) sum += __ldcg(&s.partials[b * P::kTotals + k]);
    s.totals[P::total_place(k)] = P::finish_total(k, sum, Real(s.rows));
  }
  P::finish_batched(tid, blockDim.x, s);
  __syncthreads();
  P::last(tid, blockDim.x, s);
  __syncthreads();
  if (!P::kTraining) return;
  // The gradient norm: thread t squares values t, t + threads, ...; the warps' butterflies; the
  // warps in order.
  __shared__ Real warp_sums[P::kWarps];
  Real sum_sq = Real(0);
  for (long long i = tid; i < s.values; i += blockDim.x) sum_sq += s.grads[i] * s.grads[i];
  sum_sq = butterfly_sum(sum_sq);
  if (tid % kWarp == 0) warp_sums[tid / kWarp] = sum_sq;
  __syncthreads();
  if (tid == 0) {
    Real total = Real(0);
    for (int w = 0; w < P::kWarps; ++w) total += warp_sums[w];
    guard_step(total, s);
  }
}

// Phase 2 of sink values [S::kBegin, S::kEnd) over every row, into this block's partials.
template <class S>
__device__ void rows_into_partials(const StepBuffers<typename S::Real>& s) {
  using Real = typename S::Real;
  constexpr int kCount = S::kEnd - S::kBegin;
  constexpr int kStored = kCount > 0 ? kCount : 1;
  __shared__ Real acc[S::kWarps * kStored];
  const int tid = threadIdx.x, lane = tid % kWarp, warp = tid / kWarp;
  for (int k = tid; k < S::kWarps * kStored; k += blockDim.x) acc[k] = Real(0);
  __syncthreads();
  WarpSink<Real> sink{acc + warp * kStored, lane, false};
  const long long stride = static_cast<long long>(gridDim.x) * S::kWarps * kWarp;
  for (long long base = (static_cast<long long>(blockIdx.x) * S::kWarps + warp) * kWarp;
       base < s.rows; base += stride) {
    const long long r = base + lane;
    sink.valid = r < s.rows;
    S::sample(sink.valid ? r : s.rows - 1, sink.valid, s, sink);
  }
  __syncthreads();
  for (int k = tid; k < kCount; k += blockDim.x) {
    Real sum = Real(0);
    for (int w = 0; w < S::kWarps; ++w) sum += acc[w * kStored + k];
    s.partials[blockIdx.x * static_cast<long long>(S::kTotals) + S::kBegin + k] = sum;
  }
}

template <class P>
__device__ void rows_kernel(const StepBuffers<typename P::Real>& s) {
  __shared__ bool last_block;
  const int tid = threadIdx.x;
  rows_into_partials<P>(s);
  __threadfence();
  __syncthreads();
  if (tid == 0) last_block = atomicAdd(s.blocks_done, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  finish_step<P>(gridDim.x, s);
  if (tid == 0) *s.blocks_done = 0u;
}

// A batched plan's segment: its rows' sink values into the partials (the finish comes later).
template <class S>
__device__ void segment_kernel(const StepBuffers<typename S::Real>& s) {
  rows_into_partials<S>(s);
}

// A batched plan's finish, one block after every segment and product: what the last block of
// the fused rows kernel does, over the partials of row_blocks(rows) blocks.
template <class P>
__device__ void finish_kernel(const StepBuffers<typename P::Real>& s) {
  finish_step<P>(row_blocks(s.rows, P::kWarps * kWarp), s);
}

template <class Real>
__device__ void update_kernel(const StepBuffers<Real>& s, const UpdateCoefficients<Real>& c,
                              long long values) {
  if (*s.diverged != 0) return;
  for (long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x; i < values;
       i += static_cast<long long>(gridDim.x) * blockDim.x)
    update_value(i, s, c);
}

#define DESCENT_BLOCK_SYNC() __syncthreads()
#else
#define DESCENT_BLOCK_SYNC() static_cast<void>(0)
#endif

}  // namespace descent::launch
