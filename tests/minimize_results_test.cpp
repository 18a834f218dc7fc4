// Covers minimize mode's results (host/train/best_start.cpp, cpu/evaluate.cpp's start_costs,
// RunDirectory's minimize outputs, the summary line of descent train), through the binary:
// starts_cost.npy holds each start's final cost, computed here from params/*.npy by the
// formula of the config (penalties included); params.json's "best" names the start of lowest
// cost, its cost, the tolerance 1e-6 * max(1, |best|), the count of starts within it and the
// start's own parameters; the summary line says the same.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

double himmelblau(double x, double y) {
  return (x * x + y - 11) * (x * x + y - 11) + (x + y * y - 7) * (x + y * y - 7);
}

TEST(MinimizeResults, EachStartsCostAndTheBestStartAreKept) {
  TempDir dir("descent_minimize");
  const fs::path run = dir / "run";
  // Few steps with a penalty: the starts have not all reached a minimum, so the count of starts
  // at the best is a real count.
  const CliResult trained =
      run_descent({"train", config_path("himmelblau.toml").string(), "--device", "cpu", "--set",
                   "train.steps=60", "--set", "cost.penalty=[\"0.01*x^2\", \"0.001*y^2\"]", "--out",
                   run.string()},
                  dir.path());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const NpyF8 x = read_npy_f8(run / "params" / "x.npy");
  const NpyF8 y = read_npy_f8(run / "params" / "y.npy");
  const NpyF8 costs = read_npy_f8(run / "starts_cost.npy");
  ASSERT_EQ(costs.shape, (std::vector<std::size_t>{256}));
  std::vector<double> expected;
  for (std::size_t s = 0; s < 256; ++s) {
    const double c = himmelblau(x.values[s], y.values[s]) +
                     (0.01 * x.values[s] * x.values[s] + 0.001 * y.values[s] * y.values[s]);
    expected.push_back(c);
    EXPECT_NEAR(costs.values[s], c, 1e-12 * std::max(1.0, std::fabs(c))) << "start " << s;
  }
  const auto lowest = std::min_element(expected.begin(), expected.end());
  const auto start = static_cast<std::int64_t>(lowest - expected.begin());
  const double tolerance = 1e-6 * std::max(1.0, std::fabs(*lowest));
  const auto at_best = std::count_if(expected.begin(), expected.end(),
                                     [&](double c) { return std::fabs(c - *lowest) <= tolerance; });
  EXPECT_GT(at_best, 0);
  EXPECT_LT(at_best, 256);

  const Json params = Json::parse(read_file(run / "params.json"), "params.json");
  ASSERT_EQ(params.find("x")->size(), 256u);  // the per-start arrays stay as they were
  const Json& best = *params.find("best");
  EXPECT_EQ(best.find("start")->as_integer(), start);
  EXPECT_NEAR(best.find("cost")->as_double(), *lowest, 1e-12 * std::max(1.0, std::fabs(*lowest)));
  EXPECT_DOUBLE_EQ(best.find("tolerance")->as_double(), tolerance);
  EXPECT_EQ(best.find("starts_at_best")->as_integer(), at_best);
  EXPECT_EQ(best.find("params")->find("x")->as_double(), x.values[static_cast<std::size_t>(start)]);
  EXPECT_EQ(best.find("params")->find("y")->as_double(), y.values[static_cast<std::size_t>(start)]);

  // The summary line of descent train.
  const std::string line = "best start " + std::to_string(start) + ": cost ";
  EXPECT_NE(trained.err.find(line), std::string::npos) << trained.err;
  EXPECT_NE(trained.err.find("(the mean over 256 starts)"), std::string::npos) << trained.err;
  EXPECT_NE(trained.err.find(std::to_string(at_best) + " of 256 starts within"), std::string::npos)
      << trained.err;
}

TEST(MinimizeResults, ManyStartsAreCostedInChunks) {
  TempDir dir("descent_minimize");
  const fs::path run = dir / "run";
  // More starts than the 8192 costed at once.
  const CliResult trained =
      run_descent({"train", config_path("himmelblau.toml").string(), "--device", "cpu", "--quiet",
                   "--set", "train.steps=3", "--set", "train.starts=9000", "--out", run.string()},
                  dir.path());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const NpyF8 x = read_npy_f8(run / "params" / "x.npy");
  const NpyF8 y = read_npy_f8(run / "params" / "y.npy");
  const NpyF8 costs = read_npy_f8(run / "starts_cost.npy");
  ASSERT_EQ(costs.values.size(), 9000u);
  for (std::size_t s = 0; s < 9000; ++s) {
    const double c = himmelblau(x.values[s], y.values[s]);
    ASSERT_NEAR(costs.values[s], c, 1e-12 * std::max(1.0, std::fabs(c))) << "start " << s;
  }
}

TEST(MinimizeResults, OneStartIsItsOwnBest) {
  TempDir dir("descent_minimize");
  const fs::path run = dir / "run";
  const CliResult trained =
      run_descent({"train", config_path("rosenbrock.toml").string(), "--device", "cpu", "--quiet",
                   "--set", "train.steps=50", "--out", run.string()},
                  dir.path());
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  const double x = read_npy_f8(run / "params" / "x.npy").values.at(0);
  const double y = read_npy_f8(run / "params" / "y.npy").values.at(0);
  const double cost = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
  EXPECT_NEAR(read_npy_f8(run / "starts_cost.npy").values.at(0), cost, 1e-12 * std::max(1.0, cost));
  const Json params = Json::parse(read_file(run / "params.json"), "params.json");
  const Json& best = *params.find("best");
  EXPECT_EQ(best.find("start")->as_integer(), 0);
  EXPECT_EQ(best.find("starts_at_best")->as_integer(), 1);
  EXPECT_EQ(best.find("params")->find("x")->as_double(), params.find("x")->as_double());
}

}  // namespace
}  // namespace descent::test
