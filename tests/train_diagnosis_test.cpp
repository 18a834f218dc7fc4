// What the trainer says when a step's numbers go wrong on a backend other than the f64 CPU
// (host/train/trainer.cpp with cpu/diagnose.cpp), found on the GPU machine:
//   - a backend that turns a onehot class index out of range into NaN (the GPU's kernels do:
//     node_writer.cpp) still stops on the first batch with the CPU's input error, before the run
//     directory exists;
//   - a run in f32 that overflows where f64 does not names the node whose value is beyond
//     f32's range, at its place in the config (the f64 Interpreter alone found no non-finite
//     value there, and said only "a non-finite value appeared").
#include <gtest/gtest.h>

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "cli/experiment_setup.hpp"
#include "common/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "forwarding_backend.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

// The CPU backend, except that an input error of a batch's evaluation gives NaN in the objective
// and every gradient, as the GPU's kernels give for a onehot class index out of range.
class NanForBadInput final : public ForwardingBackend {
 public:
  explicit NanForBadInput(Backend& inner) : ForwardingBackend(inner) {}
  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    try {
      return inner().objective_and_gradients(batch, gradients);
    } catch (const Error& e) {
      if (e.code() != ExitCode::bad_input) throw;
      ++swallowed;
      for (std::vector<double>& g : gradients) g.assign(g.size(), kNaN);
      return kNaN;
    }
  }
  int swallowed = 0;

 private:
  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
};

TrainOptions options_for(const Experiment& e, const fs::path& out) {
  TrainOptions options;
  options.out_dir = out.string();
  options.quiet = true;
  options.resolved_config = resolved_config_toml(e.config, /*absolute_paths=*/true);
  return options;
}

TEST(TrainDiagnosis, AClassIndexThatABackendTurnsIntoNanIsAnInputErrorBeforeTheRunDirectory) {
  TempDir tmp("descent_diagnosis_onehot");
  write_file(tmp / "d.csv", "x,y\n0.5,0\n1.5,4\n");  // class 4 of onehot(y, 3)
  write_file(tmp / "c.toml",
             "[data]\nfile = \"d.csv\"\ninputs = { x = \"x\", y = \"y\" }\n"
             "[params]\nw = { shape = [3] }\n"
             "[cost]\nloss = \"logsumexp(w*x) - dot(w*x, onehot(y, 3))\"\n");
  const Experiment e = set_up_experiment((tmp / "c.toml").string(), {});
  const std::unique_ptr<Backend> cpu = make_cpu_backend(*e.program, e.plan);
  NanForBadInput backend(*cpu);
  try {
    run_training(e.config, *e.program, e.data(), backend, options_for(e, tmp / "run"));
    ADD_FAILURE() << "trained on a class index out of range";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::bad_input) << error.what();
    EXPECT_NE(std::string(error.what()).find("onehot index 4"), std::string::npos) << error.what();
  }
  EXPECT_GE(backend.swallowed, 1) << "the backend never gave NaN: the test tests nothing";
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

TEST(TrainDiagnosis, AnF32OverflowNamesTheNodeBeyondF32sRange) {
  // linear.toml with plain SGD at lr = 100 (as TrainE2E's divergence test): the residual grows
  // by ~|1 - 100 λ| a step, and its square passes f32's largest value (3.4e38) long before it
  // passes f64's, so in f32 the run diverges at a step whose f64 values are all finite.
  TempDir tmp("descent_diagnosis_f32");
  const fs::path config = tmp / "linear_blowup.toml";
  write_file(config, linear_blowup_config());
  const Experiment e = set_up_experiment(config.string(), {});
  CpuBackendOptions f32;
  f32.f32 = true;
  const std::unique_ptr<Backend> backend = make_cpu_backend(*e.program, e.plan, f32);
  try {
    run_training(e.config, *e.program, e.data(), *backend, options_for(e, tmp / "run"));
    ADD_FAILURE() << "lr = 100 did not diverge";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(error.code(), ExitCode::diverged) << message;
    EXPECT_NE(message.find(config.string() + ":13:9: the first non-finite value is in '"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("(in f32: its value, "), std::string::npos) << message;
    EXPECT_NE(message.find("is beyond f32's largest, 3.4e+38)"), std::string::npos) << message;
  }
}

}  // namespace
}  // namespace descent::test
