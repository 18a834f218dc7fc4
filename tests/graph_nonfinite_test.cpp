// Covers host/graph/printer.cpp and the simplifier (host/graph/) on non-finite constants: a
// negative infinity is a leaf to the printer (it used to be taken for a signed product and sent
// the printer back to the same node until the stack overflowed), and the rewrites reach a fixed
// point on it. Also the CLI paths that printed such a node: `descent derive` and the divergence
// message of `descent train`. Needs no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "ad/derive.hpp"
#include "expr/ast.hpp"
#include "graph/graph.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"
#include "graph/stabilize.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(NonFinitePrinting, NegativeInfinityIsALeaf) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::free);
  const NodeId minus_inf = g.constant(-kInf);
  EXPECT_EQ(print_expression(g, minus_inf), "-inf");
  EXPECT_EQ(print_expression(g, g.mul(x, minus_inf)), "x*-inf");
  EXPECT_EQ(print_expression(g, g.mul(g.num(2), g.mul(minus_inf, x))), "2*x*-inf");
  EXPECT_EQ(print_expression(g, g.pow(minus_inf, g.num(2))), "(-inf)^2");
  EXPECT_EQ(print_expression(g, g.add(x, minus_inf)), "x - inf");
  EXPECT_EQ(print_expression(g, g.div(x, minus_inf)), "x/(-inf)");
  EXPECT_EQ(print_expression(g, g.mul(x, g.constant(kInf))), "x*inf");
  EXPECT_EQ(print_expression(g, g.mul(x, g.constant(std::nan("")))), "x*nan");
}

// The gradients of `text` with respect to every variable, as `descent derive` computes them,
// printed; every simplify on the way must reach its fixed point below the pass cap.
std::vector<std::string> derived(const std::string& text) {
  Graph g;
  const auto ast = expr::parse_expression(text, "expr");
  const NodeId written = lower_expression(g, *ast, free_variable_scope(g));
  RewriteStats stats;
  const NodeId simplified = simplify(g, {written}, &stats)[0];
  EXPECT_FALSE(stats.hit_cap) << text;
  const NodeId f = stabilize(g, {simplified})[0];
  GradientOptions raw;
  raw.simplify = false;
  const std::vector<NodeId> gradients = derive_gradients(g, f, g.variables_of({written}), raw);
  const std::vector<NodeId> simple = simplify(g, gradients, &stats);
  EXPECT_FALSE(stats.hit_cap) << text;
  std::vector<std::string> printed{print_expression(g, f)};
  for (NodeId id : simple) printed.push_back(print_expression(g, id));
  return printed;
}

TEST(NonFinitePrinting, DerivativesOfProductsWithInfinityPrint) {
  EXPECT_EQ(derived("x*log(0)"), (std::vector<std::string>{"x*-inf", "-inf"}));
  EXPECT_EQ(derived("-x/0"), (std::vector<std::string>{"x*-inf", "-inf"}));
  EXPECT_EQ(derived("x/0/y"), (std::vector<std::string>{"inf*x/y", "inf/y", "-inf*x/y^2"}));
  EXPECT_EQ(derived("W-1e308-1e308"), (std::vector<std::string>{"W - inf", "1"}));
  EXPECT_EQ(derived("1 - x*log(0)"), (std::vector<std::string>{"1 + x*inf", "inf"}));
}

class NonFiniteCommands : public ::testing::Test {
 protected:
  test::TempDir scratch_{"descent_nonfinite"};
};

TEST_F(NonFiniteCommands, DeriveOfAProductWithInfinityExitsNormally) {
  const test::CliResult a = test::run_descent({"derive", "x*log(0)"}, scratch_.path());
  EXPECT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, "d/dx = -inf\n");
  const test::CliResult b = test::run_descent({"derive", "--", "-x/0"}, scratch_.path());
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(b.out, "d/dx = -inf\n");
  const test::CliResult c = test::run_descent({"derive", "x/0/y"}, scratch_.path());
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "d/dx = inf/y\nd/dy = -inf*x/y^2\n");
  const test::CliResult d =
      test::run_descent({"derive", "--explain", "W-1e308-1e308"}, scratch_.path());
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("d/dW = 1\n"), std::string::npos) << d.out;
}

// The divergence message names the first non-finite node by printing it: exit 3, not a crash.
TEST_F(NonFiniteCommands, TrainingThatMeetsInfinityReportsDivergence) {
  test::write_file(scratch_ / "cost.toml",
                   "[experiment]\nname = \"infinite\"\n[params]\na = 0.5\n[cost]\n"
                   "loss = \"a*log(0) + a^2\"\n[train]\nsteps = 5\n");
  const test::CliResult r =
      test::run_descent({"train", (scratch_ / "cost.toml").string(), "--device", "cpu", "--quiet",
                         "--out", (scratch_ / "run").string()},
                        scratch_.path());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("the first non-finite value is in '-inf'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace descent
