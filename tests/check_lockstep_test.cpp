// `descent check` (host/check/lockstep.cpp, host/cli/check_command.cpp) and the device and
// precision choices of the composition root (host/cli/backend_factory.cpp):
//   - the fast CPU backend passes the lockstep check on every example config (through the
//     binary), in f64 and in f32, and prints each step's tensors as percentages of their
//     tolerances;
//   - a backend that is wrong by one part in 10^9 in one gradient fails it, naming that tensor,
//     and the step, and so does one whose update is wrong;
//   - --device gpu without a GPU is exit 5 with the reason; --device auto trains on the CPU and
//     says why; f32 on the CPU trains; the manifest and the run's resolved config record the
//     precision that ran.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/api/gpu_api.hpp"
#include "forwarding_backend.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

// A backend that passes everything to another, with one gradient (or one updated parameter)
// scaled by 1 + 1e-9.
class Perturbed final : public ForwardingBackend {
 public:
  Perturbed(Backend& inner, std::size_t param, bool in_update)
      : ForwardingBackend(inner), param_(param), in_update_(in_update) {}
  std::string name() const override { return "perturbed " + ForwardingBackend::name(); }
  void store(std::vector<ParamState>& params) override {
    inner().store(params);
    if (in_update_)
      for (double& v : params[param_].value) v *= 1 + 1e-9;
  }
  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    const double f = inner().objective_and_gradients(batch, gradients);
    if (!in_update_)
      for (double& v : gradients[param_]) v *= 1 + 1e-9;
    return f;
  }

 private:
  std::size_t param_;
  bool in_update_;
};

CheckReport check_with(const Experiment& e, Backend& backend, long steps) {
  std::vector<CheckStep> plan;
  for (long s = 1; s <= steps; ++s) {
    CheckStep step;
    step.batch.rows = e.dataset->train_rows;
    step.update.optimizer = e.config.train.optimizer;
    step.update.step = s;
    step.update.lr = e.config.train.optimizer.lr;
    plan.push_back(step);
  }
  const DataSplits splits = data_splits(*e.program, *e.dataset);
  return check_backend(*e.program, e.plan, backend, &splits, {},
                       initial_state(e.config, *e.program).params, plan);
}

TEST(Check, TheCpuBackendPassesOnEveryExampleConfigWithBothPlans) {
  TempDir dir("descent_check");
  for (const fs::path& config : program_configs())
    for (const char* plan : {"fused", "batched"}) {
      const CliResult r =
          run_descent({"check", config.string(), "--device", "cpu", "--steps", "4", "--plan", plan},
                      dir.path());
      EXPECT_EQ(r.exit_code, 0) << config << " --plan " << plan << "\n" << r.out << r.err;
      EXPECT_NE(r.out.find("check passed: cpu (f64) in f64"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("step 4 ("), std::string::npos) << r.out;
      EXPECT_NE(r.out.find(" objective "), std::string::npos) << r.out;
    }
}

TEST(Check, TheF32CpuBackendPassesOnEveryExampleConfigWithBothPlans) {
  TempDir dir("descent_check_f32");
  for (const fs::path& config : program_configs())
    for (const char* plan : {"fused", "batched"}) {
      const CliResult r = run_descent({"check", config.string(), "--device", "cpu", "--precision",
                                       "f32", "--steps", "4", "--plan", plan},
                                      dir.path());
      EXPECT_EQ(r.exit_code, 0) << config << " --plan " << plan << "\n" << r.out << r.err;
      EXPECT_NE(r.out.find("check passed: cpu (f32) in f32"), std::string::npos) << r.out;
      EXPECT_NE(r.out.find("step 4 ("), std::string::npos) << r.out;
    }
}

TEST(Check, AGradientOffByOnePartInABillionFails) {
  const Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
  auto cpu = make_cpu_backend(*e.program, e.plan);
  EXPECT_TRUE(check_with(e, *cpu, 2).ok());
  for (const bool in_update : {false, true}) {
    auto inner = make_cpu_backend(*e.program, e.plan);
    Perturbed wrong(*inner, 0, in_update);
    const CheckReport report = check_with(e, wrong, 2);
    long step = 0;
    const TensorCheck* failure = report.first_failure(&step);
    ASSERT_NE(failure, nullptr) << (in_update ? "update" : "gradient");
    EXPECT_EQ(failure->tensor, in_update ? "w" : "d/dw");
    EXPECT_EQ(step, 1);
    EXPECT_GT(failure->fraction(), 1.0);
  }
}

TEST(Check, WithoutAGpuTheGpuCheckIsExitFive) {
  if (gpu::probe_devices().available) GTEST_SKIP() << "a GPU answers here";
  TempDir dir("descent_check_gpu");
  const CliResult r = run_descent({"check", config_path("logistic.toml").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("--device gpu: "), std::string::npos) << r.err;
}

TEST(DeviceChoice, AutoTrainsOnTheCpuAndSaysWhyWithoutAGpu) {
  const gpu::DeviceProbe probe = gpu::probe_devices();
  if (probe.available) GTEST_SKIP() << "a GPU answers here";
  TempDir dir("descent_device_auto");
  const CliResult r = run_descent({"train", config_path("linear.toml").string(), "--out",
                                   (dir / "run").string(), "--device", "auto"},
                                  dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("device: cpu (" + probe.reason + "), precision f64"), std::string::npos)
      << r.err;
  const std::string manifest = read_file(dir / "run" / "manifest.json");
  EXPECT_NE(manifest.find("\"device\": \"cpu\""), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("\"precision\": \"f64\""), std::string::npos) << manifest;
  const std::string resolved = read_file(dir / "run" / "config.resolved.toml");
  EXPECT_NE(resolved.find("precision = \"f64\""), std::string::npos) << resolved;

  const CliResult gpu = run_descent({"train", config_path("linear.toml").string(), "--out",
                                     (dir / "gpu").string(), "--device", "gpu"},
                                    dir.path());
  EXPECT_EQ(gpu.exit_code, 5) << gpu.err;
  EXPECT_NE(gpu.err.find("--device gpu: " + probe.reason), std::string::npos) << gpu.err;
  EXPECT_FALSE(fs::exists(dir / "gpu"));
}

TEST(DeviceChoice, F32OnTheCpuTrainsAndIsRecorded) {
  TempDir dir("descent_cpu_f32");
  const CliResult r = run_descent({"train", config_path("linear.toml").string(), "--out",
                                   (dir / "run").string(), "--device", "cpu", "--precision", "f32"},
                                  dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("device: cpu (as asked), precision f32"), std::string::npos) << r.err;
  const std::string manifest = read_file(dir / "run" / "manifest.json");
  EXPECT_NE(manifest.find("\"device\": \"cpu\""), std::string::npos) << manifest;
  EXPECT_NE(manifest.find("\"precision\": \"f32\""), std::string::npos) << manifest;
  const std::string resolved = read_file(dir / "run" / "config.resolved.toml");
  EXPECT_NE(resolved.find("precision = \"f32\""), std::string::npos) << resolved;
}

}  // namespace
}  // namespace descent::test
