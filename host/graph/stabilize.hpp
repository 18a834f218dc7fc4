// The stabilizer (DESIGN §4): numerically stabilizing rewrites, run BEFORE differentiation so
// that the derivative is taken of the stable form:
//   log(sigmoid(z)) → -softplus(-z),  1 - sigmoid(z) → sigmoid(-z),  log(1 + x) → log1p(x),
//   log(sum(exp(v))) → logsumexp(v),  log(softmax(v)) → v - logsumexp(v),
//   exp(x) - 1 → expm1(x),  log(exp(x)) → x,
//   a*softplus(-z) + (1 - a)*softplus(z) → softplus(z) - a*z (cross-entropy of logits).
// Its rules are a list run by the rewriting engine (rewriter.hpp), like the simplifier's; it
// simplifies before and after them, so that the patterns meet canonical forms.
// It does not differentiate and adds no rule of the simplifier's.
#pragma once

#include <vector>

#include "graph/graph.hpp"

namespace descent {

// Returns the stabilized, simplified roots.
std::vector<NodeId> stabilize(Graph& graph, const std::vector<NodeId>& roots);

}  // namespace descent
