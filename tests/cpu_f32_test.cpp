// The CPU backend in f32 (host/cpu/cpu_backend.cpp with CpuBackendOptions::f32):
//   - on every example config and test config, one step against the f64 oracle in lockstep
//     (check/lockstep.hpp's f32 error model) at row counts from 1 to more than a few chunks, in
//     order and through a shuffled index;
//   - its totals add chunk sums (summation_depth far below the row count), where f64 keeps the
//     Interpreter's one chain per total;
//   - bounded parameters stay in their box, compared in float, after every step;
//   - configs/logistic.toml trains in f32 to the loss it reaches in f64 (the tolerance is at
//     F32TrainingReachesTheF64Loss);
//   - the name and precision it reports.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "oracle_check.hpp"
#include "program/bounds.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

std::unique_ptr<Backend> cpu_f32(const Experiment& e) {
  CpuBackendOptions options;
  options.f32 = true;
  return make_cpu_backend(*e.program, e.plan, options);
}

class CpuF32 : public ::testing::TestWithParam<fs::path> {};

TEST_P(CpuF32, AgreesWithTheOracleAtEveryRowCount) {
  // 50,000 shuffled rows span several chunks of every program (a chunk keeps 128 Ki floats, a
  // row's worth of nodes at a time).
  check_at_row_counts(GetParam().string(), {1, 7, 255, 50000}, cpu_f32,
                      GetParam().filename().string() + " cpu f32");
}

INSTANTIATE_TEST_SUITE_P(ExampleConfigs, CpuF32, ::testing::ValuesIn(program_configs()),
                         [](const ::testing::TestParamInfo<fs::path>& config) {
                           return config.param.stem().string();
                         });

TEST(CpuF32Backend, SaysWhatItComputesIn) {
  const Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
  EXPECT_EQ(cpu_f32(e)->name(), "cpu (f32)");
  EXPECT_EQ(cpu_f32(e)->precision(), "f32");
  CpuBackendOptions reference;
  reference.f32 = true;
  reference.math = CpuMath::reference;
  EXPECT_EQ(make_cpu_backend(*e.program, e.plan, reference)->name(), "cpu (f32, reference math)");
  EXPECT_EQ(make_cpu_backend(*e.program, e.plan)->name(), "cpu (f64)");
  EXPECT_EQ(make_cpu_backend(*e.program, e.plan)->precision(), "f64");
}

TEST(CpuF32Backend, TotalsAddChunkSums) {
  const Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
  constexpr std::int64_t kRows = 1'000'000;
  const std::int64_t depth = cpu_f32(e)->summation_depth(kRows);
  EXPECT_GT(depth, 1);
  EXPECT_LT(depth, kRows / 10);
  EXPECT_EQ(make_cpu_backend(*e.program, e.plan)->summation_depth(kRows), kRows);
}

// After each of 300 steps from the config's own start, every element lies in its box (the
// bounds rounded to float, as the update compares them), and on some step some element sits
// exactly on a bound that the descent pushed it against.
TEST(CpuF32Backend, BoundedParametersStayInTheirBox) {
  for (const char* config : {"mccormick.toml", "constants_fit.toml", "bounded_minimize.toml"}) {
    SCOPED_TRACE(config);
    const Experiment e = set_up_experiment(config_path(config).string(), {});
    ASSERT_TRUE(has_bounds(*e.program));
    auto backend = cpu_f32(e);
    long on_edge = 0;
    run_steps_in_box(e, *backend, true, &on_edge);
    if (HasFatalFailure()) return;
    EXPECT_GT(on_edge, 0) << "no element met a bound";
  }
}

struct Trained {
  TrainSummary summary;
  std::vector<ParamState> params;
};

Trained train(const Experiment& e, Backend& backend, const fs::path& out) {
  TrainOptions options;
  options.out_dir = out.string();
  options.quiet = true;
  options.resolved_config = resolved_config_toml(e.config, /*absolute_paths=*/true);
  Trained t;
  t.summary = run_training(e.config, *e.program, e.data(), backend, options);
  backend.store(t.params);
  return t;
}

// configs/logistic.toml, 400 full-batch momentum steps, in f32 and in f64: the final losses agree
// within rho*(L + S), where rho = C*(K + D(n))*u is lockstep.hpp's relative budget of one f32
// evaluation over the n training rows (C = 8, K = 64, D(n) <= n + 1 for this batch, which fits one
// chunk, u = 2^-24) and S = L because every per-row loss is positive. The f32 loss is one such
// evaluation; its parameters differ from f64's by the rounding of every step, but the run ends
// at the minimum of a convex loss (the f64 gradient norm is checked to be tiny there), where a
// small parameter difference changes the loss only to second order. The same tolerance holds
// for the loss of the f32 parameters evaluated by the f64 oracle. A fault in the f32 path (an
// update rule in the wrong precision's coefficients, a lost term) leaves a difference of 1e-2 or
// more after 400 steps.
TEST(CpuF32Backend, F32TrainingReachesTheF64Loss) {
  TempDir dir("descent_cpu_f32_train");
  const Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
  auto f64 = make_cpu_backend(*e.program, e.plan);
  auto f32 = cpu_f32(e);
  const Trained want = train(e, *f64, dir / "f64");
  const Trained got = train(e, *f32, dir / "f32");
  ASSERT_EQ(got.summary.steps, want.summary.steps);

  const DataSplits splits = data_splits(*e.program, *e.dataset);
  BatchRows all;
  all.rows = e.dataset->train_rows;
  auto oracle = make_cpu_backend(*e.program, e.plan, CpuMath::reference);
  oracle->attach(splits);
  std::vector<std::vector<double>> gradients;
  oracle->load(want.params);
  const double loss = oracle->objective_and_gradients(all, gradients);
  double squared = 0.0;
  for (const std::vector<double>& g : gradients)
    for (double v : g) squared += v * v;
  ASSERT_LT(std::sqrt(squared), 1e-6 * loss) << "the f64 run did not end at the minimum";
  oracle->load(got.params);
  const double f32_params_loss = oracle->evaluate(all);

  const double n = static_cast<double>(all.rows);
  const double rho = 8 * (64 + n + 1) * 0x1p-24;
  const double tolerance = rho * 2 * loss;
  EXPECT_NEAR(got.summary.loss, want.summary.loss, tolerance);
  EXPECT_NEAR(f32_params_loss, loss, tolerance);
  std::printf("logistic: f64 loss %.9g, f32 %.9g (its parameters in f64: %.9g), tolerance %.3g\n",
              want.summary.loss, got.summary.loss, f32_params_loss, tolerance);
}

}  // namespace
}  // namespace descent::test
