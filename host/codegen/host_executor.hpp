// The host twins of codegen/launch.hpp's kernels (DESIGN §6): the same names, the same order of
// every addition, run one thread at a time on the host over the emitted program compiled as host
// C++. A row block's warps, a warp's 32 lanes and the butterfly between them are spelled out as
// loops, so that every total, partial and norm is added in exactly the device's order; phase 1
// and 3 run with tid = 0 of nthreads = 1, which computes every element with the formula a device
// thread uses for it. On machines without a GPU this is what checks the kernels.
#pragma once

#include <algorithm>
#include <vector>

#include "codegen/launch.hpp"

namespace descent::launch::host {

// The device's butterfly over a warp's 32 values: lane i adds lane i^m's value, for m = 16, 8,
// 4, 2, 1; every lane ends with the same sum, lane 0's is returned.
template <class Real>
Real butterfly_sum(const Real* lanes) {
  Real x[kWarp], y[kWarp];
  for (int i = 0; i < kWarp; ++i) x[i] = lanes[i];
  for (int m = kWarp / 2; m >= 1; m >>= 1) {
    for (int i = 0; i < kWarp; ++i) y[i] = x[i] + x[i ^ m];
    for (int i = 0; i < kWarp; ++i) x[i] = y[i];
  }
  return x[0];
}

// One lane's values of every total for its row (0 past the last row).
template <class Real>
struct LaneSink {
  Real* values;
  bool valid;
  void add(int k, Real v) { values[k] = valid ? v : Real(0); }
};

template <class P>
void first_kernel(const StepBuffers<typename P::Real>& s) {
  P::first(0, 1, s);
}

// The last block's work: totals from the partials in block order, phase 3, the guard.
template <class P>
void finish_step(long long blocks, const StepBuffers<typename P::Real>& s) {
  using Real = typename P::Real;
  for (int k = 0; k < P::kTotals; ++k) {
    Real sum = Real(0);
    for (long long b = 0; b < blocks; ++b) sum += s.partials[b * P::kTotals + k];
    s.totals[P::total_place(k)] = P::finish_total(k, sum, Real(s.rows));
  }
  P::finish_batched(0, 1, s);
  P::last(0, 1, s);
  if (!P::kTraining) return;
  constexpr int kThreads = P::kWarps * kWarp;
  Real thread_sums[kThreads];
  for (int t = 0; t < kThreads; ++t) {
    Real sum_sq = Real(0);
    for (long long i = t; i < s.values; i += kThreads) sum_sq += s.grads[i] * s.grads[i];
    thread_sums[t] = sum_sq;
  }
  Real total = Real(0);
  for (int w = 0; w < P::kWarps; ++w) total += butterfly_sum(thread_sums + w * kWarp);
  guard_step(total, s);
}

// Phase 2 of sink values [S::kBegin, S::kEnd) over every row, into each block's partials.
template <class S>
long long rows_into_partials(const StepBuffers<typename S::Real>& s) {
  using Real = typename S::Real;
  constexpr int kCount = S::kEnd - S::kBegin;
  constexpr int kStored = kCount > 0 ? kCount : 1;
  const long long blocks = row_blocks(s.rows, S::kWarps * kWarp);
  std::vector<Real> acc(S::kWarps * kStored), lanes(kWarp * kStored), column(kWarp);
  const long long stride = blocks * S::kWarps * kWarp;
  for (long long b = 0; b < blocks; ++b) {
    std::fill(acc.begin(), acc.end(), Real(0));
    for (int warp = 0; warp < S::kWarps; ++warp) {
      for (long long base = (b * S::kWarps + warp) * kWarp; base < s.rows; base += stride) {
        for (int lane = 0; lane < kWarp; ++lane) {
          const long long r = base + lane;
          LaneSink<Real> sink{lanes.data() + lane * kStored, r < s.rows};
          S::sample(sink.valid ? r : s.rows - 1, sink.valid, s, sink);
        }
        for (int k = 0; k < kCount; ++k) {
          for (int lane = 0; lane < kWarp; ++lane) column[lane] = lanes[lane * kStored + k];
          acc[warp * kStored + k] += butterfly_sum(column.data());
        }
      }
    }
    for (int k = 0; k < kCount; ++k) {
      Real sum = Real(0);
      for (int w = 0; w < S::kWarps; ++w) sum += acc[w * kStored + k];
      s.partials[b * S::kTotals + S::kBegin + k] = sum;
    }
  }
  return blocks;
}

template <class P>
void rows_kernel(const StepBuffers<typename P::Real>& s) {
  finish_step<P>(rows_into_partials<P>(s), s);
}

template <class S>
void segment_kernel(const StepBuffers<typename S::Real>& s) {
  rows_into_partials<S>(s);
}

template <class P>
void finish_kernel(const StepBuffers<typename P::Real>& s) {
  finish_step<P>(row_blocks(s.rows, P::kWarps * kWarp), s);
}

// C (m × n, row-major, leading dimension ldc) = op(A)·op(B), each element's k products added in
// order from 0: a batched plan's matrix products on the host (the GPU runs cuBLAS, whose order
// of additions is its own: the two agree within the products' error model, not bit for bit).
template <class Real>
void matrix_product(bool ta, bool tb, long long m, long long n, long long k, const Real* a,
                    long long lda, const Real* b, long long ldb, Real* c, long long ldc) {
  for (long long i = 0; i < m; ++i) {
    Real* row = c + i * ldc;
    for (long long j = 0; j < n; ++j) row[j] = Real(0);
    for (long long q = 0; q < k; ++q) {
      const Real x = ta ? a[q * lda + i] : a[i * lda + q];
      if (tb)
        for (long long j = 0; j < n; ++j) row[j] += x * b[j * ldb + q];
      else
        for (long long j = 0; j < n; ++j) row[j] += x * b[q * ldb + j];
    }
  }
}

template <class Real>
void update_kernel(const StepBuffers<Real>& s, const UpdateCoefficients<Real>& c,
                   long long values) {
  if (*s.diverged != 0) return;
  for (long long i = 0; i < values; ++i) update_value(i, s, c);
}

}  // namespace descent::launch::host
