// The printer: graph nodes back to infix text in the input language itself, so every
// printed derivative parses back (descent derive). Minimal parentheses, '^' for powers,
// products shown as fractions (x*y^-1 prints as x/y), no '*1', '+0', '^1' or '--'.
// It prints a DAG as a tree: shared subexpressions are printed where they occur, unless they
// have a name (NodeNames below).
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.hpp"

namespace descent {

// Shortest text that reads back as exactly `value` ("12", "0.5", "-3", "1e-300").
std::string format_number(double value);

// The shorter of print_tree and, for a polynomial in one scalar variable (whole exponents up
// to 32), its collected form in rising powers: d/dx 2x²(4x³ − 3x⁴) prints as 40*x^4 - 36*x^5,
// while (x^2 + 4*x^3)^4*(10*x + 60*x^2) keeps its factored form. Both read back as the
// same function.
std::string print_expression(const Graph& graph, NodeId id);
// The expression as its tree, with the printer's rules above and nothing collected.
std::string print_tree(const Graph& graph, NodeId id);
// The collected form of a polynomial in one scalar variable, or "" when `id` is not one.
std::string print_collected_polynomial(const Graph& graph, NodeId id);

// Names of subexpressions (a config's [model] entries): below the root, a node that has a name
// prints as that name wherever it occurs, so `descent derive CONFIG` reads `(1 - hidden^2)`
// where the tree would repeat `tanh(W1 @ x + b1)`. The root itself prints in full (a name's
// own definition). `used`, when given, receives every named node that was printed as its name.
using NodeNames = std::unordered_map<NodeId, std::string>;
std::string print_expression(const Graph& graph, NodeId id, const NodeNames& names,
                             std::vector<NodeId>* used = nullptr);

// The length that print_expression would produce, computed without printing (it can grow
// exponentially with the depth of a shared DAG); saturates at `limit`.
std::size_t printed_size_estimate(const Graph& graph, NodeId root, std::size_t limit);

}  // namespace descent
