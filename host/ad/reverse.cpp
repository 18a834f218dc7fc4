// Reverse-mode accumulation: one visit per node in decreasing id (= reverse topological)
// order; each node's adjoint is the sum of the contributions its parents sent it.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "ad/derive.hpp"
#include "ad/rules.hpp"
#include "common/error.hpp"
#include "graph/simplify.hpp"

namespace descent {

namespace {

// Brings a contribution to the child's shape (summing broadcast axes) and, where a per-sample
// parent meets a child that is the same for every sample, sums it over the batch: every
// sample's copy of the parent sends its contribution to the one child. A contribution that is
// itself the same for every sample (a parameter-only term inside the per-sample loss, whose
// adjoint is 1/batch_size from batch_mean) sums to contribution*batch_size.
NodeId fit_to_child(Graph& g, NodeId contribution, NodeId child, bool parent_varying) {
  const NodeHead child_head = g.head(child);
  // Two scalars have the same shape (Shape's == compares the dims of its rank only).
  const bool scalars = child_head.rank == 0 && g.head(contribution).rank == 0;
  if (!scalars && !(g[contribution].shape == g[child].shape)) {
    const Shape child_shape = g[child].shape;
    contribution = g.apply_with_attr(Op::sum_to, contribution, child_shape);
  }
  if (parent_varying && !child_head.varying()) {
    contribution = g.head(contribution).varying() ? g.apply(Op::batch_sum, contribution)
                                                  : g.mul(contribution, g.batch_size());
  }
  return contribution;
}

}  // namespace

std::string derivative_rule_name(const Graph& graph, NodeId node) {
  const Node& n = graph[node];
  if (n.op == Op::pow && graph.is_constant(n[1])) return "power rule: (u^c)' = c*u^(c-1)*u'";
  return derivative_rule(n.op).name;
}

std::vector<NodeId> derive_gradients(Graph& g, NodeId output, const std::vector<NodeId>& wrt,
                                     const GradientOptions& options) {
  if (!g[output].shape.is_scalar())
    throw input_error("can only differentiate a scalar, but the expression has shape " +
                          g[output].shape.to_string(),
                      g.span(output));
  if (g[output].varying)
    throw Error(ExitCode::failure,
                "internal: differentiate a batch_mean of a per-sample loss, not the loss itself");

  // Only nodes on a path from a wrt variable to the output need adjoints.
  const std::vector<NodeId> order = g.reachable({output});
  std::vector<char> needed(g.size(), 0);
  for (NodeId v : wrt) needed[v] = 1;
  for (NodeId id : order) {
    const NodeHead n = g.head(id);
    for (int i = 0; i < n.arity; ++i)
      if (needed[n.child[i]]) needed[id] = 1;
  }

  // What each node's parents sent it, in the order they sent it: one list per node, threaded
  // through a single pool (most nodes receive one or two contributions).
  constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();
  struct Contribution {
    NodeId value;
    std::uint32_t next;
  };
  std::vector<Contribution> pool;
  std::vector<std::uint32_t> first(g.size(), kEnd), last(g.size(), kEnd);
  const auto contribute = [&](NodeId to, NodeId value) {
    const auto k = static_cast<std::uint32_t>(pool.size());
    pool.push_back({value, kEnd});
    (first[to] == kEnd ? first[to] : pool[last[to]].next) = k;
    last[to] = k;
  };
  contribute(output, g.num(1));
  std::vector<NodeId> adjoint(g.size(), kNoNode);

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const NodeId id = *it;
    if (!needed[id] || first[id] == kEnd) continue;
    NodeId total = pool[first[id]].value;
    for (std::uint32_t k = pool[first[id]].next; k != kEnd; k = pool[k].next)
      total = g.add(total, pool[k].value);
    adjoint[id] = total;

    // Copies of what the loop needs, read before the rules and fit_to_child add nodes.
    const NodeHead head = g.head(id);
    const Op op = head.op;
    const int arity = head.arity;
    const bool parent_varying = head.varying();
    const NodeId children[2] = {head.child[0], head.child[1]};
    if (arity == 0) continue;
    DerivationStep step;
    NodeId partials[2] = {kNoNode, kNoNode};
    derivative_rule(op).partials(g, id, total, partials);
    for (int i = 0; i < arity; ++i) {
      const NodeId child = children[i];
      if (partials[i] == kNoNode || !needed[child]) continue;
      const NodeId fitted = fit_to_child(g, partials[i], child, parent_varying);
      contribute(child, fitted);
      if (options.explain) step.contributions.emplace_back(child, fitted);
    }
    if (options.explain) {
      step.node = id;
      step.rule = derivative_rule_name(g, id);
      step.adjoint = total;
      options.explain->push_back(std::move(step));
    }
  }

  std::vector<NodeId> gradients;
  for (NodeId v : wrt) {
    const NodeId grad = adjoint[v] != kNoNode ? adjoint[v] : g.constant(0.0, g[v].shape);
    gradients.push_back(grad);
  }
  if (options.simplify) gradients = simplify(g, gradients);
  return gradients;
}

}  // namespace descent
