// Limits with estimates (host/cli/memory_estimate.cpp): a run whose parameters and optimizer
// state, or whose evaluation of many starts at once, cannot fit the memory this machine makes
// available is refused before anything is allocated: exit 2, the estimate, the key responsible.
#include <gtest/gtest.h>

#include "cli/memory_estimate.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

TEST(MemoryLimits, AParameterTooLargeForTheMachineIsRefusedAtItsKey) {
  // 40000 x 40000 doubles: 12.8 GB a copy; with Adam's state and the loop's copies, beyond any
  // machine these tests run on (and surely beyond what is available: checked).
  ASSERT_LT(cli::available_memory(), std::int64_t{100'000'000'000});
  TempDir dir("descent_memory");
  write_file(dir / "big.toml",
             "[params]\nW = { shape = [40000, 40000] }\n[cost]\nloss = \"sum(W^2)\"\n"
             "[train]\noptimizer = \"adam\"\n");
  const CliResult r = run_descent(
      {"train", (dir / "big.toml").string(), "--out", (dir / "run").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("big.toml:2:5: error: this run needs about"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mostly 'W' (shape (40000, 40000))"), std::string::npos) << r.err;
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
