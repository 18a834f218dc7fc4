// Comparing a backend with the CPU reference backend (host/cpu, CpuMath::reference: the
// Interpreter's f64 values bit for bit) on an example config, one step at a time, within an
// error model written down here. Used by cuda_backend_test.cpp (the GPU against the CPU).
//
// Shadowing: the GPU runs free, its state resident on the device between steps; before each
// step the CPU reference is loaded with the GPU's state (store), and both take the same step
// from the same point. So every comparison is of one step, and errors do not compound.
//
// Error model. A value is compared within ρ·S, S the scale it was computed from and ρ the
// relative budget of one evaluation over n rows:
//   f64: ρ = 1e-10 (DESIGN §6). The f32 model below, with u = 2^-53, gives about 1e-14 for
//        these row counts: four decades of margin, and a real fault (a wrong index, a missing
//        term) is still an error of order S.
//   f32: ρ = u·(K + D(n)), u = 2^-24 (the CPU side's f64 error is negligible). K = 64 covers one
//        sample's work: its inputs rounded to f32, a few dozen operations (1 ulp each, the
//        device's exp/log/tanh 2) and their conditioning in the example models. D(n) bounds the
//        longest chain of additions into a batch total on the device (codegen/launch.hpp):
//        5 butterfly levels, at most n/32 sums into a warp's accumulator, at most 8 warps and
//        n/32 blocks: D(n) = 13 + 2·ceil(n/32); each addition errs by at most u of the sum of
//        the magnitudes added so far. A batched plan (cuBLAS products) adds L to K, the longest
//        sum inside a sample (check/lockstep.hpp: a product's inner dimension, which cuBLAS adds
//        in its own order), and its outer totals are sums over the rows in cuBLAS's order:
//        D(n) is then at most n.
// S is the sum of the magnitudes that a value was added up from, which rounding errors are
// proportional to (the mean of many terms of both signs can be far smaller than its terms):
//   fit: for gradient element i, the mean over the batch's rows of |g_r,i|, g_r the gradient on
//        row r alone (the CPU reference on a batch of one row); for the objective and the
//        reported loss, the mean of their one-row values' magnitudes;
//   minimize: no sum across starts, each start's gradient is its own: for a gradient, the
//        largest |value| of the tensor; for the objective and the loss, their magnitude (the
//        example costs are sums of squares, so Σ|c_s| = |Σ c_s|).
// The gradient norm is within sqrt(Σ ε_i²) + ρ·|g|, ε_i = ρ·S_i. One update turns gradient
// errors ε into parameter and state errors through the rule's derivative (update_error, taken
// at the CPU's step), plus ρ·(|old| + |new|) for the update's own rounding.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "train/trainer.hpp"

namespace descent::test {

// The error model's ρ for a value computed over `rows` rows.
// `inner` and `batched` for a batched plan's products (see above).
inline double budget(bool f32, std::int64_t rows, double inner = 0.0, bool batched = false) {
  if (!f32) return 1e-10;
  double chain = 13.0 + 2.0 * std::ceil(static_cast<double>(rows) / 32.0);
  if (batched) chain = std::max(chain, static_cast<double>(rows));
  return 0x1p-24 * (64.0 + inner + chain);
}

// One config, set up once for every backend of a test: its data, initial state and batches.
struct ExampleRun {
  explicit ExampleRun(const std::string& config_file,
                      const std::vector<std::string>& overrides = {})
      : e(set_up_experiment(config_file, overrides)) {
    if (e.dataset) splits = data_splits(*e.program, *e.dataset);
    batched = e.plan.step.batched();
    inner = batched ? longest_sample_sum(e.program->graph, e.plan.step) : 0.0;
    initial = initial_state(e.config, *e.program).params;
    rows = e.dataset ? e.dataset->train_rows : e.program->starts;
    const std::int64_t b = e.config.train.batch_size;
    batch = e.dataset && b > 0 ? std::min(b, rows) : rows;
    shuffled = e.dataset && e.config.data.shuffle && batch < rows;
    order.resize(static_cast<std::size_t>(rows));
    for (std::int64_t r = 0; r < rows; ++r) order[static_cast<std::size_t>(r)] = r;
    std::shuffle(order.begin(), order.end(), std::mt19937_64(2024));
  }
  // A backend with the data attached and the epoch order given.
  void prepare(Backend& backend) const {
    if (e.dataset) backend.attach(splits);
    if (shuffled) backend.set_epoch_order(order);
  }
  BatchRows whole() const { return BatchRows{BatchRows::Split::train, 0, rows, false}; }
  BatchRows step_batch(long step) const {  // step is 1-based
    const std::int64_t first = ((step - 1) * batch) % rows;
    return BatchRows{BatchRows::Split::train, first, std::min(batch, rows - first), shuffled};
  }
  UpdateSettings update(long step) const {
    UpdateSettings u;
    u.optimizer = e.config.train.optimizer;
    u.step = step;
    u.lr = e.config.train.optimizer.lr;
    return u;
  }

  Experiment e;
  DataSplits splits;
  std::vector<ParamState> initial;
  std::int64_t rows = 0, batch = 0;
  bool shuffled = false;
  bool batched = false;  // the plan's products run batched (cuBLAS on the GPU)
  double inner = 0.0;    // then the longest sum inside a sample
  std::vector<std::int64_t> order;
};

using Gradients = std::vector<std::vector<double>>;

struct Scales {
  double objective = 0.0, reported = 0.0;
  Gradients gradient;  // by parameter and element
};

// The error model's S (see the top), with `cpu` holding the state that `g` and the objective
// were computed at; without `g`, of the reported loss alone.
inline Scales scales_of(Backend& cpu, const ExampleRun& s, const BatchRows& batch,
                        const Gradients& g, double objective, double reported) {
  Scales out;
  out.gradient = g;
  if (s.e.program->minimize) {
    out.objective = std::fabs(objective);
    out.reported = std::fabs(reported);
    for (std::vector<double>& tensor : out.gradient) {
      double largest = 0.0;
      for (double v : tensor) largest = std::max(largest, std::fabs(v));
      std::fill(tensor.begin(), tensor.end(), largest);
    }
    return out;
  }
  for (std::vector<double>& tensor : out.gradient) std::fill(tensor.begin(), tensor.end(), 0.0);
  const double n = static_cast<double>(batch.rows);
  Gradients one_row;
  for (std::int64_t r = 0; r < batch.rows; ++r) {
    const BatchRows row{batch.split, batch.row(r, s.order), 1, false};
    out.reported += std::fabs(cpu.evaluate(row)) / n;
    if (g.empty()) continue;  // the reported loss alone
    out.objective += std::fabs(cpu.objective_and_gradients(row, one_row)) / n;
    for (std::size_t k = 0; k < one_row.size(); ++k)
      for (std::size_t i = 0; i < one_row[k].size(); ++i)
        out.gradient[k][i] += std::fabs(one_row[k][i]) / n;
  }
  return out;
}

// Every comparison's error as a fraction of its tolerance; the worst is printed per test.
class Comparison {
 public:
  void expect_near(double got, double want, double tolerance, const std::string& what) {
    const double error = std::fabs(got - want);
    EXPECT_LE(error, tolerance) << what << ": GPU " << got << ", CPU " << want;
    if (!(error <= tolerance)) return;
    const double ratio = tolerance > 0 ? error / tolerance : 0.0;
    if (ratio >= worst_) {
      worst_ = ratio;
      where_ = what;
    }
  }
  ~Comparison() {
    std::printf("  worst error: %.3g%% of its tolerance (%s)\n", 100 * worst_, where_.c_str());
  }

 private:
  double worst_ = 0.0;
  std::string where_ = "-";
};

inline std::string element(const ExampleRun& s, std::size_t k, std::size_t i) {
  return s.e.program->params[k].name + "[" + std::to_string(i) + "]";
}

// The objective and gradients of `batch` on both backends (the CPU holding the GPU's state).
inline void compare_gradients(Backend& gpu, Backend& cpu, const ExampleRun& s,
                              const BatchRows& batch, double rho, Comparison& c) {
  Gradients want, got;
  const double objective = cpu.objective_and_gradients(batch, want);
  const Scales scale = scales_of(cpu, s, batch, want, objective, cpu.evaluate(batch));
  c.expect_near(gpu.objective_and_gradients(batch, got), objective, rho * scale.objective,
                "objective");
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    ASSERT_EQ(got[k].size(), want[k].size()) << s.e.program->params[k].name;
    for (std::size_t i = 0; i < want[k].size(); ++i)
      c.expect_near(got[k][i], want[k][i], rho * scale.gradient[k][i],
                    "gradient of " + element(s, k, i));
  }
}

// How far one update may move a value and its optimizer state when its gradient g is off by e,
// to first order about the CPU's step (s0, s1: the CPU's state after it); see update_rules.hpp.
struct UpdateError {
  double value = 0.0, state0 = 0.0, state1 = 0.0;
};

inline UpdateError update_error(const OptimizerConfig& o, long t, double lr, double g, double e,
                                double s0, double s1) {
  // sqrt(w) when w is off by dw is off by at most min(sqrt(dw), dw / (2 sqrt(w))).
  const auto root_error = [](double w, double dw) {
    return w > 0 ? std::min(std::sqrt(dw), dw / (2 * std::sqrt(w))) : std::sqrt(dw);
  };
  UpdateError out;
  switch (o.kind) {
    case OptimizerConfig::Kind::sgd:
      out.value = lr * e;
      break;
    case OptimizerConfig::Kind::momentum:
      out.state0 = e;
      out.value = lr * e;
      break;
    case OptimizerConfig::Kind::nesterov:
      out.state0 = e;
      out.value = lr * (1 + o.momentum) * e;
      break;
    case OptimizerConfig::Kind::adam:
    case OptimizerConfig::Kind::adamw: {
      // p -= (lr/b1) m / (sqrt(v)/sqrt(b2) + eps): the errors of m and of the denominator.
      const double b1 = 1 - std::pow(o.beta1, static_cast<double>(t));
      const double b2 = 1 - std::pow(o.beta2, static_cast<double>(t));
      out.state0 = (1 - o.beta1) * e;
      out.state1 = (1 - o.beta2) * (2 * std::fabs(g) + e) * e;
      const double d = std::sqrt(s1) / std::sqrt(b2) + o.eps;
      const double dd = root_error(s1, out.state1) / std::sqrt(b2);
      const double low = std::max(d - dd, o.eps);
      out.value = lr / b1 * (out.state0 / low + std::fabs(s0) * dd / (d * low));
      break;
    }
    case OptimizerConfig::Kind::rmsprop: {
      // s = a s + (1-a) g^2;  scaled = g / (sqrt(s) + eps);  p -= lr scaled (or via the buffer).
      out.state0 = (1 - o.alpha) * (2 * std::fabs(g) + e) * e;
      const double d = std::sqrt(s0) + o.eps;
      const double dd = root_error(s0, out.state0);
      const double low = std::max(d - dd, o.eps);
      const double scaled = e / low + std::fabs(g) * dd / (d * low);
      if (o.momentum != 0) out.state1 = scaled;
      out.value = lr * scaled;
      break;
    }
  }
  return out;
}

// One step from `state` (the GPU's) on both backends; `state` becomes the GPU's next state.
inline void compare_step(Backend& gpu, Backend& cpu, const ExampleRun& s, long step,
                         std::vector<ParamState>& state, Comparison& c) {
  const BatchRows batch = s.step_batch(step);
  const UpdateSettings u = s.update(step);
  const double rho = budget(gpu.precision() == "f32", batch.rows, s.inner, s.batched);
  cpu.load(state);
  Gradients g;
  const double objective = cpu.objective_and_gradients(batch, g);
  const Scales scale = scales_of(cpu, s, batch, g, objective, cpu.evaluate(batch));
  cpu.step(batch, u);
  const StepReport want = cpu.report();
  std::vector<ParamState> cpu_next;
  cpu.store(cpu_next);
  gpu.step(batch, u);
  const StepReport got = gpu.report();
  std::vector<ParamState> next;
  gpu.store(next);

  const std::string at = "step " + std::to_string(step) + ": ";
  EXPECT_EQ(got.diverged_step, 0) << at;
  ASSERT_EQ(want.diverged_step, 0) << at << "the CPU reference diverged";
  c.expect_near(got.loss, want.loss, rho * scale.reported, at + "loss");
  double norm_error = 0.0, norm = 0.0;
  for (std::size_t k = 0; k < g.size(); ++k)
    for (std::size_t i = 0; i < g[k].size(); ++i) {
      norm_error += std::pow(rho * scale.gradient[k][i], 2);
      norm += g[k][i] * g[k][i];
    }
  c.expect_near(got.grad_norm, want.grad_norm, std::sqrt(norm_error) + rho * std::sqrt(norm),
                at + "gradient norm");

  ASSERT_EQ(next.size(), cpu_next.size());
  const OptimizerConfig& o = u.optimizer;
  for (std::size_t k = 0; k < next.size(); ++k) {
    const ParamState &old = state[k], &have = next[k], &need = cpu_next[k];
    ASSERT_EQ(have.value.size(), need.value.size());
    ASSERT_EQ(have.state0.size(), need.state0.size());
    ASSERT_EQ(have.state1.size(), need.state1.size());
    for (std::size_t i = 0; i < need.value.size(); ++i) {
      const double p = old.value[i];
      const double g_eff =
          g[k][i] + (o.kind == OptimizerConfig::Kind::adamw ? 0.0 : o.weight_decay * p);
      const UpdateError e = update_error(o, step, u.lr, g_eff, rho * scale.gradient[k][i],
                                         need.state0.empty() ? 0.0 : need.state0[i],
                                         need.state1.empty() ? 0.0 : need.state1[i]);
      const std::string name = at + element(s, k, i);
      c.expect_near(have.value[i], need.value[i],
                    e.value + rho * (std::fabs(p) + std::fabs(need.value[i])), name);
      if (!need.state0.empty())
        c.expect_near(have.state0[i], need.state0[i],
                      e.state0 + rho * (std::fabs(old.state0[i]) + std::fabs(need.state0[i])),
                      name + " state0");
      if (!need.state1.empty())
        c.expect_near(have.state1[i], need.state1[i],
                      e.state1 + rho * (std::fabs(old.state1[i]) + std::fabs(need.state1[i])),
                      name + " state1");
    }
  }
  state = std::move(next);
}

}  // namespace descent::test
