// The printer: graph nodes back to infix text in the input language itself, so every
// printed derivative parses back (descent derive). Minimal parentheses, '^' for powers,
// products shown as fractions (x*y^-1 prints as x/y), no '*1', '+0', '^1' or '--'.
// It prints a DAG as a tree: shared subexpressions are printed where they occur.
#pragma once

#include <string>

#include "graph/graph.hpp"

namespace descent {

// Shortest text that reads back as exactly `value` ("12", "0.5", "-3", "1e-300").
std::string format_number(double value);

std::string print_expression(const Graph& graph, NodeId id);

// The length that print_expression would produce, computed without printing (it can grow
// exponentially with the depth of a shared DAG); saturates at `limit`.
std::size_t printed_size_estimate(const Graph& graph, NodeId root, std::size_t limit);

}  // namespace descent
