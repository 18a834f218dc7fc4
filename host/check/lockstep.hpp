// `descent check` (DESIGN §6): a backend against the oracle (the CPU backend with the reference
// math: the Interpreter's values bit for bit, in f64), from the same parameters on the same
// batches, in lockstep: every checked step starts both from the oracle's state, so that errors
// do not compound. Per step and per tensor it reports the worst element's error as a fraction of
// its tolerance.
//
// Error model. u is the backend precision's unit roundoff (2^-24 in f32, 2^-53 in f64).
//  - The objective and the gradients are functions of batch totals Σ_r t_r over the n rows. A
//    per-sample term t_r goes through at most K = 64 + L roundings of size u, conditioned by at
//    most a small constant (the example programs: sums, products, exp/log/tanh/softmax
//    compositions; CUDA's and vector_math's transcendental functions are within 4 ulp), where L
//    is the longest sum inside a sample (a matrix product's inner dimension: the backend may
//    add it in another order than the oracle, a batched product through BLAS); the backend then
//    adds the n terms along chains of at most D(n) additions (Backend::summation_depth: n for a
//    sequential sum, about log2(32) + n/threads + warps + blocks for the GPU's tree), each adding
//    u * Σ|t|, and the oracle, in f64, along its own chains (a sequential sum: n). Phase 3
//    combines totals with coefficients of order one (C = 8). So element i of an output may be
//    off by  C * (K + D(n) + D_oracle(n) * u_f64/u) * u * (|ref_i| + S), where S is the largest
//    Σ|t_r| (mean |t_r| for a mean) among the totals the output reads, and, for a per-sample
//    output (minimize mode's gradients), the largest magnitude of the per-sample values it is
//    computed from (cancellation between them is what rounding is relative to); both estimated
//    from the oracle's per-sample values on up to 4096 of the batch's rows.
//  - The parameters and optimizer state after the update are compared with the optimizer rule
//    (optim/update_rules.hpp) applied in f64 to the backend's own gradients, from the same
//    state, and projected into the parameter's bounds when it has any (a bound in the backend's
//    precision is within u * |bound| of the f64 one): the difference is the rule's arithmetic
//    in the backend's precision plus the inputs' rounding, at most
//    32 * u * (|before| + |after - before|), plus D(params) * u * |change| for the clip scale,
//    which the backend computes from its own norm.
//  - The step's reported loss (Backend::report) as the objective; its gradient norm against the
//    norm of the backend's gradients, within D(params) * u.
// f64 tolerances come out near 1e-13 relative; f32 ones grow with the reduction length.
//
// Does not: choose the batches or the steps (the caller does: the CLI takes the run's own).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent {

// One step to check: the batch and the update the run would make there.
struct CheckStep {
  BatchRows batch;
  UpdateSettings update;
};

struct TensorCheck {
  std::string tensor;         // "objective", "d/dW", "W", "W state0", "loss", "grad_norm"
  std::int64_t element = -1;  // the worst element (-1: none compared)
  double got = 0.0, want = 0.0;
  double error = 0.0, tolerance = 0.0;
  // error / tolerance; over 1 fails (a non-finite error too).
  double fraction() const {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    if (!(error == error) || error == kInf) return kInf;  // NaN or inf: a failure
    if (tolerance > 0) return error / tolerance;
    return error > 0 ? kInf : 0.0;
  }
  bool ok() const { return fraction() <= 1.0; }
};

struct StepCheck {
  long step = 0;
  std::int64_t rows = 0;
  std::vector<TensorCheck> tensors;
  bool ok() const;
};

struct CheckReport {
  std::string backend;    // Backend::name()
  std::string precision;  // Backend::precision()
  std::vector<StepCheck> steps;
  bool ok() const;
  // The first failing tensor of the first failing step, or null.
  const TensorCheck* first_failure(long* step = nullptr) const;
};

// Checks `backend` for every step of `steps`, from `start` (the parameters and optimizer state
// both begin from; the oracle's state after each step is the next one's start). `data` is the
// data set both are attached to (null in minimize mode); `order` the epoch order for shuffled
// batches. The backend must not be attached yet.
// L: the longest sum inside one sample (a matrix product's inner dimension, a dot product's or
// a sum's length). The oracle adds such a sum in order; a backend may add it in another order
// (a batched product through BLAS or cuBLAS, a GPU's tree), which changes its rounding by up to
// L roundings relative to the sum of the terms' magnitudes.
double longest_sample_sum(const Graph& g, const StepPlan& plan);

CheckReport check_backend(const Program& program, const ProgramPlan& plan, Backend& backend,
                          const DataSplits* data, const std::vector<std::int64_t>& order,
                          std::vector<ParamState> start, const std::vector<CheckStep>& steps);

}  // namespace descent
