// Graph rewriting: the simplifier and the stabilizing rewrites (DESIGN §4).
// Both are lists of rules, each with its algebra in a comment, applied bottom-up to every node
// reachable from the roots and repeated to a fixed point with a cap. They build new nodes in
// the same graph and return the new roots; unreachable old nodes are simply left behind.
//
// Canonical form after simplify: differences become sums with coefficients (a - b → a + -1*b),
// quotients become negative powers (a/b → a*b^-1), products and sums are flattened, numeric
// coefficients collected, like terms and like powers merged, common factors of all terms of a
// sum pulled out. Products are never expanded over sums, except that a number multiplies into
// a sum whose terms all carry numbers already (5*(2*x + 12*x^2) → 10*x + 60*x^2).
#pragma once

#include <vector>

#include "graph/graph.hpp"

namespace descent {

struct RewriteStats {
  int passes = 0;        // full passes run (the last one changed nothing, unless capped)
  bool hit_cap = false;  // stopped by the pass cap before reaching a fixed point
};

inline constexpr int kMaxRewritePasses = 12;

std::vector<NodeId> simplify(Graph& graph, const std::vector<NodeId>& roots,
                             RewriteStats* stats = nullptr);

// The numerically stabilizing rewrites, run BEFORE differentiation:
//   log(sigmoid(z)) → -softplus(-z),  1 - sigmoid(z) → sigmoid(-z),  log(1 + x) → log1p(x),
//   log(sum(exp(v))) → logsumexp(v),  log(softmax(v)) → v - logsumexp(v),
//   exp(x) - 1 → expm1(x),  log(exp(x)) → x,
//   a*softplus(-z) + (1 - a)*softplus(z) → softplus(z) - a*z (cross-entropy of logits).
// Returns simplified roots (it simplifies first, so that the patterns meet canonical forms).
std::vector<NodeId> stabilize(Graph& graph, const std::vector<NodeId>& roots);

// True when the node's value is finite whenever the graph's variables are finite
// (the condition for x*0 → 0).
bool provably_finite(const Graph& graph, NodeId id);

}  // namespace descent
