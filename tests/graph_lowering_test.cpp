// Covers host/graph/lower.cpp (names, calls, arities and shapes checked at lowering, each error
// reported at the span of what caused it), the shape rules and interning of host/graph/graph.cpp
// (hash-consing, canonical order of commutative children, deterministic numbering), and the
// `descent derive` command end to end (host/cli/derive_command.cpp, run as a separate process:
// text and JSON output, --at, --explain, exit code 2 with the message for bad input).
// Needs no GPU.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "ad/derive.hpp"
#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "expr/ast.hpp"
#include "graph/graph.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/stabilize.hpp"

namespace descent {
namespace {

// A scope like a config's: scalars x, y and bias, vectors v and weight (3) and u (2), matrix
// A (2×3); every other name is unknown.
NameScope model_scope(Graph& graph) {
  NameScope scope;
  scope.known_names = {"x", "y", "bias", "v", "weight", "u", "A"};
  scope.lookup = [&graph](const std::string& name, const Span& span) -> NodeId {
    if (name == "x" || name == "y" || name == "bias")
      return graph.variable(name, VarKind::param, Shape::scalar(), span);
    if (name == "v" || name == "weight")
      return graph.variable(name, VarKind::param, Shape::vector(3), span);
    if (name == "u") return graph.variable(name, VarKind::param, Shape::vector(2), span);
    if (name == "A") return graph.variable(name, VarKind::param, Shape::matrix(2, 3), span);
    return kNoNode;
  };
  return scope;
}

// The rendered error of lowering `source`, or "" when it lowers.
std::string lowering_error(const std::shared_ptr<const Source>& source) {
  Graph graph;
  try {
    const auto ast = expr::parse_expression(source);
    lower_expression(graph, *ast, model_scope(graph));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    return e.what();
  }
  return "";
}

std::string lowering_error(const std::string& text) {
  return lowering_error(make_source("expr", text));
}

// ---------------------------------------------------------------------------------------------
// Malformed at lowering: each input parses, and lowering rejects it with the exact message.

TEST(GraphLowering, RejectsMalformedInputsWithExactDiagnostics) {
  struct Case {
    const char* text;
    const char* expected;
  };
  const Case cases[] = {
      // unknown functions, with and without a close enough name to suggest
      {"sinn(x)",
       "expr:1:1: error: unknown function 'sinn'; did you mean 'sin'?\n"
       "  sinn(x)\n"
       "  ^~~~"},
      {"x + exp(sqr(x))",
       "expr:1:9: error: unknown function 'sqr'; did you mean 'sqrt'?\n"
       "  x + exp(sqr(x))\n"
       "          ^~~"},
      {"foo(x)",
       "expr:1:1: error: unknown function 'foo'\n"
       "  foo(x)\n"
       "  ^~~"},
      // wrong arity: the whole call is marked
      {"sin(x, y)",
       "expr:1:1: error: 'sin' takes 1 argument, got 2\n"
       "  sin(x, y)\n"
       "  ^~~~~~~~~"},
      {"2*max(x)",
       "expr:1:3: error: 'max' takes 2 arguments, got 1\n"
       "  2*max(x)\n"
       "    ^~~~~~"},
      {"exp()",
       "expr:1:1: error: 'exp' takes 1 argument, got 0\n"
       "  exp()\n"
       "  ^~~~~"},
      {"onehot(x)",
       "expr:1:1: error: 'onehot' takes 2 arguments, got 1\n"
       "  onehot(x)\n"
       "  ^~~~~~~~~"},
      {"sum_to(v)",
       "expr:1:1: error: 'sum_to' takes a value and 1 or 2 dimensions, got 1 argument\n"
       "  sum_to(v)\n"
       "  ^~~~~~~~~"},
      // shapes: the node whose operands do not fit is marked
      {"v + u",
       "expr:1:1: error: cannot broadcast shapes (3) and (2) in '+'\n"
       "  v + u\n"
       "  ^~~~~"},
      {"x*(v - u)",
       "expr:1:3: error: cannot broadcast shapes (3) and (2) in '-'\n"
       "  x*(v - u)\n"
       "    ^~~~~~~"},
      {"min(v, A @ v)",
       "expr:1:1: error: cannot broadcast shapes (3) and (2) in 'min'\n"
       "  min(v, A @ v)\n"
       "  ^~~~~~~~~~~~~"},
      {"exp(sum(v) + dot(v, u))",
       "expr:1:14: error: dot expects two vectors of the same length, got shapes (3) and (2)\n"
       "  exp(sum(v) + dot(v, u))\n"
       "               ^~~~~~~~~"},
      {"x @ v",
       "expr:1:1: error: '@' needs vectors or matrices, got shapes scalar and (3); use '*' to "
       "scale\n"
       "  x @ v\n"
       "  ^~~~~"},
      {"A @ u",
       "expr:1:1: error: '@' shapes (2, 3) and (2) do not fit: inner dimensions 3 and 2 differ\n"
       "  A @ u\n"
       "  ^~~~~"},
      {"sum(softmax(A))",
       "expr:1:5: error: softmax expects a vector, got shape (2, 3)\n"
       "  sum(softmax(A))\n"
       "      ^~~~~~~~~~"},
      {"transpose(v)",
       "expr:1:1: error: transpose expects a matrix, got shape (3)\n"
       "  transpose(v)\n"
       "  ^~~~~~~~~~~~"},
      {"outer(A, v)",
       "expr:1:1: error: outer expects two vectors, got shapes (2, 3) and (3)\n"
       "  outer(A, v)\n"
       "  ^~~~~~~~~~~"},
      {"onehot(v, 3)",
       "expr:1:1: error: onehot expects a scalar index, got shape (3)\n"
       "  onehot(v, 3)\n"
       "  ^~~~~~~~~~~~"},
      {"sum_to(v, 2)",
       "expr:1:1: error: cannot sum shape (3) down to (2)\n"
       "  sum_to(v, 2)\n"
       "  ^~~~~~~~~~~~"},
      // onehot's class count must be a literal: shapes are static
      {"onehot(1, x)",
       "expr:1:11: error: onehot's class count must be a positive whole number written as a "
       "literal\n"
       "  onehot(1, x)\n"
       "            ^"},
      {"onehot(1, 2.5)",
       "expr:1:11: error: onehot's class count must be a positive whole number written as a "
       "literal\n"
       "  onehot(1, 2.5)\n"
       "            ^~~"},
      {"onehot(1, 0)",
       "expr:1:11: error: onehot's class count must be a positive whole number written as a "
       "literal\n"
       "  onehot(1, 0)\n"
       "            ^"},
      // names unknown to the scope, with the scope's names offered
      {"wieght * 2",
       "expr:1:1: error: unknown name 'wieght'; did you mean 'weight'?\n"
       "  wieght * 2\n"
       "  ^~~~~~"},
      {"dot(weight, v) + bais",
       "expr:1:18: error: unknown name 'bais'; did you mean 'bias'?\n"
       "  dot(weight, v) + bais\n"
       "                   ^~~~"},
      {"qqq",
       "expr:1:1: error: unknown name 'qqq'\n"
       "  qqq\n"
       "  ^~~"},
  };
  int checked = 0;
  for (const Case& c : cases) {
    EXPECT_EQ(lowering_error(c.text), c.expected) << "input: " << c.text;
    ++checked;
  }
  EXPECT_GE(checked, 15);
}

TEST(GraphLowering, ReportsConfigFilePositionsOnLaterLines) {
  // An expression that starts at line 12, column 8 of a config file and spans two lines.
  const auto source =
      make_source("configs/model.toml", "sigmoid(dot(weight, v)\n    + bais)", 12, 8);
  EXPECT_EQ(lowering_error(source),
            "configs/model.toml:13:7: error: unknown name 'bais'; did you mean 'bias'?\n"
            "      + bais)\n"
            "        ^~~~");
  // A value that starts at column 10 of line 4 (after `loss = `) and breaks across lines.
  const auto expression = make_source("configs/model.toml", "dot(v,\n    u)", 4, 10);
  EXPECT_EQ(lowering_error(expression),
            "configs/model.toml:4:10: error: dot expects two vectors of the same length, got "
            "shapes (3) and (2)\n"
            "  dot(v,\n"
            "  ^~~~~~");
}

TEST(GraphLowering, ValidInputsLowerWithTheirShapes) {
  Graph g;
  const NameScope scope = model_scope(g);
  const auto lower = [&](const std::string& text) {
    return lower_expression(g, *expr::parse_expression(text), scope);
  };
  EXPECT_EQ(g[lower("A @ v")].shape, Shape::vector(2));
  EXPECT_EQ(g[lower("u @ A")].shape, Shape::vector(3));
  EXPECT_EQ(g[lower("v @ weight")].shape, Shape::scalar());
  EXPECT_EQ(g[lower("A @ transpose(A)")].shape, Shape::matrix(2, 2));
  EXPECT_EQ(g[lower("outer(u, v)")].shape, Shape::matrix(2, 3));
  EXPECT_EQ(g[lower("A * v + x")].shape, Shape::matrix(2, 3));  // (2,3)*(3) + scalar
  EXPECT_EQ(g[lower("onehot(2, 5)")].shape, Shape::vector(5));
  EXPECT_EQ(g[lower("sum_to(A, 3)")].shape, Shape::vector(3));
  EXPECT_EQ(g[lower("sum_to(A, 1, 3)")].shape, Shape::matrix(1, 3));
  EXPECT_EQ(g[lower("softmax(v)")].shape, Shape::vector(3));
  EXPECT_EQ(g[lower("logsumexp(A) + norm(A) + mean(v)")].shape, Shape::scalar());
  EXPECT_EQ(g[lower("-3")].op, Op::constant);  // a negated literal is a number, not neg(3)
  EXPECT_EQ(g[lower("-3")].value, -3.0);
}

// ---------------------------------------------------------------------------------------------
// Hash-consing (DESIGN §4).

TEST(GraphInterning, SameExpressionTwiceIsTheSameNode) {
  Graph g;
  const NameScope scope = free_variable_scope(g);
  const auto lower = [&](const std::string& text) {
    return lower_expression(g, *expr::parse_expression(text), scope);
  };
  const NodeId first = lower("sin(x*y) + exp(x*y)/2");
  const std::size_t size = g.size();
  const NodeId second = lower("sin(x*y) + exp(x*y)/2");
  EXPECT_EQ(first, second);
  EXPECT_EQ(g.size(), size);  // nothing new was created
  // Common subexpressions merge: x*y is written twice but is one node with two parents, and
  // the whole DAG has x, y, x*y, sin, exp, 2, /, + = 8 nodes (the tree has 10).
  const NodeId product = lower("x*y");
  int parents = 0;
  for (NodeId id : g.reachable({first}))
    for (int i = 0; i < g[id].arity; ++i) parents += g[id][i] == product;
  EXPECT_EQ(parents, 2);
  EXPECT_EQ(g.count_reachable({first}), 8u);
  EXPECT_EQ(lower("(x*y) + (x*y)"), g.add(product, product));
  EXPECT_EQ(lower("2"), g.num(2));  // constants intern by value
}

TEST(GraphInterning, CommutativeChildrenAreOrderedCanonically) {
  Graph g;
  const NameScope scope = model_scope(g);
  const auto lower = [&](const std::string& text) {
    return lower_expression(g, *expr::parse_expression(text), scope);
  };
  EXPECT_EQ(lower("x*y"), lower("y*x"));
  EXPECT_EQ(lower("x + y"), lower("y + x"));
  EXPECT_EQ(lower("min(x, y)"), lower("min(y, x)"));
  EXPECT_EQ(lower("max(sin(x), y)"), lower("max(y, sin(x))"));
  EXPECT_EQ(lower("dot(v, weight)"), lower("dot(weight, v)"));
  EXPECT_EQ(lower("(x + y)*sin(x)"), lower("sin(x)*(y + x)"));
  // Not commutative: order is kept.
  EXPECT_NE(lower("x - y"), lower("y - x"));
  EXPECT_NE(lower("x/y"), lower("y/x"));
  EXPECT_NE(lower("x^y"), lower("y^x"));
  EXPECT_NE(lower("v @ weight"), lower("weight @ v"));
  EXPECT_NE(lower("outer(v, weight)"), lower("outer(weight, v)"));
  // Canonical order: the child with the smaller id first.
  const NodeId product = lower("y*x");
  EXPECT_LT(g[product][0], g[product][1]);
}

// Every node of `g` in id order, one line each: op, shape, children, value, name.
std::vector<std::string> node_listing(const Graph& g) {
  std::vector<std::string> lines;
  for (NodeId id = 0; id < g.size(); ++id) {
    const Node& n = g[id];
    std::ostringstream line;
    line << id << " " << op_name(n.op) << " " << n.shape.to_string() << " [" << n.child[0] << ","
         << n.child[1] << "] " << n.value << " " << n.name;
    lines.push_back(line.str());
  }
  return lines;
}

struct Pipeline {
  Graph graph;
  std::vector<NodeId> gradients;
  std::vector<std::string> printed;  // every reachable node of the result, in id order
};

void run_pipeline(const std::string& text, Pipeline& p) {
  const auto ast = expr::parse_expression(text);
  const NodeId written = lower_expression(p.graph, *ast, free_variable_scope(p.graph));
  const std::vector<NodeId> vars = p.graph.variables_of({written});
  const NodeId f = stabilize(p.graph, {written})[0];
  p.gradients = derive_gradients(p.graph, f, vars);
  for (NodeId id : p.graph.reachable(p.gradients))
    p.printed.push_back(print_expression(p.graph, id));
}

TEST(GraphInterning, NumberingIsDeterministicAcrossFreshGraphs) {
  const std::string text =
      "-(y*log(sigmoid(w*x + b)) + (1 - y)*log(1 - sigmoid(w*x + b))) + 0.01*(w^2 + b^2)";
  Pipeline first, second;
  run_pipeline(text, first);
  run_pipeline(text, second);
  EXPECT_EQ(first.graph.size(), second.graph.size());
  EXPECT_EQ(first.gradients, second.gradients);
  EXPECT_EQ(first.printed, second.printed);  // same nodes, emitted in the same order
  EXPECT_EQ(node_listing(first.graph), node_listing(second.graph));
}

// ---------------------------------------------------------------------------------------------
// `descent derive` end to end, as a separate process.

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string shell_quoted(const std::string& arg) {
  std::string quoted = "'";
  for (char c : arg) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

CommandResult run_descent(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string err_path = ::testing::TempDir() + "descent_cli_stderr_" +
                               std::to_string(getpid()) + "_" + std::to_string(++counter) +
                               ".txt";  // ctest runs tests in parallel processes
  std::string command = shell_quoted(DESCENT_BINARY);
  for (const std::string& a : args) command += " " + shell_quoted(a);
  command += " 2>" + shell_quoted(err_path);
  CommandResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  std::size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) result.out.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_path);
  return result;
}

class DeriveCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(DESCENT_BINARY))
        << DESCENT_BINARY << " is missing: build the 'descent' target before running these tests";
  }
};

// The text after "d/dx = " (up to " = value" when --at was given), evaluated at x.
double evaluate_printed(const std::string& expression, double x) {
  Graph g;
  const auto ast = expr::parse_expression(expression, "printed");
  return evaluate_scalar(g, lower_expression(g, *ast, free_variable_scope(g)), {{"x", x}});
}

// Comparisons and argmax: lowered to their ops, evaluated as 1 or 0 (argmax: an index), and
// printed back as written, a comparison operand of a comparison in parentheses.
TEST(Comparisons, LowerEvaluateAndPrintBack) {
  const auto lowered = [](Graph& g, const std::string& text) {
    const auto ast = expr::parse_expression(text, "expr");
    return lower_expression(g, *ast, free_variable_scope(g));
  };
  const std::vector<std::pair<std::string, Op>> cases = {
      {"x < y", Op::less},           {"x <= y", Op::less_equal}, {"x > y", Op::greater},
      {"x >= y", Op::greater_equal}, {"x == y", Op::equal},      {"x != y", Op::not_equal}};
  for (const auto& [text, op] : cases) {
    Graph g;
    const NodeId id = lowered(g, text);
    EXPECT_EQ(g[id].op, op) << text;
    EXPECT_EQ(print_expression(g, id), text);
  }
  Graph g;
  const NodeId mixed = lowered(g, "(x + 1 < y) == (y >= 2*x)");
  EXPECT_EQ(print_expression(g, mixed), "(x + 1 < y) == (y >= 2*x)");
  EXPECT_EQ(evaluate_scalar(g, mixed, {{"x", 1.0}, {"y", 3.0}}), 1.0);  // 1 == 1
  EXPECT_EQ(evaluate_scalar(g, mixed, {{"x", 0.0}, {"y", 0.5}}), 0.0);  // 0 == 1
  EXPECT_EQ(evaluate_scalar(g, lowered(g, "x <= y"), {{"x", 2.0}, {"y", 2.0}}), 1.0);
  EXPECT_EQ(evaluate_scalar(g, lowered(g, "x != y"), {{"x", 2.0}, {"y", 2.0}}), 0.0);
  // Looser than + and -: "x + 1 < y" is (x + 1) < y.
  EXPECT_EQ(evaluate_scalar(g, lowered(g, "x + 1 < y"), {{"x", 1.0}, {"y", 1.5}}), 0.0);
}

TEST_F(DeriveCommand, PrintsTheSimplifiedDerivativeAsText) {
  const CommandResult r = run_descent({"derive", "2*x^2*(4*x^3 - 3*x^4)", "--wrt", "x"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  ASSERT_EQ(r.out.rfind("d/dx = ", 0), 0u) << r.out;
  ASSERT_EQ(r.out.back(), '\n');
  ASSERT_EQ(r.out.find('\n'), r.out.size() - 1) << "one line expected: " << r.out;
  const std::string derivative = r.out.substr(7, r.out.size() - 8);
  for (double x : {-1.5, -1.0, 0.0, 0.5, 2.0}) {
    const double expected = 40 * std::pow(x, 4) - 36 * std::pow(x, 5);
    // Error model as in ad_reference_test: 16 ulps of the sum of the terms' magnitudes.
    const double tol =
        16 * 2.2e-16 * (40 * std::pow(std::fabs(x), 4) + 36 * std::pow(std::fabs(x), 5));
    EXPECT_NEAR(evaluate_printed(derivative, x), expected, tol) << derivative;
  }
  // Every variable when --wrt is not given, one line each in variable order.
  const CommandResult both = run_descent({"derive", "x*y"});
  EXPECT_EQ(both.exit_code, 0) << both.err;
  EXPECT_EQ(both.out, "d/dx = y\nd/dy = x\n");
}

// The gradients of the example configs print as the formulas of a textbook: uniform factors
// leave batch totals (batch_sum(v)/batch_size is batch_mean(v)), scalar factors leave sums,
// logsumexp's derivative is softmax, and the cross-entropies end as prediction minus target.
TEST_F(DeriveCommand, ConfigGradientsReadAsTextbookFormulas) {
  const auto derive = [](const std::string& config) {
    const CommandResult r =
        run_descent({"derive", std::string(DESCENT_SOURCE_DIR) + "/configs/" + config});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  };
  // Each config's [model] names stand for their subexpressions; their definitions come first.
  const std::string logistic = derive("logistic.toml");
  EXPECT_EQ(logistic,
            "z = dot(w, x) + b\n"
            "objective = batch_mean(softplus(z) - z*y)\n"
            "d/dw = batch_mean(x*(sigmoid(z) - y))\n"
            "d/db = batch_mean(sigmoid(z) - y)\n");
  const std::string softmax = derive("softmax.toml");
  EXPECT_NE(softmax.find("logits = W @ x + b\n"), std::string::npos) << softmax;
  EXPECT_NE(softmax.find("d/dW = batch_mean(outer(softmax(logits) - onehot(y, 3), x))\n"),
            std::string::npos)
      << softmax;
  EXPECT_NE(softmax.find("d/db = batch_mean(softmax(logits) - onehot(y, 3))\n"), std::string::npos)
      << softmax;
  const std::string linear = derive("linear.toml");
  EXPECT_NE(linear.find("d/dw = 2*batch_mean(x*(prediction - y))\n"), std::string::npos) << linear;
  // The multilayer perceptron: hidden is used by z's definition, so it is defined first.
  const std::string mlp = derive("mlp.toml");
  EXPECT_EQ(mlp.rfind("hidden = tanh(W1 @ x + b1)\nz = dot(hidden, w2) + b2\nobjective = ", 0), 0)
      << mlp;
  EXPECT_NE(
      mlp.find("d/dW1 = 2e-04*W1 + batch_mean(outer((1 - hidden^2)*w2*(sigmoid(z) - y), x))\n"),
      std::string::npos)
      << mlp;
  EXPECT_NE(mlp.find("d/dw2 = 2e-04*w2 + batch_mean(hidden*(sigmoid(z) - y))\n"), std::string::npos)
      << mlp;
}

// Names in minimize mode: a name for a bare parameter is not used (it would hide it), a name
// used only inside another name's definition is defined too, before it, and --format json
// lists the definitions.
TEST_F(DeriveCommand, ConfigNamesChainAndSkipLeaves) {
  const std::string config =
      ::testing::TempDir() + "descent_named_" + std::to_string(getpid()) + ".toml";
  std::ofstream(config) << "[experiment]\nname = \"named\"\n[params]\n"
                        << "p = { init = \"constant\", value = 0.5 }\n"
                        << "q = { init = \"constant\", value = 0.5 }\n"
                        << "[model]\nr = \"p\"\nu = \"sin(r*q)\"\nw = \"u^2 + q\"\n"
                        << "[cost]\nloss = \"exp(w) + w\"\n"
                        << "[train]\noptimizer = \"sgd\"\nlr = 0.1\nsteps = 1\n";
  const CommandResult text = run_descent({"derive", config});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_EQ(text.out.rfind("u = sin(p*q)\nw = q + u^2\nobjective = ", 0), 0) << text.out;
  EXPECT_EQ(text.out.find("r ="), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("d/dp = "), std::string::npos) << text.out;
  const CommandResult json = run_descent({"derive", config, "--format", "json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_NE(json.out.find("\"definitions\": {\n    \"u\": \"sin(p*q)\",\n    \"w\": \"q + u^2\""),
            std::string::npos)
      << json.out;
  std::filesystem::remove(config);
}

TEST_F(DeriveCommand, EvaluatesAtAPoint) {
  const CommandResult r =
      run_descent({"derive", "2*x^2*(4*x^3 - 3*x^4)", "--wrt", "x", "--at", "x=1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with(" = 4\n")) << r.out;  // 40 - 36
  const CommandResult two = run_descent({"derive", "x^2*y", "--at", "x=3,y=0.5"});
  ASSERT_EQ(two.exit_code, 0) << two.err;
  EXPECT_NE(two.out.find("d/dx = "), std::string::npos);
  EXPECT_TRUE(two.out.find(" = 3\n") != std::string::npos) << two.out;  // 2xy = 3
  EXPECT_TRUE(two.out.ends_with(" = 9\n")) << two.out;                  // x^2 = 9
}

TEST_F(DeriveCommand, PrintsJson) {
  const std::string expression = "2*x^2*(4*x^3 - 3*x^4)";
  const CommandResult text = run_descent({"derive", expression, "--wrt", "x"});
  const CommandResult json =
      run_descent({"derive", expression, "--wrt", "x", "--format", "json", "--at", "x=2"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::string derivative = text.out.substr(7, text.out.size() - 8);
  EXPECT_NE(json.out.find("\"expression\": \"" + expression + "\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"derivatives\": {"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"x\": \"" + derivative + "\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"values\": {"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"x\": -512"), std::string::npos) << json.out;  // 640 - 1152
  EXPECT_EQ(json.out.front(), '{');
}

TEST_F(DeriveCommand, ExplainNamesTheProductRule) {
  const CommandResult r =
      run_descent({"derive", "2*x^2*(4*x^3 - 3*x^4)", "--wrt", "x", "--explain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("product rule"), std::string::npos) << r.out;
  const CommandResult text = run_descent({"derive", "2*x^2*(4*x^3 - 3*x^4)", "--wrt", "x"});
  EXPECT_NE(r.out.find(text.out.substr(0, text.out.size() - 1)), std::string::npos)
      << "the explanation ends in the same derivative:\n"
      << r.out;
}

TEST_F(DeriveCommand, MalformedExpressionsExitWithCode2AndTheDiagnostic) {
  const CommandResult syntax = run_descent({"derive", "2*x^2*(4*x^3 - 3*x^4"});
  EXPECT_EQ(syntax.exit_code, 2);
  EXPECT_EQ(syntax.out, "");
  EXPECT_NE(syntax.err.find("expr:1:21: error: expected ')' to close '(' opened at 1:7\n"
                            "  2*x^2*(4*x^3 - 3*x^4\n"
                            "                      ^"),
            std::string::npos)
      << syntax.err;
  const CommandResult lowering = run_descent({"derive", "sinn(x)*x"});
  EXPECT_EQ(lowering.exit_code, 2);
  EXPECT_EQ(lowering.out, "");
  EXPECT_NE(lowering.err.find("expr:1:1: error: unknown function 'sinn'; did you mean 'sin'?\n"
                              "  sinn(x)*x\n"
                              "  ^~~~"),
            std::string::npos)
      << lowering.err;
}

TEST_F(DeriveCommand, UnknownWrtVariableExitsWithCode2) {
  const CommandResult r = run_descent({"derive", "x*y", "--wrt", "z"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("error: --wrt: 'z' is not a variable of the expression; did you mean 'x'? "
                       "(its variables: x, y)"),
            std::string::npos)
      << r.err;
}

TEST_F(DeriveCommand, StableCrossEntropyAtLargeLogits) {
  // An expression that starts with '-' must follow "--", or the option parser takes it for a
  // flag; the derivative of the textbook cross-entropy is finite at z = 800: σ(800) - 0.3.
  const CommandResult r = run_descent({"derive", "--wrt", "z", "--at", "z=800,y=0.3", "--",
                                       "-(y*log(sigmoid(z)) + (1-y)*log(1-sigmoid(z)))"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.ends_with(" = 0.7\n")) << r.out;
}

}  // namespace
}  // namespace descent
