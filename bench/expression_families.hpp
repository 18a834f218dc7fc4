// The expression families of the derive benchmark: deterministic generators of expression
// TEXT (so that the parser is part of what is measured) and the name scope each one is
// lowered in. Same (family, units, seed) → byte-identical text on every platform: the random
// numbers come from our own SplitMix64, not from <random>'s implementation-defined
// distributions. This file measures nothing; see derive_bench.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "graph/graph.hpp"
#include "graph/lower.hpp"

namespace descent::bench {

enum class Family {
  // A flat sum of random products/compositions of scalar functions over 20 free scalars
  // x0..x19; every term is a balanced tree at most kScalarTreeDepth levels deep, sprinkled with
  // the stabilizer's patterns (log(1 + e), log(sigmoid(e)), exp(e) - 1, 1 - sigmoid(e)).
  scalar_mix,
  // A flat sum of monomials c*x3^2*x7*x11^3 over the same 20 scalars, a quarter of them times
  // a binomial power such as (x4 - 0.5*x9)^3.
  polynomial,
  // A sum over samples k of sum((W3 @ f(W2 @ g(W1 @ xk + b1) + b2) + b3 - yk)^2) with
  // activations drawn per sample, plus weight decay; W*, b* are params, xk (8) and yk (4) free
  // vectors. Gradients are taken with respect to the params only.
  mlp,
  // One random operator tree over the same 20 scalars, `units` operator nodes in all, operand
  // counts split at random (depth O(log units)); every leaf is a variable. Subtrees of up to
  // 12 operators draw from unary exp, log, sin, cos, tanh, sigmoid, softplus, sqrt, abs, relu,
  // log1p, -e, e^2, e^3 and binary +, -, *, /, min, max; larger subtrees are combined by +, -,
  // negation and scaling by a number (see expression_families.cpp for why). Unlike the flat
  // sums above, the sums nest at every depth, scaled sums among them.
  random_tree,
};

inline constexpr Family kAllFamilies[] = {Family::scalar_mix, Family::polynomial, Family::mlp,
                                          Family::random_tree};

std::string_view family_name(Family family);

// `units` is the number of top-level terms (scalar_mix, polynomial) or samples (mlp); the node
// count grows about linearly with it (the benchmark calibrates it to a target node count).
std::string generate_expression(Family family, std::size_t units, std::uint64_t seed);

// The scope the family's names resolve in: free scalars for scalar_mix and polynomial; for
// mlp, param matrices/vectors W1 (16,8), b1 (16), W2 (16,16), b2 (16), W3 (4,16), b3 (4) and
// free vectors x<k> (8), y<k> (4). `graph` must outlive the scope.
NameScope family_scope(Family family, Graph& graph);

// The variables to differentiate with respect to: the family's free scalars, or mlp's params,
// among those reachable from `root`, in id order.
std::vector<NodeId> gradient_variables(Family family, const Graph& graph, NodeId root);

}  // namespace descent::bench
