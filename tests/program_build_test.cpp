// Covers host/program/program.cpp: lowering the model expressions of a config. Chains of
// definitions of any length are lowered without recursion (a chain of 10,000 entries used to
// overflow the stack), in time linear in the chain, and a cycle among the definitions is an
// error at the use that closes it, even when the cost does not use the entries.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "common/error.hpp"
#include "config/experiment.hpp"
#include "graph/printer.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

class ProgramBuildTest : public ::testing::Test {
 protected:
  ExperimentConfig load(const std::string& text) const {
    const std::string path = (tmp_ / "cfg.toml").string();
    test::write_file(path, text);
    return load_experiment(path);
  }

  // The rendered error of building the program of `text`, the temporary path shown as
  // "cfg.toml".
  std::string error_of(const std::string& text) const {
    const std::string path = (tmp_ / "cfg.toml").string();
    try {
      build_program(load(text), {});
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      return replace_path(e.render(), path);
    }
    ADD_FAILURE() << "no error for:\n" << text;
    return {};
  }

  static std::string replace_path(std::string text, const std::string& path) {
    for (std::size_t at; (at = text.find(path)) != std::string::npos;)
      text.replace(at, path.size(), "cfg.toml");
    return text;
  }

  test::TempDir tmp_{"descent_program"};
};

// m0 = "w", m1 = "m0 + 1", ..., and a cost of the last one.
std::string model_chain(int entries) {
  std::string text = "[params]\nw = 0.5\n[model]\nm0 = \"w\"\n";
  for (int i = 1; i < entries; ++i)
    text += "m" + std::to_string(i) + " = \"m" + std::to_string(i - 1) + " + 1\"\n";
  text += "[cost]\nloss = \"m" + std::to_string(entries - 1) + "\"\n";
  return text;
}

TEST_F(ProgramBuildTest, LowersAChainOfTenThousandModelEntries) {
  const Program program = build_program(load(model_chain(10000)), {});
  ASSERT_EQ(program.params.size(), 1u);
  // d/dw of w + 9999 is 1.
  EXPECT_EQ(print_expression(program.graph, program.params[0].gradient), "1");
}

// A complexity guard, not a benchmark: the bound is far above the linear time (even under
// sanitizers); the recursive lowering crashed on such a chain, and loading it was quadratic
// (20,000 entries took about 7 seconds).
TEST_F(ProgramBuildTest, LoadsAndLowersTwentyThousandEntriesInLinearTime) {
  const auto started = std::chrono::steady_clock::now();
  const Program program = build_program(load(model_chain(20000)), {});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(print_expression(program.graph, program.params[0].gradient), "1");
  EXPECT_LT(seconds, 10.0);
}

TEST_F(ProgramBuildTest, UsesEachModelEntryOnceWhateverTheWrittenOrder) {
  const Program program = build_program(load(R"toml([params]
w = 2.0
[model]
c = "b*b"
b = "a + a"
a = "w^2"
[cost]
loss = "c + a"
)toml"),
                                        {});
  // (2w^2)^2 + w^2 = 4w^4 + w^2, whose derivative is 16w^3 + 2w.
  EXPECT_EQ(print_expression(program.graph, program.params[0].gradient), "16*w^3 + 2*w");
}

TEST_F(ProgramBuildTest, AnUnusedSelfReferenceIsACycle) {
  EXPECT_EQ(error_of("[params]\nw = 1.0\n[model]\nq = \"q + 1\"\n[cost]\nloss = \"w^2\"\n"),
            "cfg.toml:4:6: error: the model expression 'q' depends on itself (q -> q)\n"
            "  q + 1\n"
            "  ^");
}

TEST_F(ProgramBuildTest, AnUnusedCycleThroughSeveralEntriesIsNamedInFull) {
  EXPECT_EQ(error_of("[params]\nw = 1.0\n[model]\na = \"2*b\"\nb = \"c + w\"\nc = \"sin(a)\"\n"
                     "[cost]\nloss = \"w^2\"\n"),
            "cfg.toml:6:10: error: the model expression 'a' depends on itself (a -> b -> c -> a)\n"
            "  sin(a)\n"
            "      ^");
}

TEST_F(ProgramBuildTest, ACycleAtTheEndOfALongChainIsFound) {
  std::string text = model_chain(5000);
  text.replace(text.find("m0 = \"w\""), 8, "m0 = \"w + 0*m4999\"");
  // The chain is shown by its ends.
  EXPECT_EQ(error_of(text),
            "cfg.toml:5:7: error: the model expression 'm0' depends on itself (m0 -> m4999 -> "
            "m4998 -> m4997 -> m4996 -> ... 4990 more ... -> m5 -> m4 -> m3 -> m2 -> m1 -> m0)\n"
            "  m0 + 1\n"
            "  ^~");
}

TEST_F(ProgramBuildTest, AnUnknownNameInAChainIsReportedWhereItIsWritten) {
  std::string text = model_chain(3000);
  text.replace(text.find("m0 = \"w\""), 8, "m0 = \"v\"");
  EXPECT_EQ(error_of(text),
            "cfg.toml:4:7: error: unknown name 'v'; did you mean 'w'?\n"
            "  v\n"
            "  ^");
}

// Found by fuzz/expression.cpp: a cost that is the same for every sample (or start) was wrapped
// in a batch total anyway, which the step plan refuses as an internal error (exit 1 for a
// config as plain as loss = "22"). The total of a uniform value is the value itself (fit) or
// starts times it (minimize); either way its gradient is zero and the run trains nothing.
TEST_F(ProgramBuildTest, ACostThatIsTheSameForEverySampleIsPlannedWithoutABatchTotal) {
  test::write_file(tmp_ / "d.csv", "x,y\n1,2\n3,4\n");
  for (const std::string config : {
           "[params]\nw = 1.0\n[cost]\nloss = \"22\"\n",
           "[params]\nw = 1.0\n[cost]\nloss = \"22\"\n[train]\nstarts = 3\n",
           "[data]\nfile = \"d.csv\"\ninputs = { x = \"x\", y = \"y\" }\n[params]\nw = 1.0\n"
           "[cost]\nloss = \"22\"\n",
           "[data]\nfile = \"d.csv\"\ninputs = { x = \"x\", y = \"y\" }\n[params]\nw = 1.0\n"
           "[cost]\nloss = \"w^2\"\npenalty = \"3\"\n",
       }) {
    const Program program =
        build_program(load(config), {{"x", Shape::scalar()}, {"y", Shape::scalar()}});
    EXPECT_NO_THROW(plan_program(program)) << config;
    const std::string path = (tmp_ / "cfg.toml").string();
    const test::CliResult r = test::run_descent(
        {"train", path, "--out", (tmp_ / "run").string(), "--quiet"}, tmp_.path());
    EXPECT_EQ(r.exit_code, 0) << config << r.err;
    std::filesystem::remove_all(tmp_ / "run");
  }
}

}  // namespace
}  // namespace descent
