// Constants and bounds from config to results, on the CPU backend and through the binary
// (host/program, host/cpu/cpu_backend.cpp, host/train, host/predict, the CLI):
//   - scalar constants train to the very bits of the same config with the numbers written in
//     place; a tensor constant to the numbers of the same values written out, and the same
//     constant from a .npy file, a CSV file and inline trains to the same bits;
//   - constants are not trained: no gradient (descent derive prints none), not in params.json or
//     params/, kept in config.resolved.toml; a run stopped midway resumes to identical outputs;
//     descent predict and eval compute with them;
//   - bounded parameters stay in their box after every step of the CPU backend, their random
//     initial values are projected into it, and a bounded 1-D problem whose unconstrained minimum
//     lies outside the box ends exactly on the bound.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "cli/experiment_setup.hpp"
#include "common/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "forwarding_backend.hpp"
#include "program/bounds.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

const fs::path kTestConfigs = kSourceDir / "tests" / "configs";
const std::string kLinearCsv = (kSourceDir / "configs" / "data" / "linear.csv").string();

// `descent train CONFIG --device cpu --out DIR --quiet` must succeed.
void train(const fs::path& config, const fs::path& out, const fs::path& scratch,
           const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"train", config.string(), "--device", "cpu",
                                "--out", out.string(),    "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  const CliResult r = run_descent(args, scratch);
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

// metrics.csv without its timing columns (samples_per_s, wall_s).
std::string untimed_metrics(const fs::path& run) {
  std::string out;
  for (const std::vector<std::string>& row : read_csv_rows(run / "metrics.csv")) {
    for (std::size_t c = 0; c + 2 < row.size(); ++c) out += row[c] + ",";
    out += "\n";
  }
  return out;
}

void expect_same_outputs(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(read_file(a / "params.json"), read_file(b / "params.json"));
  EXPECT_EQ(untimed_metrics(a), untimed_metrics(b));
  for (const auto& entry : fs::directory_iterator(a / "params")) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(read_file(entry.path()), read_file(b / "params" / name)) << name;
  }
}

// A fit config on configs/data/linear.csv whose [constants] and expressions are given.
std::string linear_config(const std::string& constants, const std::string& model,
                          const std::string& penalty) {
  return "[data]\nfile = \"" + kLinearCsv +
         "\"\ninputs = { x = \"x1..x3\", y = \"y\" }\n"
         "[params]\nw = { shape = [3], init = \"normal\", std = 0.1 }\nb = 0.0\n" +
         (constants.empty() ? "" : "[constants]\n" + constants) + "[model]\nprediction = \"" +
         model + "\"\n[cost]\nloss = \"(prediction - y)^2\"\npenalty = \"" + penalty +
         "\"\n[train]\noptimizer = \"adam\"\nlr = 0.05\nepochs = 3\nbatch_size = 16\nseed = 5\n";
}

TEST(Constants, ScalarConstantsTrainToTheBitsOfTheNumbersWrittenInPlace) {
  TempDir tmp("descent_constants_literal");
  write_file(tmp / "named.toml", linear_config("lambda = 0.003\noffset = -0.75\nhalf = 0.5\n",
                                               "half*dot(w, x) + b + offset", "lambda*sum(w^2)"));
  write_file(tmp / "literal.toml",
             linear_config("", "0.5*dot(w, x) + b + -0.75", "0.003*sum(w^2)"));
  train(tmp / "named.toml", tmp / "named", tmp.path());
  train(tmp / "literal.toml", tmp / "literal", tmp.path());
  expect_same_outputs(tmp / "named", tmp / "literal");
  // The constants changed the result: without them the run ends elsewhere.
  write_file(tmp / "other.toml", linear_config("", "dot(w, x) + b", "0.003*sum(w^2)"));
  train(tmp / "other.toml", tmp / "other", tmp.path());
  EXPECT_NE(read_file(tmp / "named" / "params.json"), read_file(tmp / "other" / "params.json"));
}

// A tensor constant is a variable that the backend binds (no folding), so its run matches the
// numbers written out up to the rounding of a different order of operations.
TEST(Constants, ATensorConstantTrainsToTheNumbersWrittenOut) {
  TempDir tmp("descent_constants_tensor");
  write_file(tmp / "named.toml",
             linear_config("scale = [2.0, 2.0, 2.0]\n", "dot(w, x*scale) + b", "0.001*sum(w^2)"));
  write_file(tmp / "literal.toml", linear_config("", "dot(w, x*2.0) + b", "0.001*sum(w^2)"));
  train(tmp / "named.toml", tmp / "named", tmp.path());
  train(tmp / "literal.toml", tmp / "literal", tmp.path());
  const NpyF8 named = read_npy_f8(tmp / "named" / "params" / "w.npy");
  const NpyF8 literal = read_npy_f8(tmp / "literal" / "params" / "w.npy");
  ASSERT_EQ(named.values.size(), 3u);
  ASSERT_EQ(literal.values.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(named.values[i], literal.values[i], 1e-12 * std::fabs(literal.values[i]))
        << "w[" << i << "]";
}

TEST(Constants, FromNpyFromCsvAndInlineTrainToTheSameBits) {
  TempDir tmp("descent_constants_files");
  fs::copy_file(kTestConfigs / "shift.npy", tmp / "shift.npy");
  write_file(tmp / "shift.csv", "# the values of shift.npy\n0.25\n-0.5\n0.125\n");
  const auto config = [&](const std::string& shift) {
    return linear_config("shift = " + shift + "\n", "dot(w, x - shift) + b", "0.001*sum(w^2)");
  };
  write_file(tmp / "npy.toml", config("{ file = \"shift.npy\" }"));
  write_file(tmp / "csv.toml", config("{ file = \"shift.csv\" }"));
  write_file(tmp / "inline.toml", config("[0.25, -0.5, 0.125]"));
  for (const char* name : {"npy", "csv", "inline"})
    train(tmp / (std::string(name) + ".toml"), tmp / name, tmp.path());
  expect_same_outputs(tmp / "npy", tmp / "inline");
  expect_same_outputs(tmp / "csv", tmp / "inline");
}

TEST(Constants, AreNotTrainedAndNotSavedAsParameters) {
  TempDir tmp("descent_constants_untrained");
  const fs::path run = tmp / "run";
  train(kTestConfigs / "constants_fit.toml", run, tmp.path());
  // params.json and params/ hold the trained parameters alone.
  const std::string params = read_file(run / "params.json");
  for (const char* name : {"\"w\"", "\"b\""})
    EXPECT_NE(params.find(name), std::string::npos) << params;
  for (const char* name : {"shift", "scale", "mix", "lambda", "offset"}) {
    EXPECT_EQ(params.find(name), std::string::npos) << name << " in params.json:\n" << params;
    EXPECT_FALSE(fs::exists(run / "params" / (std::string(name) + ".npy"))) << name;
  }
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(run / "params")) ++files;
  EXPECT_EQ(files, 2u);
  // config.resolved.toml keeps them, a file by its absolute path.
  const std::string resolved = read_file(run / "config.resolved.toml");
  EXPECT_NE(resolved.find("[constants]\nshift = { file = \"" +
                          (kTestConfigs / "shift.npy").lexically_normal().string() +
                          "\" }\nscale = [1.0, 0.5, 2.0]\n"
                          "mix = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.25, 0.0, 1.0]]\n"
                          "lambda = 0.001\noffset = 0.25\n"),
            std::string::npos)
      << resolved;
  // No derivative with respect to a constant.
  const CliResult derive =
      run_descent({"derive", (kTestConfigs / "constants_fit.toml").string()}, tmp.path());
  ASSERT_EQ(derive.exit_code, 0) << derive.err;
  EXPECT_NE(derive.out.find("d/dw = "), std::string::npos) << derive.out;
  EXPECT_NE(derive.out.find("d/db = "), std::string::npos) << derive.out;
  for (const char* name : {"d/dshift", "d/dscale", "d/dmix", "d/dlambda", "d/doffset"})
    EXPECT_EQ(derive.out.find(name), std::string::npos) << derive.out;
  // The constants are in the derivatives, as values the gradient is taken at.
  EXPECT_NE(derive.out.find("mix @ (scale*(x - shift))"), std::string::npos) << derive.out;
}

// Passes steps through to the CPU backend and raises the trainer's stop flag after `stop_after`.
class StopAfter final : public ForwardingBackend {
 public:
  StopAfter(std::unique_ptr<Backend> inner, long stop_after, std::atomic<bool>& flag)
      : ForwardingBackend(*inner), owned_(std::move(inner)), left_(stop_after), flag_(flag) {}
  void step(const BatchRows& batch, const UpdateSettings& update) override {
    inner().step(batch, update);
    if (--left_ == 0) flag_.store(true);
  }

 private:
  std::unique_ptr<Backend> owned_;
  long left_;
  std::atomic<bool>& flag_;
};

// Stopped after step k (in this process), resumed by `descent train --resume` (which reloads the
// constants from config.resolved.toml): the outputs of the uninterrupted run, bit for bit.
TEST(Constants, AStoppedRunResumesToIdenticalOutputs) {
  TempDir tmp("descent_constants_resume");
  const fs::path config = kTestConfigs / "constants_fit.toml";
  train(config, tmp / "reference", tmp.path());
  const Experiment e = set_up_experiment(config.string(), {});
  for (const long k : {3L, 9L, 17L}) {
    SCOPED_TRACE("stopped after step " + std::to_string(k));
    const fs::path run = tmp / ("stopped-" + std::to_string(k));
    std::atomic<bool> stop{false};
    TrainOptions options;
    options.quiet = true;
    options.out_dir = run.string();
    options.resolved_config = resolved_config_toml(e.config, /*absolute_paths=*/true);
    options.stop_requested = &stop;
    StopAfter stopping(make_cpu_backend(*e.program, e.plan), k, stop);
    try {
      run_training(e.config, *e.program, e.data(), stopping, options);
      ADD_FAILURE() << "the run was not interrupted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::interrupted) << error.what();
    }
    const CliResult resumed =
        run_descent({"train", "--resume", run.string(), "--device", "cpu", "--quiet"}, tmp.path());
    ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
    expect_same_outputs(tmp / "reference", run);
  }
}

TEST(Constants, PredictAndEvalComputeWithThem) {
  TempDir tmp("descent_constants_predict");
  const fs::path run = tmp / "run";
  train(kTestConfigs / "constants_fit.toml", run, tmp.path());
  write_file(tmp / "rows.csv", "x1,x2,x3\n1.5,-0.5,2\n0,0,0\n");
  const CliResult predicted =
      run_descent({"predict", run.string(), "--data", (tmp / "rows.csv").string()}, tmp.path());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  // The model by hand: z = mix @ ((x - shift) * scale), prediction = dot(w, z) + b + offset.
  const std::vector<double> w = read_npy_f8(run / "params" / "w.npy").values;
  const double b = read_npy_f8(run / "params" / "b.npy").values.at(0);
  const double shift[3] = {0.25, -0.5, 0.125}, scale[3] = {1.0, 0.5, 2.0};
  const double mix[3][3] = {{1, 0, 0}, {0, 1, 0}, {0.25, 0, 1}};
  const auto by_hand = [&](const double(&x)[3]) {
    double u[3], prediction = b + 0.25;
    for (int i = 0; i < 3; ++i) u[i] = (x[i] - shift[i]) * scale[i];
    for (int r = 0; r < 3; ++r) {
      double z = 0;
      for (int c = 0; c < 3; ++c) z += mix[r][c] * u[c];
      prediction += w.at(static_cast<std::size_t>(r)) * z;
    }
    return prediction;
  };
  const std::vector<std::vector<std::string>> rows = [&] {
    write_file(tmp / "predicted.csv", predicted.out);
    return read_csv_rows(tmp / "predicted.csv");
  }();
  ASSERT_EQ(rows.size(), 3u) << predicted.out;
  EXPECT_EQ(rows[0][0], "prediction");
  EXPECT_NEAR(std::stod(rows[1][0]), by_hand({1.5, -0.5, 2}), 1e-12);
  EXPECT_NEAR(std::stod(rows[2][0]), by_hand({0, 0, 0}), 1e-12);
  // eval: the mean loss plus the penalty lambda * sum(w^2), with lambda = 0.001.
  write_file(tmp / "labelled.csv", "x1,x2,x3,y\n1.5,-0.5,2,1\n");
  const CliResult evaluated =
      run_descent({"eval", run.string(), "--data", (tmp / "labelled.csv").string()}, tmp.path());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const double error = by_hand({1.5, -0.5, 2}) - 1.0;
  const double cost = error * error + 0.001 * (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]);
  ASSERT_TRUE(evaluated.out.starts_with("cost ")) << evaluated.out;
  EXPECT_NEAR(std::stod(evaluated.out.substr(5)), cost, 1e-12 * std::max(1.0, cost))
      << evaluated.out;
}

// Every element of every parameter inside its box.
void expect_inside(const Program& program, const std::vector<ParamState>& state,
                   const std::string& when) {
  for (std::size_t k = 0; k < state.size(); ++k) {
    const ParamSpec& spec = *program.params[k].spec;
    const auto size = static_cast<std::size_t>(spec.shape.size());
    for (std::size_t i = 0; i < state[k].value.size(); ++i) {
      const auto e = static_cast<std::int64_t>(i % size);
      const double v = state[k].value[i];
      ASSERT_TRUE(v >= spec.lower_bound(e) && v <= spec.upper_bound(e))
          << spec.name << "[" << i << "] = " << v << " " << when;
    }
  }
}

// The number of elements that sit exactly on one of their bounds.
long on_a_bound(const Program& program, const std::vector<ParamState>& state) {
  long count = 0;
  for (std::size_t k = 0; k < state.size(); ++k) {
    const ParamSpec& spec = *program.params[k].spec;
    const auto size = static_cast<std::size_t>(spec.shape.size());
    for (std::size_t i = 0; i < state[k].value.size(); ++i) {
      const auto e = static_cast<std::int64_t>(i % size);
      count += spec.bounds.present && (state[k].value[i] == spec.lower_bound(e) ||
                                       state[k].value[i] == spec.upper_bound(e));
    }
  }
  return count;
}

TEST(Bounds, TheCpuBackendKeepsEveryStepInsideTheBox) {
  for (const char* name : {"constants_fit.toml", "bounded_minimize.toml"}) {
    SCOPED_TRACE(name);
    const Experiment e = set_up_experiment((kTestConfigs / name).string(), {});
    ASSERT_TRUE(has_bounds(*e.program));
    DataSplits splits;
    if (e.dataset) splits = data_splits(*e.program, *e.dataset);
    auto backend = make_cpu_backend(*e.program, e.plan);
    if (e.dataset) backend->attach(splits);
    std::vector<ParamState> state = initial_state(e.config, *e.program).params;
    expect_inside(*e.program, state, "at the start");
    backend->load(state);
    const std::int64_t rows = e.dataset ? e.dataset->train_rows : e.program->starts;
    for (long step = 1; step <= 300; ++step) {
      UpdateSettings update;
      update.optimizer = e.config.train.optimizer;
      update.step = step;
      update.lr = e.config.train.optimizer.lr;
      backend->step(BatchRows{BatchRows::Split::train, 0, rows, false}, update);
      backend->store(state);
      expect_inside(*e.program, state, "after step " + std::to_string(step));
    }
    EXPECT_EQ(backend->report().diverged_step, 0);
    EXPECT_GT(on_a_bound(*e.program, state), 0) << "no element was pushed against its bound";
  }
}

TEST(Bounds, RandomInitialValuesAreProjectedIntoTheBox) {
  TempDir tmp("descent_bounds_init");
  write_file(tmp / "c.toml",
             "[params]\nx = { shape = [1000], init = \"normal\", std = 3, bounds = [-1, 2] }\n"
             "[cost]\nloss = \"sum(x^2)\"\n");
  const Experiment e = set_up_experiment((tmp / "c.toml").string(), {});
  const std::vector<ParamState> state = initial_state(e.config, *e.program).params;
  expect_inside(*e.program, state, "at the start");
  long low = 0, high = 0;
  for (double v : state[0].value) {
    low += v == -1.0;
    high += v == 2.0;
  }
  // N(0, 9) puts about 37% of the draws below -1 and 25% above 2.
  EXPECT_GT(low, 250);
  EXPECT_GT(high, 150);
}

TEST(Bounds, AOneDimensionalProblemEndsExactlyOnTheBound) {
  TempDir tmp("descent_bounds_1d");
  // The unconstrained minimum is x = 3; the box is x <= 1.25.
  write_file(tmp / "c.toml",
             "[params]\nx = { init = \"constant\", value = -2, bounds = [-inf, 1.25] }\n"
             "[cost]\nloss = \"(x - 3)^2\"\n[train]\noptimizer = \"momentum\"\nlr = 0.05\n"
             "steps = 400\n");
  train(tmp / "c.toml", tmp / "run", tmp.path());
  const NpyF8 x = read_npy_f8(tmp / "run" / "params" / "x.npy");
  ASSERT_EQ(x.values.size(), 1u);
  EXPECT_EQ(x.values[0], 1.25);
  // Without the bounds the same run ends at the unconstrained minimum.
  write_file(tmp / "free.toml",
             "[params]\nx = { init = \"constant\", value = -2 }\n"
             "[cost]\nloss = \"(x - 3)^2\"\n[train]\noptimizer = \"momentum\"\nlr = 0.05\n"
             "steps = 400\n");
  train(tmp / "free.toml", tmp / "free", tmp.path());
  EXPECT_NEAR(read_npy_f8(tmp / "free" / "params" / "x.npy").values.at(0), 3.0, 1e-6);
  // The resolved config keeps the box.
  EXPECT_NE(read_file(tmp / "run" / "config.resolved.toml").find("bounds = [-inf, 1.25]"),
            std::string::npos);
}

}  // namespace
}  // namespace descent::test
