// Reverse-mode symbolic differentiation over the graph (DESIGN §4): the gradients are new
// nodes of the same graph, so they can be simplified, printed, interpreted, emitted as CUDA,
// or differentiated again. Each node is visited once, in reverse topological order, and its
// adjoint is the sum of its parents' contributions (no path-by-path expansion).
#pragma once

#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace descent {

// One visited node, for --explain: the rule used and what it passed to each child.
struct DerivationStep {
  NodeId node = kNoNode;
  std::string rule;  // "product rule", "chain rule (exp)", ...
  NodeId adjoint = kNoNode;
  std::vector<std::pair<NodeId, NodeId>> contributions;  // (child, contribution to its adjoint)
};

struct GradientOptions {
  bool simplify = true;                            // run the simplifier on the results
  std::vector<DerivationStep>* explain = nullptr;  // when set, receives every step
};

// d output / d v for every v in `wrt`, each shaped like v. `output` must be a scalar that is
// the same for every sample (a loss averaged with batch_mean, or a cost without data).
// A variable the output does not depend on gets zeros.
std::vector<NodeId> derive_gradients(Graph& graph, NodeId output, const std::vector<NodeId>& wrt,
                                     const GradientOptions& options = {});

// The rule's name for an op, as --explain prints it.
std::string derivative_rule_name(const Graph& graph, NodeId node);

}  // namespace descent
