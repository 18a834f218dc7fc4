// `descent derive` with an expression that starts with '-' (host/cli/derive_command.cpp,
// rewrite_derive_expressions): it works in any argument position, before or after the options,
// with or without "--" in front, and options after "--" are still options.
#include <gtest/gtest.h>

#include "cli/commands.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

TEST(DeriveArguments, ALeadingMinusWorksInAnyPosition) {
  TempDir dir("descent_derive_minus");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"derive", "--", "-x^2", "--wrt", "x"},
                                             {"derive", "-x^2", "--wrt", "x"},
                                             {"derive", "--wrt", "x", "--", "-x^2"},
                                             {"derive", "--wrt", "x", "-x^2"},
                                             {"derive", "--wrt=x", "-x^2", "--format", "text"}}) {
    const CliResult r = run_descent(args, dir.path());
    EXPECT_EQ(r.exit_code, 0) << args[1] << " " << args[2] << "\n" << r.err;
    EXPECT_EQ(r.out, "d/dx = -2*x\n") << r.err;
  }
  const CliResult both = run_descent({"derive", "x", "-x"}, dir.path());
  EXPECT_EQ(both.exit_code, 2) << both.err;
  const CliResult none = run_descent({"derive", "--wrt", "x"}, dir.path());
  EXPECT_EQ(none.exit_code, 2) << none.err;
}

TEST(DeriveArguments, OnlyTheDeriveCommandIsRewritten) {
  const std::vector<std::string> train = {"train", "c.toml", "--set", "train.lr=0.1"};
  EXPECT_EQ(cli::rewrite_derive_expressions(train), train);
  EXPECT_EQ(cli::rewrite_derive_expressions({"derive", "--at", "x=-1", "-x"}),
            (std::vector<std::string>{"derive", "--at", "x=-1", "--expression=-x"}));
}

}  // namespace
}  // namespace descent::test
