// Covers host/program/init.cpp: initial values drawn from per-element settings (uniform low and
// high, normal mean and std, constant value written as arrays shaped like the parameter), for
// every start of minimize mode; and that a per-element array of equal numbers draws exactly what
// the scalar form draws (the same random sequence).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "program/init.hpp"
#include "program/program.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

std::vector<std::vector<double>> draw(const std::string& config_text, const std::string& name) {
  const fs::path path = fs::temp_directory_path() /
                        ("descent-init-" + name + "-" + std::to_string(::getpid()) + ".toml");
  std::ofstream(path, std::ios::binary) << config_text;
  const ExperimentConfig config = load_experiment(path.string());
  fs::remove(path);
  const Program program = build_program(config, {});
  return initial_values(config, program);
}

constexpr long kStarts = 4000;

TEST(ProgramInit, DrawsEachElementFromItsOwnRange) {
  const std::string config = R"toml([params]
u = { shape = [2], init = "uniform", low = [-1.5, -3], high = [4, -2] }
n = { shape = [2], init = "normal", mean = [10, -10], std = [0.1, 2] }
c = { shape = [2, 2], init = "constant", value = [[1, 2], [3, 4]] }
[cost]
loss = "sum(u^2) + sum(n^2) + sum(c^2)"
[train]
starts = 4000
)toml";
  const auto values = draw(config, "ranges");
  ASSERT_EQ(values.size(), 3u);
  const double low[] = {-1.5, -3}, high[] = {4, -2};
  const double mean[] = {10, -10}, sd[] = {0.1, 2};
  for (int e = 0; e < 2; ++e) {
    double u_sum = 0, n_sum = 0, n_sq = 0;
    for (long s = 0; s < kStarts; ++s) {
      const double u = values[0][static_cast<std::size_t>(s * 2 + e)];
      ASSERT_GE(u, low[e]);
      ASSERT_LT(u, high[e]);
      u_sum += u;
      const double n = values[1][static_cast<std::size_t>(s * 2 + e)];
      n_sum += n;
      n_sq += (n - mean[e]) * (n - mean[e]);
    }
    // Sample means within 5 standard errors: U(a, b) has std (b - a)/sqrt(12).
    const double n_starts = static_cast<double>(kStarts);
    const double u_se = (high[e] - low[e]) / std::sqrt(12.0) / std::sqrt(n_starts);
    EXPECT_NEAR(u_sum / n_starts, (low[e] + high[e]) / 2, 5 * u_se) << "element " << e;
    EXPECT_NEAR(n_sum / n_starts, mean[e], 5 * sd[e] / std::sqrt(n_starts)) << "element " << e;
    // The sample std of a normal within 5 of its standard errors (about std / sqrt(2n)).
    EXPECT_NEAR(std::sqrt(n_sq / n_starts), sd[e], 5 * sd[e] / std::sqrt(2 * n_starts));
  }
  for (long s = 0; s < kStarts; ++s)
    for (int e = 0; e < 4; ++e) ASSERT_EQ(values[2][static_cast<std::size_t>(s * 4 + e)], e + 1.0);
}

TEST(ProgramInit, EqualNumbersPerElementDrawWhatTheScalarFormDraws) {
  const std::string scalar = R"toml([params]
x = { shape = [3], init = "uniform", low = -5, high = 5 }
y = { shape = [3], init = "normal", mean = 1, std = 2 }
[cost]
loss = "sum(x^2) + sum(y^2)"
[train]
starts = 7
seed = 3
)toml";
  std::string each = scalar;
  each.replace(each.find("low = -5, high = 5"), 18, "low = [-5, -5, -5], high = [5, 5, 5]");
  each.replace(each.find("mean = 1, std = 2"), 17, "mean = [1, 1, 1], std = [2, 2, 2]");
  EXPECT_EQ(draw(scalar, "scalar"), draw(each, "each"));
}

}  // namespace
}  // namespace descent
