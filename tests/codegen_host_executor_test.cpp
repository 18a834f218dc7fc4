// The emitted kernels' launch structure on the host (DESIGN §6; issue "Train on the GPU", item 7):
// every example config's emitted program, and those of tests/configs/ (constants of every kind,
// bounded parameters in fit and minimize mode), compiled as host C++ in f32 and f64 at build
// time (tests/codegen/emit_host_programs.cpp), runs through the host executor
// (codegen/host_executor: grid-stride rows, warps, the butterfly, the blocks' partials, the last
// block's finish, the update) as EmittedBackend's device, and is checked against the f64 oracle in
// lockstep (check/lockstep.hpp: objective, gradients, the update, the reported loss and gradient
// norm, within its error model) for row counts 1, 31, 255, 257 and more than 4 x blocks x threads
// (every thread of the largest grid takes more than four rows), with the rows in order and
// through a shuffled index. Two runs give the same bits. Bounded parameters stay in their box
// after every fused update, and the ones whose descent leads out of it stop on its edge.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "codegen/emitted_host_programs.hpp"
#include "codegen/host_step_device.hpp"
#include "oracle_check.hpp"
#include "program/bounds.hpp"
#include "program/init.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

using codegen::Precision;

// More rows than 4 x the largest grid (kMaxRowBlocks blocks of 256 threads).
constexpr std::int64_t kManyRows = 4 * launch::kMaxRowBlocks * 256 + 7;
const std::vector<std::int64_t> kRowCounts = {1, 31, 255, 257, kManyRows};

// The EmittedBackend over the host executor of a compiled program, for `e`'s Program (which
// must be the one the program was emitted for, up to minimize mode's number of starts).
std::unique_ptr<Backend> host_executor(const EmittedHostProgram& compiled, const Experiment& e) {
  codegen::EmitOptions options;
  options.name = compiled.name;
  options.precision = compiled.precision;
  codegen::EmittedProgram emitted = codegen::emit_program(*e.program, e.plan, options);
  // The source compiled into this test is what the emitter writes now, byte for byte.
  EXPECT_EQ(emitted.body, compiled.body) << compiled.config;
  if (compiled.precision == Precision::f32)
    return std::make_unique<codegen::EmittedBackend<float>>(
        *e.program, std::move(emitted),
        std::make_unique<codegen::HostStepDevice<float>>(compiled.f32_step, compiled.f32_eval));
  return std::make_unique<codegen::EmittedBackend<double>>(
      *e.program, std::move(emitted),
      std::make_unique<codegen::HostStepDevice<double>>(compiled.f64_step, compiled.f64_eval));
}

// The settings a compiled program was emitted with: its config's own, or the batched plan.
std::vector<std::string> settings_of(const EmittedHostProgram& compiled) {
  if (std::string_view(compiled.plan) == "batched") return {"train.plan=batched"};
  return {};
}

class HostExecutor : public ::testing::TestWithParam<int> {
 protected:
  const EmittedHostProgram& compiled() const { return kEmittedHostPrograms[GetParam()]; }
};

TEST_P(HostExecutor, AgreesWithTheOracleAtEveryRowCount) {
  const EmittedHostProgram& c = compiled();
  check_at_row_counts(
      (kSourceDir / c.config).string(), kRowCounts,
      [&c](const Experiment& e) { return host_executor(c, e); },
      std::string(c.config) + " " + c.plan + " " + (c.precision == Precision::f32 ? "f32" : "f64"),
      settings_of(c));
}

TEST_P(HostExecutor, TwoRunsGiveTheSameBits) {
  const EmittedHostProgram& c = compiled();
  const Experiment e = set_up_experiment((kSourceDir / c.config).string(), settings_of(c));
  DataSplits splits;
  std::vector<std::int64_t> order;
  BatchRows batch;
  batch.rows = e.dataset ? e.dataset->train_rows : e.program->starts;
  if (e.dataset) {
    splits = data_splits(*e.program, *e.dataset);
    order.resize(static_cast<std::size_t>(batch.rows));
    for (std::size_t i = 0; i < order.size(); ++i)
      order[i] = static_cast<std::int64_t>(order.size() - 1 - i);
    batch.shuffled = true;
  }
  std::vector<std::vector<ParamState>> after(2);
  for (std::vector<ParamState>& result : after) {
    auto backend = host_executor(c, e);
    if (e.dataset) {
      backend->attach(splits);
      backend->set_epoch_order(order);
    }
    backend->load(random_start(e));
    for (long step = 1; step <= 3; ++step)
      backend->step(batch, one_step(e, batch.rows, true).update);
    ASSERT_EQ(backend->report().diverged_step, 0);
    backend->store(result);
  }
  for (std::size_t k = 0; k < after[0].size(); ++k)
    EXPECT_EQ(0, std::memcmp(after[0][k].value.data(), after[1][k].value.data(),
                             after[0][k].value.size() * sizeof(double)))
        << e.program->params[k].name;
}

// The fused update projects bounded parameters: after each of 300 steps from the config's own
// start, every element lies in its box (bounds compared in the run's precision), and on some
// step some element sits exactly on a bound that the descent pushed it against.
TEST(HostExecutorBounds, EveryStepStaysInTheBoxAndMeetsItsEdge) {
  int bounded_programs = 0;
  for (int p = 0; p < kEmittedHostProgramCount; ++p) {
    const EmittedHostProgram& c = kEmittedHostPrograms[p];
    const Experiment e = set_up_experiment((kSourceDir / c.config).string(), settings_of(c));
    // configs/circle.toml's bound only guards the radius's sign: its descent never meets it.
    if (!has_bounds(*e.program) || std::string_view(c.config).ends_with("circle.toml")) continue;
    ++bounded_programs;
    const bool f32 = c.precision == Precision::f32;
    SCOPED_TRACE(std::string(c.config) + (f32 ? " f32" : " f64"));
    auto backend = host_executor(c, e);
    long on_edge = 0;
    run_steps_in_box(e, *backend, f32, &on_edge);
    if (HasFatalFailure()) return;
    EXPECT_GT(on_edge, 0) << "no element met a bound";
  }
  // configs/mccormick.toml, tests/configs/constants_fit.toml and bounded_minimize.toml, in f32
  // and f64.
  EXPECT_GE(bounded_programs, 6);
}

INSTANTIATE_TEST_SUITE_P(ExampleConfigs, HostExecutor,
                         ::testing::Range(0, kEmittedHostProgramCount),
                         [](const ::testing::TestParamInfo<int>& param) {
                           const EmittedHostProgram& c = kEmittedHostPrograms[param.param];
                           std::string name = c.name;
                           return name + (c.precision == Precision::f32 ? "_f32" : "_f64");
                         });

}  // namespace
}  // namespace descent::test
