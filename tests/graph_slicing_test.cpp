// Covers indexing and slicing end to end below the trainer: the parser's subscripts lowered to
// Op::slice (host/graph/lower.cpp, window.cpp) with NumPy's negative indices and open ends and
// an exact diagnostic for each bad subscript; pad (the adjoint's zeros) lowered and checked; the
// printer's bracket syntax parsed back to the same node; the simplifier's window rules
// (simplify.cpp); the CPU kernels per sample of a batch (host/cpu/kernels.cpp); and printed
// derivatives that parse back to the same function. Needs no GPU.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "ad/derive.hpp"
#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "expr/ast.hpp"
#include "graph/graph.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"
#include "graph/window.hpp"

namespace descent {
namespace {

// x scalar, v (5), u (3), A (3×4); every other name is unknown.
NameScope slicing_scope(Graph& graph) {
  NameScope scope;
  scope.known_names = {"x", "v", "u", "A"};
  scope.lookup = [&graph](const std::string& name, const Span& span) -> NodeId {
    if (name == "x") return graph.variable(name, VarKind::free, Shape::scalar(), span);
    if (name == "v") return graph.variable(name, VarKind::free, Shape::vector(5), span);
    if (name == "u") return graph.variable(name, VarKind::free, Shape::vector(3), span);
    if (name == "A") return graph.variable(name, VarKind::free, Shape::matrix(3, 4), span);
    return kNoNode;
  };
  return scope;
}

NodeId lower(Graph& g, const std::string& text) {
  return lower_expression(g, *expr::parse_expression(text), slicing_scope(g));
}

std::string lowering_error(const std::string& text) {
  Graph g;
  try {
    lower(g, text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    return e.what();
  }
  return "";
}

TEST(Slicing, BadSubscriptsAreInputErrorsAtTheirColumn) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      {"v[5]",
       "expr:1:3: error: index 5 is out of range for axis 0 of length 5: expected -5 to 4\n"
       "  v[5]\n"
       "    ^"},
      {"v[-6] + 1",
       "expr:1:3: error: index -6 is out of range for axis 0 of length 5: expected -5 to 4\n"
       "  v[-6] + 1\n"
       "    ^~"},
      {"A[1, 4]",
       "expr:1:6: error: index 4 is out of range for axis 1 of length 4: expected -4 to 3\n"
       "  A[1, 4]\n"
       "       ^"},
      {"v[2:9]",
       "expr:1:5: error: slice bound 9 is out of range for axis 0 of length 5: expected -5 to 5\n"
       "  v[2:9]\n"
       "      ^"},
      {"v[3:1]",
       "expr:1:3: error: the slice is empty on axis 0 of length 5 (from 3 to 1): expected its "
       "start before its stop\n"
       "  v[3:1]\n"
       "    ^~~"},
      {
          "A[:, -1:]",
          "",  // a valid slice: the last column as a (3, 1) block
      },
      {"A[:, 2:-2]",
       "expr:1:6: error: the slice is empty on axis 1 of length 4 (from 2 to 2): expected its "
       "start before its stop\n"
       "  A[:, 2:-2]\n"
       "       ^~~~"},
      {"sum(v[1, 2])",
       "expr:1:5: error: too many indices: a value of shape (5) takes at most 1, got 2\n"
       "  sum(v[1, 2])\n"
       "      ^~~~~~~"},
      {"x[0]",
       "expr:1:1: error: a scalar cannot be indexed\n"
       "  x[0]\n"
       "  ^~~~"},
      {"v[x]",
       "expr:1:3: error: an index must be a whole number written as a literal (shapes are "
       "static)\n"
       "  v[x]\n"
       "    ^"},
      {"v[1.5:]",
       "expr:1:3: error: an index must be a whole number written as a literal (shapes are "
       "static)\n"
       "  v[1.5:]\n"
       "    ^~~"},
      {"pad(v, 1)",
       "expr:1:1: error: 'pad' takes a value and 2 widths (before, after) for a vector or 4 "
       "(top, bottom, left, right) for a matrix, got 2 arguments\n"
       "  pad(v, 1)\n"
       "  ^~~~~~~~~"},
      {"pad(v, 1, 0, 0, 1)",
       "expr:1:1: error: pad expects 2 widths (before, after) for a vector or 4 (top, bottom, "
       "left, right) for a matrix, got 4 for shape (5)\n"
       "  pad(v, 1, 0, 0, 1)\n"
       "  ^~~~~~~~~~~~~~~~~~"},
      {"pad(v, -1, 0)",
       "expr:1:8: error: pad's width must be a whole number >= 0 written as a literal\n"
       "  pad(v, -1, 0)\n"
       "         ^~"},
      {"slice(v, 1)",
       "expr:1:1: error: unknown function 'slice'\n"
       "  slice(v, 1)\n"
       "  ^~~~~"},
  };
  for (const Case& c : cases) EXPECT_EQ(lowering_error(c.text), c.expected) << c.text;
}

TEST(Slicing, SubscriptsReadAsNumPyReadsThem) {
  Graph g;
  EXPECT_EQ(g[lower(g, "v[0]")].shape, Shape::scalar());
  EXPECT_EQ(g[lower(g, "v[1:]")].shape, Shape::vector(4));
  EXPECT_EQ(g[lower(g, "v[:-1]")].shape, Shape::vector(4));
  EXPECT_EQ(g[lower(g, "A[1]")].shape, Shape::vector(4));
  EXPECT_EQ(g[lower(g, "A[:, 2]")].shape, Shape::vector(3));
  EXPECT_EQ(g[lower(g, "A[1, 2]")].shape, Shape::scalar());
  EXPECT_EQ(g[lower(g, "A[0:2, 1:3]")].shape, Shape::matrix(2, 2));
  EXPECT_EQ(g[lower(g, "A[1:2]")].shape, Shape::matrix(1, 4));
  EXPECT_EQ(g[lower(g, "pad(v, 2, 1)")].shape, Shape::vector(8));
  EXPECT_EQ(g[lower(g, "pad(A, 1, 0, 0, 2)")].shape, Shape::matrix(4, 6));
  // Negative indices and open ends name the same window as their positive spellings.
  EXPECT_EQ(lower(g, "v[-1]"), lower(g, "v[4]"));
  EXPECT_EQ(lower(g, "v[:-1]"), lower(g, "v[0:4]"));
  EXPECT_EQ(lower(g, "A[-1, -2:]"), lower(g, "A[2, 2:4]"));
  EXPECT_EQ(lower(g, "A[1]"), lower(g, "A[1, :]"));
  // A whole slice is the value itself; an index is not a slice of length one.
  EXPECT_EQ(lower(g, "v[:]"), lower(g, "v"));
  EXPECT_EQ(lower(g, "A[:, :]"), lower(g, "A"));
  EXPECT_NE(lower(g, "v[1]"), lower(g, "v[1:2]"));
}

TEST(Slicing, PrintsInBracketSyntaxThatParsesBackToTheSameNode) {
  Graph g;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"v[0]", "v[0]"},
      {"v[-1]", "v[4]"},
      {"v[1:]", "v[1:]"},
      {"v[:-1]", "v[:4]"},
      {"v[1:3]", "v[1:3]"},
      {"A[1]", "A[1]"},
      {"A[:, -1]", "A[:, 3]"},
      {"A[1:, 2]", "A[1:, 2]"},
      {"A[0, :2]", "A[0, :2]"},
      {"A[:2, 1:]", "A[:2, 1:]"},
      {"(v + 1)[2:]", "(v + 1)[2:]"},
      {"-v[0]^2", "-v[0]^2"},
      {"exp(A)[1, 1]", "exp(A)[1, 1]"},
      {"pad(u, 1, 1)", "pad(u, 1, 1)"},
      {"pad(A, 0, 1, 2, 0)", "pad(A, 0, 1, 2, 0)"},
  };
  for (const auto& [text, printed] : cases) {
    const NodeId id = lower(g, text);
    EXPECT_EQ(print_expression(g, id), printed) << text;
    EXPECT_EQ(lower(g, printed), id) << text;
  }
}

TEST(Slicing, SimplifierComposesWindowsAndSeesThroughPads) {
  Graph g;
  const auto simplified = [&](const std::string& text) {
    return print_expression(g, simplify(g, {lower(g, text)})[0]);
  };
  EXPECT_EQ(simplified("v[1:][:-1]"), "v[1:4]");  // a slice of a slice is one slice
  EXPECT_EQ(simplified("v[1:][2]"), "v[3]");
  EXPECT_EQ(simplified("A[1:][:, 2]"), "A[1:, 2]");
  EXPECT_EQ(simplified("A[:, 1:][1]"), "A[1, 1:]");
  EXPECT_EQ(simplified("v[1:][:]"), "v[1:]");
  EXPECT_EQ(simplified("pad(u, 1, 0)[1:]"), "u");  // the window is u's place
  EXPECT_EQ(simplified("pad(u, 1, 0)[2]"), "u[1]");
  EXPECT_EQ(simplified("pad(u, 1, 0)[0]"), "0");  // the window misses u
  EXPECT_EQ(simplified("pad(u, 2, 0)[1:4]"), "pad(u[:2], 1, 0)");
  EXPECT_EQ(simplified("pad(pad(u, 1, 0), 0, 2)"), "pad(u, 1, 2)");
  EXPECT_EQ(simplified("pad(u, 0, 0)"), "u");
  EXPECT_EQ(simplified("sum(pad(u, 1, 1))"), "sum(u)");
  EXPECT_EQ(simplified("pad(A, 1, 0, 0, 1)[1:, :4]"), "A");
  EXPECT_EQ(simplified("pad(A, 1, 0, 0, 1)[0]"), "0");
}

TEST(Slicing, KernelsSliceAndPadEachSampleOfABatch) {
  Graph g;
  const NodeId rows = g.variable("r", VarKind::input, Shape::matrix(2, 3));
  const auto scope = [&] {
    NameScope s;
    s.lookup = [&](const std::string& name, const Span&) { return name == "r" ? rows : kNoNode; };
    return s;
  }();
  const auto lowered = [&](const std::string& text) {
    return lower_expression(g, *expr::parse_expression(text), scope);
  };
  const NodeId last_column = lowered("r[:, -1]");
  const NodeId element = lowered("r[1, 0]");
  const NodeId block = lowered("r[:, 1:]");
  const NodeId padded = lowered("pad(r[0, 1:], 1, 0)");
  const NodeId framed = lowered("pad(r[1:], 1, 0, 0, 1)");
  Interpreter run(g, {last_column, element, block, padded, framed});
  // Two samples: r = [[1 2 3] [4 5 6]] and ten times that.
  Tensor r = Tensor::batched(Shape::matrix(2, 3), 2);
  for (std::size_t i = 0; i < 6; ++i) {
    r.data[i] = static_cast<double>(i + 1);
    r.data[6 + i] = 10.0 * static_cast<double>(i + 1);
  }
  run.set(rows, r);
  run.run();
  EXPECT_EQ(run.value(last_column).data, (std::vector<double>{3, 6, 30, 60}));
  EXPECT_EQ(run.value(element).data, (std::vector<double>{4, 40}));
  EXPECT_EQ(run.value(block).data, (std::vector<double>{2, 3, 5, 6, 20, 30, 50, 60}));
  EXPECT_EQ(run.value(padded).data, (std::vector<double>{0, 2, 3, 0, 20, 30}));
  EXPECT_EQ(run.value(framed).data,
            (std::vector<double>{0, 0, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 40, 50, 60, 0}));
}

// The gradient of each expression printed, parsed back and evaluated: the same values as the
// gradient itself at random points (exactly: the same operations in the same order).
TEST(Slicing, PrintedDerivativesParseBackToTheSameFunction) {
  const std::vector<std::string> cases = {
      "sum(100*(v[1:] - v[:-1]^2)^2 + (1 - v[:-1])^2)",
      "v[0]*v[-1] + sum(A[1]*A[:, 2][0]) + A[2, 3]^2",
      "sum(A[1:, :2]^2) + dot(A[:, 1], u) + sum(pad(u, 1, 1)*v)",
      "sum(exp(A[:2] - 1)) + logsumexp(v[2:])",
      // adjoints that are filled constants: pad(ones(4), 1, 0), outer(onehot(1, 3), ones(4))
      "sum(v[1:]) + 3*sum(A[1]) + sum(A[:, 0])",
  };
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> coordinate(-1.5, 1.5);
  for (const std::string& text : cases) {
    SCOPED_TRACE(text);
    Graph g;
    const NodeId f = lower(g, text);
    const std::vector<NodeId> vars = g.variables_of({f});
    const std::vector<NodeId> grads = derive_gradients(g, f, vars);
    std::vector<NodeId> reparsed;
    for (NodeId grad : grads) {
      const std::string printed = print_expression(g, grad);
      ASSERT_NO_THROW(reparsed.push_back(lower(g, printed))) << printed;
      EXPECT_EQ(g[reparsed.back()].shape, g[grad].shape) << printed;
    }
    std::vector<NodeId> outputs = grads;
    outputs.insert(outputs.end(), reparsed.begin(), reparsed.end());
    Interpreter run(g, outputs);
    for (NodeId v : vars) {
      Tensor t = Tensor::uniform(g[v].shape);
      for (double& e : t.data) e = coordinate(rng);
      run.set(v, t);
    }
    run.run();
    for (std::size_t i = 0; i < grads.size(); ++i)
      EXPECT_EQ(run.value(grads[i]).data, run.value(reparsed[i]).data)
          << "d/d" << g[vars[i]].name << " = " << print_expression(g, grads[i]);
  }
}

}  // namespace
}  // namespace descent
