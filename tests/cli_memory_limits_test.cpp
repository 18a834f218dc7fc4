// Limits with estimates (host/cli/memory_estimate.cpp): a run whose parameters and optimizer
// state, or whose evaluation of many starts at once, cannot fit the memory this machine makes
// available is refused before anything is allocated: exit 2, the estimate, the key responsible.
#include <gtest/gtest.h>

#include "cli/memory_estimate.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

TEST(MemoryLimits, AParameterTooLargeForTheMachineIsRefusedAtItsKey) {
  // n x n matrices of doubles under Adam, 72 bytes a value in the estimate (memory_estimate.cpp:
  // five copies and two state arrays twice), from n = 40000 (115 GB) up to 46000 (152 GB, a
  // parameter's most elements are 2^31), and as many of them as it takes to be beyond what this
  // machine makes available (one here; the GPU machine makes about 130 GB available).
  const std::int64_t available = cli::available_memory();
  std::int64_t n = 40000;
  while (n * n * 72 <= available && n < 46000) n += 2000;
  const std::int64_t count = available / (n * n * 72) + 1;
  const std::string side = std::to_string(n);
  std::string params = "[params]\n", loss = "sum(W^2)";
  for (std::int64_t k = 1; k <= count; ++k) {
    const std::string name = k == 1 ? "W" : "W" + std::to_string(k);
    params += name + " = { shape = [" + side + ", " + side + "] }\n";
    if (k > 1) loss += " + sum(" + name + "^2)";
  }
  TempDir dir("descent_memory");
  write_file(dir / "big.toml",
             params + "[cost]\nloss = \"" + loss + "\"\n[train]\noptimizer = \"adam\"\n");
  const CliResult r = run_descent(
      {"train", (dir / "big.toml").string(), "--out", (dir / "run").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("big.toml:2:5: error: this run needs about"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mostly 'W' (shape (" + side + ", " + side + "))"), std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

TEST(MemoryLimits, TooManyStartsAreRefusedNamingTheKey) {
  TempDir dir("descent_memory_starts");
  write_file(
      dir / "starts.toml",
      "[params]\nx = { init = \"uniform\" }\ny = { init = \"uniform\" }\n"
      "[cost]\nloss = \"(x^2 + y - 11)^2 + (x + y^2 - 7)^2\"\n[train]\nstarts = 400000000\n");
  const CliResult r = run_descent(
      {"train", (dir / "starts.toml").string(), "--out", (dir / "run").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("train.starts = 400000000"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "run"));
}

}  // namespace
}  // namespace descent::test
