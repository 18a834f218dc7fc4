// Lowering of a parsed expression (host/expr) into graph nodes: resolves names, maps calls to
// ops, checks arities and shapes, and reports each problem at the span of the node that
// caused it. Does no rewriting beyond turning a negated literal into a negative constant and a
// whole slice (x[:]) into the value itself.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "expr/ast.hpp"
#include "graph/graph.hpp"

namespace descent {

struct NameScope {
  // Returns the node that `name` denotes, or kNoNode when it is unknown.
  std::function<NodeId(const std::string& name, const Span& span)> lookup;
  // Names offered in "did you mean" hints when a lookup fails.
  std::vector<std::string> known_names;
};

// A scope in which every name is a free scalar variable (descent derive EXPR), as in SymPy.
NameScope free_variable_scope(Graph& graph);

NodeId lower_expression(Graph& graph, const expr::Ast& ast, const NameScope& scope);

// The one function of the language that is no op: ones(n), ones(m, n), a constant of ones.
inline constexpr std::string_view kOnesFunction = "ones";

// The language's function names, for hints and documentation.
std::vector<std::string> function_names();

}  // namespace descent
