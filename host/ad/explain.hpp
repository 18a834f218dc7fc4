// `descent derive --explain`: the derivation of a gradient as numbered steps, naming the rule
// used at each node (sum, product, quotient, power, chain) and what it passed to each child,
// in the input language, so a student can follow it.
#pragma once

#include <string>

#include "graph/graph.hpp"

namespace descent {

// Differentiates `output` with respect to `variable` (recording every step) and renders it.
std::string explain_derivative(Graph& graph, NodeId output, NodeId variable);

}  // namespace descent
