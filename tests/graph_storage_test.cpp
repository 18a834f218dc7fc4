// Covers host/graph/graph.cpp's node storage and interning, and the places in host/graph and
// host/ad that read a node and then build nodes: a `const Node&` taken from a graph stays valid
// while the graph grows (it used to point into a vector that building reallocated, which a
// clang ASan build caught on `descent derive -- "-x"`), interning gives one id per key however
// large the graph, and the rewrites that read operands before building give the same results.
// Needs no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "ad/derive.hpp"
#include "ad/explain.hpp"
#include "common/error.hpp"
#include "expr/ast.hpp"
#include "graph/graph.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/stabilize.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

TEST(GraphStorage, ANodeStaysWhereItIsWhileTheGraphGrows) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::free);
  const NodeId sum = g.add(x, g.num(1));
  const Node& held = g[sum];
  const Node* where = &g[sum];
  NodeId chain = x;
  for (int i = 0; i < 200000; ++i) chain = g.add(chain, g.num(static_cast<double>(i)));
  EXPECT_EQ(&g[sum], where);
  EXPECT_EQ(held.op, Op::add);
  EXPECT_EQ(held[0], x);
  EXPECT_EQ(g[x].name, "x");
  EXPECT_GT(g.size(), 400000u);
}

TEST(GraphStorage, InterningGivesOneIdPerKey) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::free);
  const NodeId v = g.variable("v", VarKind::free, Shape::vector(3));
  std::vector<NodeId> built;
  for (int i = 0; i < 50000; ++i) built.push_back(g.mul(g.num(i), g.add(x, g.num(-i))));
  const std::size_t size = g.size();
  for (int i = 0; i < 50000; ++i) EXPECT_EQ(g.mul(g.add(x, g.num(-i)), g.num(i)), built[i]);
  EXPECT_EQ(g.size(), size);
  // Keys that differ only in a shape, an attribute, a sign of zero or a NaN's presence.
  EXPECT_EQ(g.num(0.0), g.num(-0.0));
  EXPECT_NE(g.constant(2.0), g.constant(2.0, Shape::vector(3)));
  EXPECT_EQ(g.constant(2.0, Shape::vector(3)), g.constant(2.0, Shape::vector(3)));
  EXPECT_NE(g.apply_with_attr(Op::onehot, x, Shape::vector(3)),
            g.apply_with_attr(Op::onehot, x, Shape::vector(4)));
  EXPECT_EQ(g.apply_with_attr(Op::sum_to, v, Shape::scalar()),
            g.apply_with_attr(Op::sum_to, v, Shape::scalar()));
  EXPECT_EQ(g.num(std::nan("")), g.num(std::nan("")));
  EXPECT_EQ(g.variable("x", VarKind::free), x);
  EXPECT_THROW(g.variable("x", VarKind::param), Error);
}

// An op node built over a child with no other parent is found through that child alone, and
// is entered in the index only when the child gains a second parent (graph.hpp, HeadSlot): then
// with an id far older than the keys entered around it, among many moves of the index's young
// part into its main part. Every such node must still be found, never built twice.
TEST(GraphStorage, ANodeIsFoundAfterItsChildGainsParents) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::free);
  constexpr int kCount = 40000;
  std::vector<NodeId> base, first, second, third;
  for (int i = 0; i < kCount; ++i) {
    base.push_back(g.add(x, g.num(i)));   // over a new constant: its only parent
    first.push_back(g.neg(base.back()));  // base's only parent, so far
  }
  for (int i = 0; i < kCount; ++i) second.push_back(g.apply(Op::exp, base[i]));
  for (int i = 0; i < kCount; ++i) third.push_back(g.mul(base[i], base[i]));
  const std::size_t size = g.size();
  for (int i = 0; i < kCount; ++i) {
    ASSERT_EQ(g.neg(base[i]), first[i]) << i;
    ASSERT_EQ(g.apply(Op::exp, base[i]), second[i]) << i;
    ASSERT_EQ(g.mul(base[i], base[i]), third[i]) << i;
    ASSERT_EQ(g.add(g.num(i), x), base[i]) << i;
  }
  EXPECT_EQ(g.size(), size);
}

// Reachable nodes in id order, as the interpreter and the rewrites rely on.
TEST(GraphStorage, ReachableListsEveryNodeBelowTheRootsInIdOrder) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::free);
  const NodeId y = g.variable("y", VarKind::free);
  const NodeId unused = g.mul(x, g.num(7));
  const NodeId a = g.add(x, g.num(1));
  const NodeId b = g.apply(Op::exp, a);
  const NodeId c = g.mul(b, y);
  EXPECT_EQ(g.reachable({c}), (std::vector<NodeId>{x, y, g.num(1), a, b, c}));
  EXPECT_EQ(g.reachable({b, kNoNode, b}), (std::vector<NodeId>{x, g.num(1), a, b}));
  EXPECT_EQ(g.reachable({}), std::vector<NodeId>{});
  EXPECT_EQ(g.count_reachable({unused, c}), 8u);
}

std::string derived(const std::string& text) {
  Graph g;
  const auto ast = expr::parse_expression(text, "expr");
  const NodeId written = lower_expression(g, *ast, free_variable_scope(g));
  const NodeId f = stabilize(g, {written})[0];
  std::string out;
  const std::vector<NodeId> wrt = g.variables_of({written});
  const std::vector<NodeId> gradients = derive_gradients(g, f, wrt);
  for (std::size_t i = 0; i < wrt.size(); ++i)
    out += "d/d" + g[wrt[i]].name + " = " + print_expression(g, gradients[i]) + "\n";
  return out;
}

// Each of these rewrites read a node's operands after building a node (a negation, a
// difference, a quotient, the cross-entropy of logits, the explanation of a product).
TEST(GraphStorage, RewritesThatBuildNodesKeepTheirOperands) {
  EXPECT_EQ(derived("-x"), "d/dx = -1\n");
  EXPECT_EQ(derived("-(x*y) - x/y"), "d/dx = -y - 1/y\nd/dy = x*(1/y^2 - 1)\n");
  EXPECT_EQ(derived("-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"),
            "d/dy = -z\nd/dz = sigmoid(z) - y\n");
  Graph g;
  const auto ast = expr::parse_expression("x*y", "expr");
  const NodeId f = lower_expression(g, *ast, free_variable_scope(g));
  const std::string explained = explain_derivative(g, f, g.find_variable("x"));
  EXPECT_NE(explained.find("with u = x, v = y"), std::string::npos) << explained;
  EXPECT_NE(explained.find("d/dx = y\n"), std::string::npos) << explained;
}

class StorageCommands : public ::testing::Test {
 protected:
  test::TempDir scratch_{"descent_storage"};
};

TEST_F(StorageCommands, DeriveOfANegation) {
  const test::CliResult r = test::run_descent({"derive", "--", "-x"}, scratch_.path());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "d/dx = -1\n");
  const test::CliResult e = test::run_descent({"derive", "--explain", "x*y"}, scratch_.path());
  EXPECT_EQ(e.exit_code, 0) << e.err;
  EXPECT_NE(e.out.find("with u = x, v = y"), std::string::npos) << e.out;
}

}  // namespace
}  // namespace descent
