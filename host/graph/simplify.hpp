// The simplifier (DESIGN §4): a list of rewrite rules, each with its algebra in a comment, run by
// the rewriting engine (rewriter.hpp) bottom-up over every node reachable from the roots and
// repeated to a fixed point with a cap. It builds new nodes in the same graph and returns the
// new roots.
//
// Canonical form after simplify: differences become sums with coefficients (a - b → a + -1*b),
// quotients become negative powers (a/b → a*b^-1), products and sums are flattened, numeric
// coefficients collected, like terms and like powers merged, common factors of all terms of a
// sum pulled out. Products are never expanded over sums, except that a number multiplies into
// a sum whose terms all carry numbers already (5*(2*x + 12*x^2) → 10*x + 60*x^2).
//
// It does not stabilize (stabilize.hpp) and knows nothing of how the engine walks the graph.
#pragma once

#include <span>
#include <vector>

#include "graph/graph.hpp"
#include "graph/rewriter.hpp"
// stabilize() is declared beside its rules in stabilize.hpp; included here for the callers that
// still reach it through this header.
#include "graph/stabilize.hpp"

namespace descent {

std::vector<NodeId> simplify(Graph& graph, const std::vector<NodeId>& roots,
                             RewriteStats* stats = nullptr);

// The simplifier's rules, in the order they are tried (for a Rewriter that runs them more than
// once on the same graph, as stabilize() does).
std::span<const NamedRule> simplifier_rules();

}  // namespace descent
