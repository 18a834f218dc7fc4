// The stabilizer's rule list and its schedule (see stabilize.hpp), each rule with its algebra in
// a comment. The patterns are written against the simplifier's canonical forms (a - b is
// a + -1*b, 1 - s is 1 + -1*s); each rule reads one node and returns its replacement, and copies
// what it reads before building nodes. This file has no simplifying rule of its own (it runs
// simplify.cpp's list between its rounds) and leaves the walking of the graph to rewriter.cpp.
#include "graph/stabilize.hpp"

#include <array>
#include <optional>

#include "graph/rewriter.hpp"
#include "graph/simplify.hpp"

namespace descent {

namespace {

using Opt = std::optional<NodeId>;
constexpr Opt kNo = std::nullopt;

// If `id` is c + rest (a two-term sum with a constant), sets c and rest.
bool split_constant_plus(const Graph& g, NodeId id, double& c, NodeId& rest) {
  const NodeHead node = g.head(id);
  if (node.op != Op::add) return false;
  for (int i = 0; i < 2; ++i)
    if (g.is_constant(node.child[i]) && g.head(node.child[i]).rank == 0) {
      c = g.value(node.child[i]);
      rest = node.child[1 - i];
      return true;
    }
  return false;
}

// If `id` is -1*x (canonical negation), sets x.
bool split_negation(const Graph& g, NodeId id, NodeId& x) {
  const NodeHead node = g.head(id);
  if (node.op != Op::mul) return false;
  for (int i = 0; i < 2; ++i)
    if (g.is_constant(node.child[i], -1.0) && g.head(node.child[i]).rank == 0) {
      x = node.child[1 - i];
      return true;
    }
  return false;
}

// log(sigmoid(z)) → -softplus(-z): log(1/(1+e^-z)) = -log(1+e^-z), finite for every z.
Opt stable_log_sigmoid(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const NodeHead node = g.head(id);
  if (node.op != Op::log || g.head(node.child[0]).op != Op::sigmoid) return kNo;
  const NodeId z = g.head(node.child[0]).child[0];
  return g.neg(g.apply(Op::softplus, g.neg(z)));
}

// 1 - sigmoid(z) → sigmoid(-z): exact, and no cancellation when sigmoid(z) ≈ 1.
Opt stable_sigmoid_complement(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  double c = 0;
  NodeId rest = kNoNode, s = kNoNode;
  if (!split_constant_plus(g, id, c, rest) || c != 1.0 || !split_negation(g, rest, s)) return kNo;
  if (g[s].op != Op::sigmoid) return kNo;
  const Shape shape = g[id].shape;
  const NodeId result = g.apply(Op::sigmoid, g.neg(g[s][0]));
  return g[result].shape == shape ? std::optional<NodeId>(result) : kNo;
}

// log(1 + x) → log1p(x): accurate when |x| is tiny.
Opt stable_log1p(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  if (g.head(id).op != Op::log) return kNo;
  const Node& node = g[id];
  double c = 0;
  NodeId rest = kNoNode;
  if (!split_constant_plus(g, node[0], c, rest) || c != 1.0) return kNo;
  if (!(g[rest].shape == g[node[0]].shape)) return kNo;
  return g.apply(Op::log1p, rest);
}

// log(sum(exp(v))) → logsumexp(v): max(v) + log Σ e^(v - max v) never overflows.
Opt stable_logsumexp(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  if (g.head(id).op != Op::log) return kNo;
  const Node& node = g[id];
  if (node.op != Op::log || g[node[0]].op != Op::sum || g[g[node[0]][0]].op != Op::exp) return kNo;
  return g.apply(Op::logsumexp, g[g[node[0]][0]][0]);
}

// log(softmax(v)) → v - logsumexp(v): log-softmax without log(0).
Opt stable_log_softmax(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  if (g.head(id).op != Op::log) return kNo;
  const Node& node = g[id];
  if (node.op != Op::log || g[node[0]].op != Op::softmax) return kNo;
  const NodeId v = g[node[0]][0];
  return g.sub(v, g.apply(Op::logsumexp, v));
}

// exp(x) - 1 → expm1(x): accurate when |x| is tiny.
Opt stable_expm1(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  double c = 0;
  NodeId rest = kNoNode;
  if (!split_constant_plus(g, id, c, rest) || c != -1.0 || g[rest].op != Op::exp) return kNo;
  return g.apply(Op::expm1, g[rest][0]);
}

// If `id` is A*softplus(arg) (either order), sets A and the softplus node.
bool split_scaled_softplus(const Graph& g, NodeId id, NodeId& scale, NodeId& softplus) {
  const NodeHead node = g.head(id);
  if (node.op != Op::mul) return false;
  for (int i = 0; i < 2; ++i)
    if (g.head(node.child[i]).op == Op::softplus) {
      softplus = node.child[i];
      scale = node.child[1 - i];
      return true;
    }
  return false;
}

// True when b is 1 - a in canonical form (1 + -1*a).
bool is_complement(const Graph& g, NodeId b, NodeId a) {
  double c = 0;
  NodeId rest = kNoNode, negated = kNoNode;
  return split_constant_plus(g, b, c, rest) && c == 1.0 && split_negation(g, rest, negated) &&
         negated == a;
}

// The binary cross-entropy of logits, as the textbook form becomes after the rules above:
//   a*softplus(-z) + (1 - a)*softplus(z) → softplus(z) - a*z
// (softplus(-z) = softplus(z) - z). One softplus instead of two, and its derivative is
// sigmoid(z) - a instead of a sum of two sigmoids.
Opt stable_cross_entropy_with_logits(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  if (g.head(id).op != Op::add) return kNo;
  // Copies, read before the first attempt builds nodes.
  const NodeId terms[2] = {g.head(id).child[0], g.head(id).child[1]};
  for (int i = 0; i < 2; ++i) {
    NodeId a = kNoNode, s_neg = kNoNode, b = kNoNode, s_pos = kNoNode, z = kNoNode;
    if (!split_scaled_softplus(g, terms[i], a, s_neg) ||
        !split_scaled_softplus(g, terms[1 - i], b, s_pos) ||
        !split_negation(g, g.head(s_neg).child[0], z) || g.head(s_pos).child[0] != z)
      continue;
    if (!is_complement(g, b, a) && !is_complement(g, a, b)) continue;
    const NodeId result = g.sub(s_pos, g.mul(a, z));
    if (r.shaped_like(result, r.shape_of(id))) return result;
  }
  return kNo;
}

constexpr std::array<NamedRule, 7> kStabilizerRules = {{
    {"log(sigmoid(z)) -> -softplus(-z)", stable_log_sigmoid},
    {"1 - sigmoid(z) -> sigmoid(-z)", stable_sigmoid_complement},
    {"log(1 + x) -> log1p(x)", stable_log1p},
    {"log(sum(exp(v))) -> logsumexp(v)", stable_logsumexp},
    {"log(softmax(v)) -> v - logsumexp(v)", stable_log_softmax},
    {"exp(x) - 1 -> expm1(x)", stable_expm1},
    {"a*softplus(-z) + (1-a)*softplus(z) -> softplus(z) - a*z", stable_cross_entropy_with_logits},
}};

}  // namespace

std::vector<NodeId> stabilize(Graph& graph, const std::vector<NodeId>& roots) {
  // One Rewriter per rule list for all the runs, so that each run skips what the runs before
  // it left alone (see rewriter.hpp). Two rounds: some patterns (the cross-entropy of logits)
  // only take their canonical shape after the first round's rewrites have been simplified.
  Rewriter simplifier(graph, simplifier_rules());
  Rewriter stabilizer(graph, kStabilizerRules);
  std::vector<NodeId> current = simplifier.run(roots);
  for (int round = 0; round < 2; ++round) {
    current = stabilizer.run(current);
    current = simplifier.run(current);
  }
  return current;
}

}  // namespace descent
