// configs/digits.toml: a real data set (the UCI optical digits, configs/data/digits.csv) and a
// real matrix model (64 -> 32 tanh -> 10, softmax cross-entropy, Adam).
//   1. Trained on the CPU through the descent binary, it reaches the validation accuracy that
//      the config's own comment states ("a validation accuracy of at least A"): the last
//      val_accuracy of metrics.csv, read with the independent reader of test_support.hpp.
//   2. Its gradient of W1 agrees with finite differences at elements spread over every pixel
//      column. `descent gradcheck` (run on every example config by train_e2e_test.cpp) checks
//      64 evenly spaced elements a parameter, a stride of 32 through W1's 2048: only pixel
//      columns 0 and 32, which are blank in every image (their standardized input is 0), so
//      every W1 gradient it compares is exactly 0 and its W1 line reports a worst error of 0.
//      Here the library's gradcheck runs with a stride of 31, prime to the row length 64.
// `descent check --device cpu`, the emitted kernels' budget and the golden digests cover
// digits.toml with every other example config (check_lockstep_test.cpp, codegen_emit_test.cpp,
// golden_runs).
//
// Error model for 1: training is deterministic (fixed seeds, one thread), so the logged accuracy
// is the same number on every run of this build; A sits below it by a margin of several
// validation images (each is under 0.3% of the accuracy), for rounding differences between
// compilers and libm versions that move a few borderline images. For 2: gradcheck's own (its
// header); a worst error of exactly 0 would mean that no element compared a nonzero gradient.
#include <gtest/gtest.h>

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "check/gradcheck.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "program/init.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

// The accuracy that the config's comment promises.
double stated_accuracy(const fs::path& config) {
  const std::string text = read_file(config);
  std::smatch m;
  const std::regex claim(R"(validation accuracy of at least ([0-9.]+))");
  if (!std::regex_search(text, m, claim))
    throw std::runtime_error(config.string() + " states no validation accuracy");
  return std::stod(m[1]);
}

TEST(Digits, TrainsToTheValidationAccuracyItsConfigStates) {
  const fs::path config = config_path("digits.toml");
  const double stated = stated_accuracy(config);
  ASSERT_GT(stated, 0.9) << "the claim should be one worth testing";
  TempDir dir("descent_digits");
  const fs::path run = dir / "run";
  const CliResult r = run_descent(
      {"train", config.string(), "--device", "cpu", "--quiet", "--out", run.string()}, dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::vector<std::vector<std::string>> rows = read_csv_rows(run / "metrics.csv");
  ASSERT_GE(rows.size(), 2u);
  const std::vector<std::string>& header = rows.front();
  const auto column = std::find(header.begin(), header.end(), "val_accuracy");
  ASSERT_NE(column, header.end()) << "metrics.csv has no val_accuracy column";
  const auto at = static_cast<std::size_t>(column - header.begin());
  std::string last;
  for (std::size_t k = 1; k < rows.size(); ++k)
    if (at < rows[k].size() && !rows[k][at].empty()) last = rows[k][at];
  ASSERT_FALSE(last.empty()) << "no validation accuracy was logged";
  const double accuracy = std::stod(last);
  EXPECT_GE(accuracy, stated) << "digits.toml states " << stated;
  EXPECT_LE(accuracy, 1.0);
}

TEST(Digits, GradientsAgreeWithFiniteDifferencesOverEveryPixelColumn) {
  const Experiment e = set_up_experiment(config_path("digits.toml").string(), {});
  auto backend = make_cpu_backend(*e.program, e.plan);
  backend->attach(data_splits(*e.program, *e.dataset));
  GradcheckOptions options;
  options.points = 1;
  options.max_elements = 66;  // W1: a stride of 2048 / 66 = 31, so 67 elements in 64 columns
  const GradcheckReport report =
      gradcheck(*e.program, *backend, gradcheck_batch(*e.program, e.data()),
                initial_values(e.config, *e.program), options);
  EXPECT_TRUE(report.ok());
  ASSERT_EQ(report.params.size(), 4u);
  for (const GradcheckParamReport& p : report.params) {
    EXPECT_TRUE(p.ok) << p.name << " worst " << p.worst << " tolerance " << p.tolerance_at_worst;
    EXPECT_GT(p.checked, 0) << p.name;
    EXPECT_GT(p.worst, 0.0) << p.name << ": every gradient compared was exactly 0";
  }
}

}  // namespace
}  // namespace descent::test
