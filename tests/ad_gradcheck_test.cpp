// Covers host/ad/rules.cpp and host/ad/reverse.cpp against central finite differences (DESIGN
// §6, STYLE habit 2): every derivative rule of host/graph/ops.hpp that the language can reach,
// through a seeded corpus of random expressions over scalar, vector and matrix variables, with
// the raw, the simplified (host/graph/simplify.cpp) and the stabilized (stabilize.cpp) gradients
// all compared with the same differences, evaluated by host/cpu (interpreter.cpp, kernels.cpp).
// Indexing and slicing are in the corpus (x[i], A[i, j], rows, columns, open ends and negative
// bounds, blocks padded back with pad), so the slice and pad rules are checked like the rest.
// Also the edge points: the conventions at 0 for sqrt, abs and pow, and softplus, log-sigmoid and
// softmax cross-entropy at ±100 and ±800. Needs no GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "ad/derive.hpp"
#include "cpu/interpreter.hpp"
#include "expr/ast.hpp"
#include "graph/graph.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"
#include "graph/stabilize.hpp"

namespace descent {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// ---------------------------------------------------------------------------------------------
// The variables of the corpus: scalars x, y, z; vectors v, w of length 3 and u of length 2;
// matrices A (2×3) and B (3×2). Every name is declared only when the expression uses it.

Shape shape_of_name(const std::string& name) {
  if (name == "v" || name == "w") return Shape::vector(3);
  if (name == "u") return Shape::vector(2);
  if (name == "A") return Shape::matrix(2, 3);
  if (name == "B") return Shape::matrix(3, 2);
  return Shape::scalar();
}

NameScope tensor_scope(Graph& graph) {
  NameScope scope;
  scope.known_names = {"x", "y", "z", "v", "w", "u", "A", "B"};
  scope.lookup = [&graph, names = scope.known_names](const std::string& name, const Span& span) {
    if (std::find(names.begin(), names.end(), name) == names.end()) return kNoNode;
    return graph.variable(name, VarKind::free, shape_of_name(name), span);
  };
  return scope;
}

// ---------------------------------------------------------------------------------------------
// The random expression generator. Every subexpression is parenthesized, so precedence never
// matters. `positive` productions are strictly positive and feed log, sqrt, division and the
// base of a power with a variable or fractional exponent, so the corpus stays inside every
// domain.

enum class Kind { scalar, vec3, vec2, mat23, mat32 };

class ExpressionGenerator {
 public:
  explicit ExpressionGenerator(std::uint64_t seed) : rng_(seed) {}

  std::string scalar_root(int depth) {
    return pick(3) == 0 ? reduction(depth) : any(Kind::scalar, depth);
  }

 private:
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }
  template <std::size_t N>
  const char* one_of(const char* const (&choices)[N]) {
    return choices[pick(static_cast<int>(N))];
  }
  static std::string p(const std::string& s) { return "(" + s + ")"; }
  std::string call(const char* f, const std::string& a) { return std::string(f) + "(" + a + ")"; }

  std::string leaf(Kind kind) {
    switch (kind) {
      case Kind::scalar: {
        static const char* const leaves[] = {"x", "y", "z", "x", "y", "z", "0.5", "2", "1.5"};
        return leaves[pick(9)];
      }
      case Kind::vec3:
        return pick(8) == 0 ? "onehot(1, 3)" : (pick(2) ? "v" : "w");
      case Kind::vec2:
        return "u";
      case Kind::mat23:
        return "A";
      case Kind::mat32:
        return "B";
    }
    return "x";
  }

  std::string elementwise_unary(const std::string& a) {
    static const char* const fs[] = {"sin", "cos", "tanh", "sigmoid", "softplus", "relu", "abs"};
    return call(fs[pick(7)], a);
  }

  // A value of `kind`, any sign.
  std::string any(Kind kind, int depth) {
    if (depth <= 0 || pick(6) == 0) return leaf(kind);
    const int d = depth - 1;
    switch (kind) {
      case Kind::scalar:
        return any_scalar(d);
      case Kind::vec3:
        return any_vec3(d);
      case Kind::vec2:
        return any_vec2(d);
      case Kind::mat23:
        return any_mat23(d);
      case Kind::mat32:
        return any_mat32(d);
    }
    return leaf(kind);
  }

  std::string any_scalar(int d) {
    const Kind s = Kind::scalar;
    switch (pick(43)) {
      case 0:
      case 1:
        return elementwise_unary(any(s, d));
      case 2:
        return p("sign(" + any(s, d) + ")*" + any(s, d));
      case 3:
        return p("step(" + any(s, d) + ")*" + any(s, d));
      case 4:
        return p("-" + any(s, d));
      case 5:
        return call("exp", any(s, d));
      case 6:
        return call("log", positive(s, d));
      case 7:
        return call("sqrt", positive(s, d));
      case 8:
        return call("log1p", positive(s, d));
      case 9:
        return call("expm1", any(s, d));
      case 10:
        return call("tan", call("tanh", any(s, d)));  // |tanh| < 1 < π/2: no pole
      case 11:
      case 12:
        return p(any(s, d) + " + " + any(s, d));
      case 13:
      case 14:
        return p(any(s, d) + " - " + any(s, d));
      case 15:
      case 16:
        return p(any(s, d) + " * " + any(s, d));
      case 17:
        return p(any(s, d) + " / " + positive(s, d));
      case 18:
        return p(positive(s, d) + " ^ " + any(s, d));
      case 19:
        return "pow(" + positive(s, d) + ", " + any(s, d) + ")";
      case 20:
        return p(any(s, d)) + "^2";
      case 21:
        return p(any(s, d)) + "^3";
      case 22:
        return p(positive(s, d)) + "^0.5";
      case 23:
        return p(positive(s, d)) + "^-1.5";
      case 24:
        return "min(" + any(s, d) + ", " + any(s, d) + ")";
      case 25:
        return "max(" + any(s, d) + ", " + any(s, d) + ")";
      case 26:
        return "xlogy(" + any(s, d) + ", " + positive(s, d) + ")";
      // the patterns the stabilizer rewrites
      case 27:
        return call("log", call("sigmoid", any(s, d)));
      case 28:
        return call("log", "1 - sigmoid(" + any(s, d) + ")");
      case 29:
        return call("log", "1 + " + positive(s, d));
      case 30:
        return p(call("exp", any(s, d)) + " - 1");
      case 31:
        return call("log", call("exp", any(s, d)));
      // indexing: an element of a vector or a matrix, negative indices included
      case 32:
        return p(any(Kind::vec3, d)) + "[" + one_of({"0", "1", "2", "-1", "-3"}) + "]";
      case 33:
        return p(any(Kind::mat23, d)) + "[" + one_of({"1, 2", "0, -1", "-2, 0"}) + "]";
      case 34:
        return p(any(Kind::vec2, d)) + "[-1]";
      default:
        return reduction(d);
    }
  }

  // A scalar made from tensors: every reduction and the vector·vector matrix product.
  std::string reduction(int d) {
    const Kind t = tensor_kind();
    switch (pick(12)) {
      case 0:
        return call("sum", any(t, d));
      case 1:
        return call("mean", any(t, d));
      case 2:
        return call("norm", any(t, d));
      case 3:
        return call("logsumexp", any(t, d));
      case 4:
        return "dot(" + any(Kind::vec3, d) + ", " + any(Kind::vec3, d) + ")";
      case 5:
        return "dot(" + any(Kind::vec2, d) + ", " + any(Kind::vec2, d) + ")";
      case 6:
        return p(any(Kind::vec3, d) + " @ " + any(Kind::vec3, d));  // (k)@(k)
      case 7:
        return p(any(Kind::vec2, d) + " @ " + p(any(Kind::mat23, d) + " @ " + any(Kind::vec3, d)));
      case 8:
        return call("log", call("sum", call("exp", any(t, d))));  // → logsumexp
      case 9:
        return call("sum", call("log", call("softmax", any(Kind::vec3, d))));  // log-softmax
      case 10:
        return "dot(onehot(" + std::to_string(pick(3)) + ", 3), " + any(Kind::vec3, d) + ")";
      default:
        return call("sum", call("sum_to", any(Kind::mat23, d) + ", 3"));
    }
  }

  Kind tensor_kind() {
    static const Kind kinds[] = {Kind::vec3, Kind::vec2, Kind::mat23, Kind::mat32};
    return kinds[pick(4)];
  }

  std::string any_vec3(int d) {
    const Kind t = Kind::vec3, s = Kind::scalar;
    switch (pick(23)) {
      case 0:
      case 1:
        return elementwise_unary(any(t, d));
      case 2:
        return p(any(t, d) + " + " + any(t, d));
      case 3:
        return p(any(t, d) + " - " + any(s, d));  // (3) - scalar
      case 4:
        return p(any(t, d) + " * " + any(t, d));
      case 5:
        return p(any(s, d) + " * " + any(t, d));
      case 6:
        return p(any(t, d) + " / " + positive(t, d));
      case 7:
        return p(positive(t, d) + " ^ " + any(s, d));
      case 8:
        return call("softmax", any(t, d));
      case 9:
        return p(any(Kind::vec2, d) + " @ " + any(Kind::mat23, d));  // (k)@(k,n)
      case 10:
        return p(any(Kind::mat32, d) + " @ " + any(Kind::vec2, d));  // (m,k)@(k)
      case 11:
        return "sum_to(" + any(Kind::mat23, d) + ", 3)";
      case 12:
        return "min(" + any(t, d) + ", " + any(s, d) + ")";
      case 13:
        return "max(" + any(t, d) + ", " + any(t, d) + ")";
      case 14:
        return call("log", positive(t, d));
      case 15:
        return call("sqrt", positive(t, d));
      case 16:
        return "xlogy(" + any(t, d) + ", " + positive(t, d) + ")";
      case 17:
        return p(call("transpose", any(Kind::mat23, d)) + " @ " + any(Kind::vec2, d));
      case 18:
        return p("onehot(2, 3) * " + any(s, d));
      case 19:  // a row of a matrix, a column, zeros around a vector
        return p(any(Kind::mat23, d)) + "[" + one_of({"0", "1", "-1"}) + "]";
      case 20:
        return p(any(Kind::mat32, d)) + "[:, " + one_of({"0", "1", "-1"}) + "]";
      case 21:
        return "pad(" + any(Kind::vec2, d) + ", " + one_of({"1, 0", "0, 1"}) + ")";
      default:
        return call("exp", call("sin", any(t, d)));
    }
  }

  std::string any_vec2(int d) {
    const Kind t = Kind::vec2, s = Kind::scalar;
    switch (pick(12)) {
      case 0:
      case 1:
        return elementwise_unary(any(t, d));
      case 2:
        return p(any(t, d) + " + " + any(t, d));
      case 3:
        return p(any(s, d) + " * " + any(t, d));
      case 4:
        return p(any(Kind::mat23, d) + " @ " + any(Kind::vec3, d));  // (m,k)@(k)
      case 5:
        return p(any(Kind::vec3, d) + " @ " + any(Kind::mat32, d));  // (k)@(k,n)
      case 6:
        return "sum_to(" + any(Kind::mat32, d) + ", 2)";
      case 7:
        return call("softmax", any(t, d));
      case 8:  // slices with open ends and negative bounds, a column, a row
        return p(any(Kind::vec3, d)) + one_of({"[1:]", "[:-1]", "[0:2]", "[-2:]"});
      case 9:
        return p(any(Kind::mat23, d)) + "[:, " + one_of({"0", "1", "2"}) + "]";
      case 10:
        return p(any(Kind::mat32, d)) + "[" + one_of({"0", "2", "-1"}) + "]";
      default:
        return p(any(t, d) + " / " + positive(s, d));
    }
  }

  std::string any_mat23(int d) {
    const Kind t = Kind::mat23;
    switch (pick(12)) {
      case 0:
      case 1:
        return elementwise_unary(any(t, d));
      case 2:
        return "outer(" + any(Kind::vec2, d) + ", " + any(Kind::vec3, d) + ")";
      case 3:
        return call("transpose", any(Kind::mat32, d));
      case 4:
        return p(any(t, d) + " + " + any(t, d));
      case 5:
        return p(any(t, d) + " * " + any(Kind::vec3, d));  // (2,3)*(3)
      case 6:
        return p(any(Kind::scalar, d) + " * " + any(t, d));
      case 7:
        return p(p(any(t, d) + " @ " + any(Kind::mat32, d)) + " @ " + any(t, d));  // (m,k)@(k,n)
      case 8:
        return p("sum_to(" + any(t, d) + ", 1, 3) * " + any(t, d));  // (1,3)*(2,3)
      case 10:  // blocks of a matrix, padded back to its shape
        return "pad(" + p(any(t, d)) + one_of({"[:, 1:], 0, 0, 1, 0", "[1:], 1, 0, 0, 0"}) + ")";
      case 11:
        return "pad(" + p(any(Kind::mat32, d)) + "[1:, 0:2], 0, 0, 1, 0)";
      default:
        return "max(" + any(t, d) + ", " + any(t, d) + ")";
    }
  }

  std::string any_mat32(int d) {
    const Kind t = Kind::mat32;
    switch (pick(7)) {
      case 0:
      case 1:
        return elementwise_unary(any(t, d));
      case 2:
        return call("transpose", any(Kind::mat23, d));
      case 3:
        return "outer(" + any(Kind::vec3, d) + ", " + any(Kind::vec2, d) + ")";
      case 4:
        return p(any(t, d) + " - " + any(t, d));
      case 6:  // a block of a matrix, padded back to its shape
        return "pad(" + p(any(t, d)) + "[:2, 1:], 1, 0, 1, 0)";
      default:
        return p(p(any(t, d) + " @ " + any(Kind::mat23, d)) + " @ " + any(t, d));
    }
  }

  // A value of `kind` whose every element is > 0: most forms are bounded below by a constant
  // (e^2 + 0.5, 1 + abs(e), sqrt(e^2 + 1), norm + 0.1); exp, sigmoid, softplus and softmax
  // approach 0 only for very negative arguments (points where f overflows are rejected).
  std::string positive(Kind kind, int depth) {
    if (depth <= 0) {
      if (kind != Kind::scalar) return p(leaf(kind) + "^2 + 0.5");
      static const char* const leaves[] = {"(x^2 + 0.5)", "exp(y)", "sigmoid(z)", "2"};
      return leaves[pick(4)];
    }
    const int d = depth - 1;
    switch (pick(kind == Kind::scalar ? 10 : 7)) {
      case 0:
        return p(p(any(kind, d)) + "^2 + 0.5");
      case 1:
        return call("exp", any(kind, d));
      case 2:
        return call("softplus", any(kind, d));
      case 3:
        return call("sigmoid", any(kind, d));
      case 4:
        return p("1 + abs(" + any(kind, d) + ")");
      case 5:
        return call("sqrt", p(any(kind, d)) + "^2 + 1");
      case 6:
        if (kind == Kind::vec3 || kind == Kind::vec2) return call("softmax", any(kind, d));
        return p(positive(kind, d) + " * " + positive(kind, d));
      case 7:
        return call("sum", call("exp", any(tensor_kind(), d)));
      case 8:
        return p(call("norm", any(tensor_kind(), d)) + " + 0.1");
      default:
        return p(positive(kind, d) + " + " + positive(kind, d));
    }
  }

  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation at a point and the finite-difference comparison.

using Values = std::unordered_map<NodeId, Tensor>;

Values random_point(const Graph& g, const std::vector<NodeId>& vars, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> coordinate(-1.5, 1.5);
  Values point;
  for (NodeId v : vars) {
    Tensor t = Tensor::uniform(g[v].shape);
    for (double& e : t.data) e = coordinate(rng);
    point[v] = std::move(t);
  }
  return point;
}

// Element (r, c) of `t` broadcast to a (rows, cols) result, as the CPU kernels index it.
double broadcast_element(const Tensor& t, std::int64_t r, std::int64_t c) {
  const std::int64_t row = t.shape.rank == 2 && t.shape.dims[0] != 1 ? r : 0;
  const std::int64_t col = t.shape.rank >= 1 && t.shape.dims[t.shape.rank - 1] != 1 ? c : 0;
  return t.data[static_cast<std::size_t>(row * t.shape.cols() + col)];
}

// True when the evaluated point lies within `margin` of a kink of any node: the argument of
// abs, relu, sign or step near 0, the two arguments of min or max nearly tied, or the argument
// of norm near the origin (where norm, like abs, has no derivative).
bool near_kink(const Graph& g, const Interpreter& run, double margin) {
  for (NodeId id : run.order()) {
    const Node& n = g[id];
    if (n.op == Op::abs || n.op == Op::relu || n.op == Op::sign || n.op == Op::step) {
      for (double a : run.value(n[0]).data)
        if (std::fabs(a) < margin) return true;
    } else if (n.op == Op::norm) {
      if (run.value(id).data[0] < margin) return true;
    } else if (n.op == Op::min || n.op == Op::max) {
      const Tensor& a = run.value(n[0]);
      const Tensor& b = run.value(n[1]);
      for (std::int64_t r = 0; r < n.shape.rows(); ++r)
        for (std::int64_t c = 0; c < n.shape.cols(); ++c)
          if (std::fabs(broadcast_element(a, r, c) - broadcast_element(b, r, c)) < margin)
            return true;
    }
  }
  return false;
}

struct Tally {
  int expressions = 0;
  int points = 0;
  int skipped_kink = 0;
  int rejected_nonfinite = 0;      // f itself overflowed at the random point
  int unstabilized_nonfinite = 0;  // a raw or simplified gradient overflowed where f did not
  long partials = 0;
  long unreliable_differences = 0;  // a difference quotient overflowed: partial not compared
  long truncation_dominated = 0;    // the estimated truncation exceeded the relative term
  long mismatches = 0;
};

// f at the bound point with element e of variable v moved to x.
double evaluate_moved(Interpreter& run, NodeId f, NodeId v, const Tensor& base, std::size_t e,
                      double x) {
  Tensor moved = base;
  moved.data[e] = x;
  run.set(v, std::move(moved));
  run.run();
  const double value = run.value(f).data[0];
  run.set(v, base);
  return value;
}

// One expression: lowered, then differentiated three ways (the raw rules without simplifying,
// the simplified gradient, and the gradient of the stabilized function, as `descent derive`
// does), all compared with central differences at `points` random points. The differences are
// taken of the stabilized function: the same mathematical function as the written one (the
// raw gradient, which never meets the rewriter, checks that too), but without the cancellation
// of e.g. log(1 - sigmoid(t)) that makes the written one's differences meaningless.
// How often each op, and each of the four shape cases of '@', occurs in the written graphs.
struct Coverage {
  std::array<int, kOpCount> ops{};
  std::array<int, 4> matmul{};  // index 2·(left is a matrix) + (right is a matrix)
};

void check_expression(const std::string& text, std::mt19937_64& rng, int points, Tally& tally,
                      Coverage& coverage) {
  SCOPED_TRACE(text);
  Graph g;
  const auto ast = expr::parse_expression(text, "corpus");
  const NodeId f = lower_expression(g, *ast, tensor_scope(g));
  ASSERT_TRUE(g[f].shape.is_scalar());
  for (NodeId id : g.reachable({f})) {
    const Node& n = g[id];
    ++coverage.ops[op_index(n.op)];
    if (n.op == Op::matmul)
      ++coverage.matmul[2 * (g[n[0]].shape.rank == 2) + (g[n[1]].shape.rank == 2)];
  }
  const std::vector<NodeId> vars = g.variables_of({f});
  const NodeId stable = stabilize(g, {f})[0];

  GradientOptions raw;
  raw.simplify = false;
  std::vector<std::vector<NodeId>> flavours;
  flavours.push_back(derive_gradients(g, f, vars, raw));
  flavours.push_back(derive_gradients(g, f, vars));
  flavours.push_back(derive_gradients(g, stable, vars));
  const char* const flavour_names[] = {"raw", "simplified", "stabilized"};
  std::vector<NodeId> all_gradients;
  for (const auto& flavour : flavours)
    all_gradients.insert(all_gradients.end(), flavour.begin(), flavour.end());

  Interpreter written(g, {f});
  Interpreter forward(g, {stable});
  Interpreter backward(g, all_gradients);
  ++tally.expressions;
  for (int k = 0; k < points; ++k) {
    Values point = random_point(g, vars, rng);
    for (auto& [v, t] : point) written.set(v, t);
    written.run();
    if (near_kink(g, written, 1e-3)) {
      ++tally.skipped_kink;
      continue;
    }
    for (auto& [v, t] : point) {
      forward.set(v, t);
      backward.set(v, t);
    }
    forward.run();
    backward.run();
    const double f0 = forward.value(stable).data[0];
    if (!std::isfinite(f0)) {
      ++tally.rejected_nonfinite;
      continue;
    }
    // The written function's own gradients may overflow where the stabilized one does not
    // (1/softmax(v) once softmax(v) underflows): that is what stabilizing is for, so those
    // flavours are counted and left out at this point. The stabilized gradient must be finite.
    std::vector<char> flavour_finite(flavours.size(), 1);
    for (std::size_t which = 0; which < flavours.size(); ++which)
      for (NodeId grad : flavours[which])
        for (double e : backward.value(grad).data)
          if (!std::isfinite(e)) flavour_finite[which] = 0;
    if (!flavour_finite[2]) {
      ADD_FAILURE() << "the stabilized gradient is not finite where f = " << f0 << " is";
      continue;
    }
    tally.unstabilized_nonfinite += !flavour_finite[0] + !flavour_finite[1];
    ++tally.points;

    for (std::size_t i = 0; i < vars.size(); ++i) {
      const NodeId v = vars[i];
      const Tensor base = point[v];
      for (std::size_t e = 0; e < base.data.size(); ++e) {
        // Central differences D(h) = (f(x+h) - f(x-h))/2h with h = cbrt(eps)*max(1, |x|), the
        // step that balances truncation against rounding; x + h is rounded first so that the
        // step taken is exactly h (and 2h).
        const double x0 = base.data[e];
        const volatile double stepped = x0 + std::cbrt(kEps) * std::max(1.0, std::fabs(x0));
        const double h = stepped - x0;
        const double f_p1 = evaluate_moved(forward, stable, v, base, e, x0 + h);
        const double f_m1 = evaluate_moved(forward, stable, v, base, e, x0 - h);
        const double f_p2 = evaluate_moved(forward, stable, v, base, e, x0 + 2 * h);
        const double f_m2 = evaluate_moved(forward, stable, v, base, e, x0 - 2 * h);
        const double numeric = (f_p1 - f_m1) / (2 * h);
        const double numeric_2h = (f_p2 - f_m2) / (4 * h);
        if (!std::isfinite(numeric) || !std::isfinite(numeric_2h)) {
          ++tally.unreliable_differences;
          continue;
        }
        // Error model of D(h):
        //  * truncation h^2*f'''/6: D(h) = f' + c*h^2 + O(h^4) and D(2h) = f' + 4c*h^2 + O(h^4),
        //    so |D(2h) - D(h)|/3 estimates it (Richardson); doubled for the O(h^4) terms and
        //    the noise in the estimate itself;
        //  * rounding: each evaluation of f errs by at most k*eps*|f| with k <= 100 for these
        //    expressions of depth <= 4 (a few roundings a node, each amplified by at most the
        //    local condition number of the bounded functions used), so D(h) errs by up to
        //    k*eps*F/h with F the largest |f| evaluated;
        //  * 1e-5*max(|a|, |n|, 1) (DESIGN §6) on top, which also covers the symbolic
        //    gradient's own rounding (~1e-14 relative).
        const double f_scale = std::max(
            {std::fabs(f_p1), std::fabs(f_m1), std::fabs(f_p2), std::fabs(f_m2), std::fabs(f0)});
        const double rounding = 100 * kEps * f_scale / h;
        const double truncation = 2 * std::fabs(numeric_2h - numeric) / 3;
        for (std::size_t which = 0; which < flavours.size(); ++which) {
          if (!flavour_finite[which]) continue;
          const double analytic = backward.value(flavours[which][i]).data[e];
          const double relative = 1e-5 * std::max({std::fabs(analytic), std::fabs(numeric), 1.0});
          const double tol = relative + rounding + truncation;
          ++tally.partials;
          if (truncation > relative) ++tally.truncation_dominated;
          if (std::fabs(analytic - numeric) > tol) {
            ++tally.mismatches;
            ADD_FAILURE() << flavour_names[which] << " d/d" << g[v].name << "[" << e
                          << "] = " << analytic << ", finite differences " << numeric << " (tol "
                          << tol << ", of which truncation " << truncation << ", f = " << f0
                          << ")\n  gradient: " << print_expression(g, flavours[which][i]);
          }
        }
      }
    }
  }
}

TEST(AdGradcheck, RandomCorpusMatchesFiniteDifferencesAndCoversEveryOp) {
  constexpr int kExpressions = 240;
  constexpr int kPointsEach = 4;
  ExpressionGenerator generator(0x5eed'de5c'e117ULL);
  std::mt19937_64 point_rng(20240601);
  Tally tally;
  Coverage coverage;
  for (int i = 0; i < kExpressions; ++i) {
    const std::string text = generator.scalar_root(i % 4 == 0 ? 4 : 3);
    check_expression(text, point_rng, kPointsEach, tally, coverage);
  }
  std::printf(
      "gradcheck corpus: %d expressions, %d points checked, %d skipped near a kink, "
      "%d rejected as non-finite (and %d unstabilized gradients), %ld partials compared "
      "(%ld where the truncation estimate dominated, %ld with overflowing differences), "
      "%ld mismatches\n",
      tally.expressions, tally.points, tally.skipped_kink, tally.rejected_nonfinite,
      tally.unstabilized_nonfinite, tally.partials, tally.truncation_dominated,
      tally.unreliable_differences, tally.mismatches);
  EXPECT_EQ(tally.expressions, kExpressions);
  EXPECT_EQ(tally.mismatches, 0);
  const int attempted = kExpressions * kPointsEach;
  // Kinks: a point is skipped when any of the (few) kink arguments falls within 1e-3 of its
  // kink; with arguments spread over O(1) ranges that is a small fraction of points.
  EXPECT_LE(tally.skipped_kink, attempted / 10);
  EXPECT_LE(tally.rejected_nonfinite, attempted / 20);
  EXPECT_LE(tally.unstabilized_nonfinite, attempted / 20);
  EXPECT_GE(tally.points, attempted * 3 / 4);
  EXPECT_GE(tally.partials, 10000);
  // The Richardson term widens the tolerance only where the function bends sharply on the
  // scale of h; if it did so often, the check would be too weak to mean anything.
  EXPECT_LE(tally.truncation_dominated, tally.partials / 100);
  EXPECT_LE(tally.unreliable_differences, tally.partials / 100);

  // Every op with a gradient that the language can reach appears somewhere in the corpus (the
  // comparisons and argmax have none: a cost that uses one is refused).
  for (std::size_t i = 0; i < kOpCount; ++i) {
    const Op op = static_cast<Op>(i);
    const OpKind kind = op_info(op).kind;
    if (kind == OpKind::leaf || kind == OpKind::batch || !op_info(op).differentiable) continue;
    EXPECT_GT(coverage.ops[i], 0) << "the corpus never uses " << op_name(op);
  }
  // And '@' in all four shape cases: (k)@(k), (k)@(k,n), (m,k)@(k), (m,k)@(k,n).
  for (int c = 0; c < 4; ++c)
    EXPECT_GT(coverage.matmul[static_cast<std::size_t>(c)], 0) << "matmul shape case " << c;
  std::string counts;
  for (std::size_t i = 0; i < kOpCount; ++i)
    if (coverage.ops[i] > 0)
      counts +=
          std::string(op_name(static_cast<Op>(i))) + "=" + std::to_string(coverage.ops[i]) + " ";
  std::printf("op coverage: %s\nmatmul cases: %d %d %d %d\n", counts.c_str(), coverage.matmul[0],
              coverage.matmul[1], coverage.matmul[2], coverage.matmul[3]);
}

// ---------------------------------------------------------------------------------------------
// Edge points. Each gradient is evaluated through the same pipeline as `descent derive`
// (lower, stabilize, derive) and compared with a closed form computed stably here.

struct Evaluated {
  Graph graph;
  NodeId f = kNoNode;
  std::vector<NodeId> vars;
  std::vector<NodeId> gradients;
};

Evaluated derive_stabilized(const std::string& text) {
  Evaluated e;
  const auto ast = expr::parse_expression(text, "edge");
  const NodeId written = lower_expression(e.graph, *ast, tensor_scope(e.graph));
  e.vars = e.graph.variables_of({written});
  e.f = stabilize(e.graph, {written})[0];
  e.gradients = derive_gradients(e.graph, e.f, e.vars);
  return e;
}

// The gradient with respect to the first (by id) variable, at x (scalar) or t (tensor).
std::vector<double> gradient_at(const Evaluated& e, const Tensor& value) {
  Interpreter run(e.graph, {e.gradients[0]});
  run.set(e.vars[0], value);
  run.run();
  return run.value(e.gradients[0]).data;
}

double scalar_gradient_at(const std::string& text, double x) {
  const Evaluated e = derive_stabilized(text);
  return gradient_at(e, Tensor::scalar(x))[0];
}

double stable_sigmoid(double z) {
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

TEST(AdGradcheck, ConventionsAtZeroForSqrtAbsAndPow) {
  // Documented in host/ad/rules.cpp and host/graph/scalar_math.hpp: exact values, so ==.
  EXPECT_EQ(scalar_gradient_at("sqrt(x)", 0.0), std::numeric_limits<double>::infinity());
  EXPECT_EQ(scalar_gradient_at("abs(x)", 0.0), 0.0);
  EXPECT_EQ(scalar_gradient_at("x^2", 0.0), 0.0);
  EXPECT_EQ(scalar_gradient_at("x^3", 0.0), 0.0);
  EXPECT_EQ(scalar_gradient_at("pow(x, 2)", 0.0), 0.0);
  EXPECT_EQ(scalar_gradient_at("relu(x)", 0.0), 0.0);
  // 2^x at any x is 2^x·log 2; the exponent's masked branch only matters at base 0:
  EXPECT_EQ(scalar_gradient_at("0^(x + 2)", 0.0), 0.0);  // xlogy(0^2, 0) = 0, not 0·(−inf)
}

TEST(AdGradcheck, SoftplusAndLogSigmoidStayFiniteAndExactFarOut) {
  for (double z : {-800.0, -100.0, 100.0, 800.0}) {
    // Error model: a single stable sigmoid evaluation and at most one negation or product
    // with ±1: within 4 ulps of the closed form, relative.
    const double sp = scalar_gradient_at("softplus(x)", z);          // softplus' = σ(z)
    const double ls = scalar_gradient_at("log(sigmoid(x))", z);      // = σ(−z)
    const double lc = scalar_gradient_at("log(1 - sigmoid(x))", z);  // = −σ(z)
    ASSERT_TRUE(std::isfinite(sp) && std::isfinite(ls) && std::isfinite(lc)) << "z = " << z;
    EXPECT_NEAR(sp, stable_sigmoid(z), 4 * kEps * stable_sigmoid(z)) << "z = " << z;
    EXPECT_NEAR(ls, stable_sigmoid(-z), 4 * kEps * stable_sigmoid(-z)) << "z = " << z;
    EXPECT_NEAR(lc, -stable_sigmoid(z), 4 * kEps * stable_sigmoid(z)) << "z = " << z;
  }
}

TEST(AdGradcheck, SoftmaxCrossEntropyStaysFiniteAndExactFarOut) {
  // -log(softmax(v))[1] written as a dot with a one-hot, and log Σ exp(v): the stabilizer turns
  // both into logsumexp forms whose gradients are softmax(v) − onehot(1) and softmax(v).
  const Evaluated ce = derive_stabilized("-dot(onehot(1, 3), log(softmax(v)))");
  const Evaluated lse = derive_stabilized("log(sum(exp(v)))");
  const std::vector<std::array<double, 3>> points = {
      {800, 0, -800}, {-800, 800, 0}, {100, -100, 0}, {-100, -100, -100}, {0, 0, 0}};
  for (const auto& p : points) {
    Tensor v = Tensor::uniform(Shape::vector(3));
    std::copy(p.begin(), p.end(), v.data.begin());
    // softmax computed stably: exp(v_i − max v) / Σ exp(v_j − max v).
    const double m = *std::max_element(p.begin(), p.end());
    double total = 0;
    for (double e : p) total += std::exp(e - m);
    const std::vector<double> g_ce = gradient_at(ce, v);
    const std::vector<double> g_lse = gradient_at(lse, v);
    for (std::size_t i = 0; i < 3; ++i) {
      const double softmax = std::exp(p[i] - m) / total;
      // Error model: softmax_i in a handful of roundings (exp within 1 ulp, a sum of 3, a
      // division): 8 ulps of the largest magnitude involved (<= 1), absolute.
      const double tol = 8 * kEps;
      ASSERT_TRUE(std::isfinite(g_ce[i]) && std::isfinite(g_lse[i]));
      EXPECT_NEAR(g_ce[i], softmax - (i == 1 ? 1.0 : 0.0), tol) << "i = " << i << ", v0 = " << p[0];
      EXPECT_NEAR(g_lse[i], softmax, tol) << "i = " << i << ", v0 = " << p[0];
    }
  }
}

}  // namespace
}  // namespace descent
