// Generators of the benchmark's expression text (see expression_families.hpp).
#include "expression_families.hpp"

#include <array>
#include <cstdio>

namespace descent::bench {

namespace {

inline constexpr int kScalarVariables = 20;
// Tree depth of one scalar_mix term. Each level adds at most three parser nesting levels
// (a parenthesis, a call, a right operand), far below expr::kMaxExpressionDepth = 200.
inline constexpr int kScalarTreeDepth = 5;

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and the same sequence everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); the modulo bias (n / 2^64) is irrelevant here.
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  // Uniform in [0, 1) with 53 random bits.
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return unit() < p; }

 private:
  std::uint64_t state_;
};

// A positive constant with two decimals in [0.05, 3.00]: enough distinct values that
// hash-consing does not collapse the generated terms into each other.
std::string constant_text(Rng& rng) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%.2f", 0.05 + 2.95 * rng.unit());
  return buffer;
}

std::string scalar_variable(Rng& rng) { return "x" + std::to_string(rng.below(kScalarVariables)); }

// ---- scalar_mix ----

constexpr std::array<const char*, 11> kUnaryFunctions = {
    "exp", "log", "sin", "cos", "tanh", "sigmoid", "softplus", "sqrt", "abs", "relu", "log1p"};
constexpr std::array<const char*, 4> kBinaryOperators = {" + ", " - ", " * ", " / "};

// Every leaf holds a variable, so no subtree is constant: the simplifier cannot fold a piece
// away (or into NaN, as log(0.3 - 1.2) would), and the whole text is really differentiated.
std::string scalar_leaf(Rng& rng) {
  const double pick = rng.unit();
  if (pick < 0.7) return scalar_variable(rng);
  // Operands that draw numbers are drawn one statement at a time (the order of evaluating
  // operands is the compiler's choice); right to left, as the first version of this file drew
  // them when built with GCC, so that the texts stay as they were.
  if (pick < 0.85) {
    const std::string variable = scalar_variable(rng);
    return "(" + constant_text(rng) + "*" + variable + ")";
  }
  const std::string c = constant_text(rng);
  return "(" + scalar_variable(rng) + " + " + c + ")";
}

std::string scalar_tree(Rng& rng, int depth) {
  if (depth == 0 || rng.chance(0.2)) return scalar_leaf(rng);
  const double pick = rng.unit();
  if (pick < 0.35) {
    const std::string inner = scalar_tree(rng, depth - 1);
    return std::string(kUnaryFunctions[rng.below(kUnaryFunctions.size())]) + "(" + inner + ")";
  }
  if (pick < 0.80) {
    const std::string right = scalar_tree(rng, depth - 1);
    const char* op = kBinaryOperators[rng.below(kBinaryOperators.size())];
    return "(" + scalar_tree(rng, depth - 1) + op + right + ")";
  }
  if (pick < 0.90) {
    const std::string exponent = std::to_string(2 + rng.below(2));
    return "(" + scalar_tree(rng, depth - 1) + ")^" + exponent;
  }
  // The patterns that stabilize() rewrites.
  const std::string inner = scalar_tree(rng, depth - 1);
  switch (rng.below(4)) {
    case 0:
      return "log(1 + " + inner + ")";
    case 1:
      return "log(sigmoid(" + inner + "))";
    case 2:
      return "(exp(" + inner + ") - 1)";
    default:
      return "(1 - sigmoid(" + inner + "))";
  }
}

std::string scalar_mix_text(std::size_t terms, Rng& rng) {
  std::string text;
  for (std::size_t t = 0; t < terms; ++t) {
    if (t > 0) text += rng.chance(0.7) ? " + " : " - ";
    const std::string tree = scalar_tree(rng, 1 + static_cast<int>(rng.below(kScalarTreeDepth)));
    text += constant_text(rng) + "*" + tree;
  }
  return text;
}

// ---- polynomial ----

std::string monomial_factors(Rng& rng) {
  std::string text;
  const std::size_t factors = 1 + rng.below(4);
  for (std::size_t f = 0; f < factors; ++f) {
    text += "*" + scalar_variable(rng);
    const std::size_t exponent = 1 + rng.below(4);
    if (exponent > 1) text += "^" + std::to_string(exponent);
  }
  return text;
}

std::string polynomial_text(std::size_t terms, Rng& rng) {
  std::string text;
  for (std::size_t t = 0; t < terms; ++t) {
    if (t > 0) text += rng.chance(0.7) ? " + " : " - ";
    const std::string factors = monomial_factors(rng);
    text += constant_text(rng) + factors;
    if (rng.chance(0.25)) {
      std::string second;
      if (rng.chance(0.5)) {
        const std::string variable = scalar_variable(rng);
        second = constant_text(rng) + "*" + variable;
      } else {
        second = constant_text(rng);
      }
      const std::string exponent = std::to_string(2 + rng.below(3));
      const char* sign = rng.chance(0.5) ? " + " : " - ";
      text += "*(" + scalar_variable(rng) + sign + second + ")^" + exponent;
    }
  }
  return text;
}

// ---- mlp ----

struct Parameter {
  const char* name;
  Shape shape;
};
inline constexpr std::int64_t kInputs = 8, kHidden = 16, kOutputs = 4;
const std::array<Parameter, 6> kMlpParameters = {{
    {"W1", Shape::matrix(kHidden, kInputs)},
    {"b1", Shape::vector(kHidden)},
    {"W2", Shape::matrix(kHidden, kHidden)},
    {"b2", Shape::vector(kHidden)},
    {"W3", Shape::matrix(kOutputs, kHidden)},
    {"b3", Shape::vector(kOutputs)},
}};
constexpr std::array<const char*, 4> kActivations = {"tanh", "relu", "sigmoid", "softplus"};

std::string mlp_text(std::size_t samples, Rng& rng) {
  std::string text = "0.001*(sum(W1^2) + sum(W2^2) + sum(W3^2))";
  for (std::size_t k = 0; k < samples; ++k) {
    const std::string id = std::to_string(k);
    const std::string f = kActivations[rng.below(kActivations.size())];
    const std::string g = kActivations[rng.below(kActivations.size())];
    text +=
        " + sum((W3 @ " + f + "(W2 @ " + g + "(W1 @ x" + id + " + b1) + b2) + b3 - y" + id + ")^2)";
  }
  return text;
}

// ---- random_tree ----

// Beyond this depth a tree only splits evenly and takes no unary node, so that the text stays
// within the parser's nesting limit (each level costs at most two of its 200 levels).
inline constexpr int kRandomTreeMaxDepth = 80;
// Subtrees of at most this many operators draw from every op; larger ones are combined only
// linearly (+, -, negation, scaling by a number). A product or a function of two large subtrees
// would make the printed derivative grow quadratically: `descent derive` prints the gradient's
// DAG as a tree, so d(u*v) prints all of v for every variable in u (a fully random tree of 1k
// operators prints 4.4 MB of derivatives, of 10k 443 MB).
inline constexpr std::size_t kRandomTreeSmall = 12;

constexpr std::array<const char*, 11> kTreeFunctions = {
    "exp", "log", "sin", "cos", "tanh", "sigmoid", "softplus", "sqrt", "abs", "relu", "log1p"};

void random_tree_text(std::size_t operators, int depth, Rng& rng, std::string& out) {
  if (operators == 0) {
    out += scalar_variable(rng);
    return;
  }
  const bool deep = depth >= kRandomTreeMaxDepth;
  const bool small = operators <= kRandomTreeSmall;
  const double unary = rng.unit();
  if (!deep && unary < (small ? 0.3 : 0.15)) {
    const std::size_t pick =
        small ? rng.below(kTreeFunctions.size() + 3) : kTreeFunctions.size() + 3 * rng.below(2);
    if (pick < kTreeFunctions.size()) {  // f(e)
      out += kTreeFunctions[pick];
      out += "(";
      random_tree_text(operators - 1, depth + 1, rng, out);
      out += ")";
    } else if (pick == kTreeFunctions.size()) {  // -e
      out += "(-";
      random_tree_text(operators - 1, depth + 1, rng, out);
      out += ")";
    } else if (pick < kTreeFunctions.size() + 3) {  // e^2, e^3
      out += "(";
      random_tree_text(operators - 1, depth + 1, rng, out);
      out += pick == kTreeFunctions.size() + 1 ? ")^2" : ")^3";
    } else {  // c*e
      out += "(" + constant_text(rng) + "*";
      random_tree_text(operators - 1, depth + 1, rng, out);
      out += ")";
    }
    return;
  }
  // Operand counts split anywhere in the middle half: the depth stays O(log n).
  const std::size_t below = operators - 1;
  const std::size_t quarter = below / 4;
  const std::size_t left = deep ? below / 2 : quarter + rng.below(below - 2 * quarter + 1);
  const double pick = small ? rng.unit() : 0.5 * rng.unit();
  if (pick >= 0.9) {
    out += pick < 0.95 ? "min(" : "max(";
    random_tree_text(left, depth + 1, rng, out);
    out += ", ";
    random_tree_text(below - left, depth + 1, rng, out);
    out += ")";
    return;
  }
  out += "(";
  random_tree_text(left, depth + 1, rng, out);
  out += pick < 0.3 ? " + " : pick < 0.5 ? " - " : pick < 0.8 ? " * " : " / ";
  random_tree_text(below - left, depth + 1, rng, out);
  out += ")";
}

bool is_numbered(const std::string& name, char prefix) {
  if (name.size() < 2 || name[0] != prefix) return false;
  for (std::size_t i = 1; i < name.size(); ++i)
    if (name[i] < '0' || name[i] > '9') return false;
  return true;
}

}  // namespace

std::string_view family_name(Family family) {
  switch (family) {
    case Family::scalar_mix:
      return "scalar_mix";
    case Family::polynomial:
      return "polynomial";
    case Family::mlp:
      return "mlp";
    case Family::random_tree:
      return "random_tree";
  }
  return "?";
}

std::string generate_expression(Family family, std::size_t units, std::uint64_t seed) {
  Rng rng(seed ^ (0x1000193ULL * (static_cast<std::uint64_t>(family) + 1)));
  switch (family) {
    case Family::scalar_mix:
      return scalar_mix_text(units, rng);
    case Family::polynomial:
      return polynomial_text(units, rng);
    case Family::mlp:
      return mlp_text(units, rng);
    case Family::random_tree: {
      std::string text;
      random_tree_text(units, 0, rng, text);
      return text;
    }
  }
  return {};
}

NameScope family_scope(Family family, Graph& graph) {
  if (family != Family::mlp) return free_variable_scope(graph);
  NameScope scope;
  scope.lookup = [&graph](const std::string& name, const Span& span) -> NodeId {
    for (const Parameter& p : kMlpParameters)
      if (name == p.name) return graph.variable(name, VarKind::param, p.shape, span);
    if (is_numbered(name, 'x'))
      return graph.variable(name, VarKind::free, Shape::vector(kInputs), span);
    if (is_numbered(name, 'y'))
      return graph.variable(name, VarKind::free, Shape::vector(kOutputs), span);
    return kNoNode;
  };
  for (const Parameter& p : kMlpParameters) scope.known_names.emplace_back(p.name);
  return scope;
}

std::vector<NodeId> gradient_variables(Family family, const Graph& graph, NodeId root) {
  const VarKind wanted = family == Family::mlp ? VarKind::param : VarKind::free;
  std::vector<NodeId> wrt;
  for (NodeId v : graph.variables_of({root}))
    if (graph[v].var_kind == wanted) wrt.push_back(v);
  return wrt;
}

}  // namespace descent::bench
