// The op table's places outside the compiler's reach (graph/ops.hpp, "Adding an op"): the
// every-op config really holds every op, so that the backends' tests that run it (the host
// executor of the emitted kernels, the NVRTC budget, `descent check`, the GPU comparison) cover
// the whole table; and README's list of functions names every function of the language.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "cli/experiment_setup.hpp"
#include "graph/ops.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

TEST(OpTable, TheEveryOpConfigsTrainingStepHoldsEveryOp) {
  const Experiment e = set_up_experiment(config_path("every_op.toml").string(), {});
  const Graph& g = e.program->graph;
  std::set<Op> seen;
  for (NodeId id : g.reachable(e.program->step_outputs())) seen.insert(g[id].op);
  // No training step holds these: canonical forms leave no neg, sub or div (-a is (-1)*a,
  // a - b is a + (-1)*b, a/b is a*b^-1; their rows serve the printer and the constant folder),
  // and batch_sum, reverse mode's total of a per-sample contribution to a shared parameter,
  // meets the batch mean's 1/batch_size and becomes batch_mean (minimize mode has no shared
  // parameter: every start has its own).
  // The ops without a gradient (comparisons, argmax) are refused in a cost: [metrics] use
  // them, through the Interpreter (tests/predict_test.cpp, tests/graph_lowering_test.cpp).
  const std::set<Op> absent = {Op::neg, Op::sub, Op::div, Op::batch_sum};
  for (const OpInfo& info : kOpTable)
    if (!info.differentiable)
      EXPECT_FALSE(seen.count(info.op)) << info.name << " reaches a training step";
    else if (absent.count(info.op))
      EXPECT_FALSE(seen.count(info.op)) << info.name << " now reaches a training step";
    else
      EXPECT_TRUE(seen.count(info.op)) << "tests/configs/every_op.toml's training step has no "
                                       << info.name << ": add a use of it to the config";
}

// The paragraph of README.md that starts with "Functions:".
std::string readme_functions() {
  std::ifstream in(kSourceDir / "README.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string readme = text.str();
  const std::size_t start = readme.find("\nFunctions: ");
  if (start == std::string::npos) return {};
  return readme.substr(start, readme.find("\n\n", start) - start);
}

TEST(OpTable, ReadmeListsEveryFunctionOfTheLanguage) {
  const std::string functions = readme_functions();
  ASSERT_FALSE(functions.empty()) << "README.md has no paragraph starting with 'Functions: '";
  // The operators are written as such (README: "+ - * /", "@", unary minus), not as calls.
  const std::set<Op> operators = {Op::neg,     Op::add,           Op::sub,   Op::mul,
                                  Op::div,     Op::matmul,        Op::less,  Op::less_equal,
                                  Op::greater, Op::greater_equal, Op::equal, Op::not_equal};
  int named = 0;
  for (const OpInfo& info : kOpTable) {
    if (!op_for_function(info.name) || operators.count(info.op)) continue;
    const std::regex word("[`\\s(]" + std::string(info.name) + "[`\\s(]");
    EXPECT_TRUE(std::regex_search(functions, word))
        << "README.md's list of functions does not name " << info.name;
    ++named;
  }
  EXPECT_GE(named, 25);  // the list is the language's, not an empty set
}

}  // namespace
}  // namespace descent::test
