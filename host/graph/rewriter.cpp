// The rewriting engine's passes: passes to a fixed point, use counts, and what it remembers of
// nodes the rules left alone (see rewriter.hpp). The gathering and building of canonical
// products and sums is in canonical_forms.cpp; no rule lives here (simplify.cpp, stabilize.cpp).
#include "graph/rewriter.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

namespace descent {

namespace {

// Rules rerun on a node's replacement at most this many times (a guard against cycles).
constexpr int kMaxRoundsPerNode = 8;
// A pass asks for the operands of the node this many places ahead in its order (see
// prefetch_operands).
constexpr std::size_t kPrefetchAhead = 8;

}  // namespace

// ---- passes ----

std::vector<NodeId> Rewriter::run(const std::vector<NodeId>& roots, RewriteStats* stats) {
  // What was remembered rests on the rules' view of batch_size too; it cannot change while
  // the rules run (no rule declares a variable), but it may between runs.
  const NodeId batch_size = g_.find_batch_size();
  if (batch_size != batch_size_) {
    fixed_.clear();
    reads_.clear();
    scaled_.clear();
    scaled_count_ = 0;
    scaled_facts_.clear();
    batch_size_ = batch_size;
  }
  std::vector<NodeId> current = roots;
  RewriteStats local;
  for (int pass = 0; pass < kMaxRewritePasses; ++pass) {
    ++local.passes;
    count_uses(current);
    for (std::size_t k = 0; k < order_.size(); ++k) {
      // Three stages ahead of the node rewritten: its head, then its children's slots (read
      // by the next stage), then the heads of what the children were rewritten to.
      if (k + 3 * kPrefetchAhead < order_.size()) g_.prefetch_head(order_[k + 3 * kPrefetchAhead]);
      if (k + 2 * kPrefetchAhead < order_.size()) prefetch_slots(order_[k + 2 * kPrefetchAhead]);
      if (k + kPrefetchAhead < order_.size()) prefetch_operands(order_[k + kPrefetchAhead]);
      const NodeId id = order_[k];
      const NodeId to = rewrite_node(id);
      pass_[id].mapped = to;
      // The replacement inherits the uses of the node it replaces, so that a shared node
      // that was rewritten stays shared (is not flattened into each parent) in this pass.
      if (to != id) {
        if (to >= pass_.size()) pass_.resize(g_.size());
        add_uses(to, uses(id));
        rewritten_to_.push_back(to);
      }
    }
    std::vector<NodeId> next;
    next.reserve(current.size());
    for (NodeId r : current) next.push_back(pass_[r].mapped);
    if (next == current) {
      if (stats) *stats = local;
      return next;
    }
    current = std::move(next);
  }
  local.hit_cap = true;
  if (stats) *stats = local;
  return current;
}

void Rewriter::count_uses(const std::vector<NodeId>& roots) {
  // Forget the last pass (of this run or the one before): only the nodes it reached and the
  // nodes it rewrote to carry marks, so this costs what the pass cost, not the graph's size
  // (beside the reached-node bitmap, one word for 64 ids, which is cleared and swept whole).
  for (NodeId id : order_) pass_[id] = PassSlot{};
  for (NodeId id : rewritten_to_) pass_[id] = PassSlot{};
  rewritten_to_.clear();
  pass_.resize(g_.size());
  reached_.assign(g_.size() / 64 + 1, 0);
  const auto reach = [&](NodeId id, std::uint8_t marks) {
    add_uses(id, 1);
    pass_[id].flags |= kReached | marks;
    reached_[id / 64] |= std::uint64_t{1} << (id % 64);
  };
  NodeId top = 0;
  for (NodeId r : roots) {
    reach(r, kOutsideSum);
    top = std::max(top, r);
  }
  // Children have smaller ids than their parents, so a sweep down from the largest root
  // reaches every node below the roots after all of its parents: it counts each reachable
  // parent's uses of its children and notes the children used outside a sum. It steps from
  // reached node to reached node through the bitmap (a word a 64 ids), whose lower bits the
  // node's children may have set a moment before.
  std::size_t reached = 0;
  for (std::size_t w = roots.empty() ? 0 : top / 64 + 1; w-- > 0;) {
    std::uint64_t below = ~std::uint64_t{0};  // the bits of word w not visited yet
    while (const std::uint64_t pending = reached_[w] & below) {
      const int bit = 63 - std::countl_zero(pending);
      below = bit == 0 ? 0 : (std::uint64_t{1} << bit) - 1;
      const auto id = static_cast<NodeId>(w * 64 + static_cast<std::size_t>(bit));
      ++reached;
      const NodeHead node = g_.head(id);
      const std::uint8_t outside = is_sum(node.op) ? 0 : kOutsideSum;
      for (int i = 0; i < node.arity; ++i) reach(node.child[i], outside);
    }
  }
  order_.clear();
  order_.reserve(reached);
  for (std::size_t w = 0; w < reached_.size(); ++w)
    for (std::uint64_t bits = reached_[w]; bits != 0; bits &= bits - 1) {
      const auto id =
          static_cast<NodeId>(w * 64 + static_cast<std::size_t>(std::countr_zero(bits)));
      order_.push_back(id);
      if (!(pass_[id].flags & kOutsideSum) && is_sum(g_.head(id).op) && uses(id) <= 1)
        pass_[id].flags |= kInterior;
    }
}

void Rewriter::prefetch_slots(NodeId id) const {
#if defined(__GNUC__)
  const NodeHead head = g_.head(id);
  for (int i = 0; i < head.arity; ++i) __builtin_prefetch(&pass_[head.child[i]]);
#else
  (void)id;
#endif
}

void Rewriter::prefetch_operands(NodeId id) const {
  // The children of a node are anywhere below it: in a graph larger than the cache each of
  // their heads is a miss when rebuild and the rules read it. The child the node will be
  // rebuilt over is the one this pass mapped it to, when the pass has reached it already.
  const NodeHead head = g_.head(id);
  for (int i = 0; i < head.arity; ++i) {
    const NodeId child = head.child[i];
    const NodeId to = pass_[child].mapped;
    g_.prefetch_head(to == kNoNode ? child : to);
  }
}

NodeId Rewriter::rebuild(NodeId id) {
  const NodeHead head = g_.head(id);
  if (head.arity == 0) return id;
  const NodeId a = pass_[head.child[0]].mapped;
  const NodeId b = head.arity == 2 ? pass_[head.child[1]].mapped : kNoNode;
  if (a == head.child[0] && b == head.child[1]) return id;
  // The node itself is read only for what its head lacks: a span to keep, an attribute.
  if (!head.has_span() && op_info(head.op).attr == OpAttr::none)
    return head.arity == 2 ? g_.apply(head.op, a, b) : g_.apply(head.op, a);
  const Node& node = g_[id];
  const Span span = g_.span(node);  // a copy: apply may add records beside the one it is in
  if (head.arity == 2) return g_.apply(node.op, a, b, span);
  return op_info(node.op).attr != OpAttr::none ? g_.apply_with_attr(node.op, a, g_.attr(node), span)
                                               : g_.apply(node.op, a, span);
}

NodeId Rewriter::rewrite_node(NodeId id) {
  NodeId current = rebuild(id);
  // An unshared sum whose only user is a sum: that parent gathers it whole, so normalizing
  // it here too would redo the same work at every level of a chain (O(n^2) for n terms).
  if (id < pass_.size() && (pass_[id].flags & kInterior)) return current;
  // Apply the first matching rule until none matches (capped against cycles).
  for (int round = 0; round < kMaxRoundsPerNode; ++round) {
    if (known_fixed(current)) break;
    const auto begin = static_cast<std::uint32_t>(reads_.size());
    recording_ = true;
    bool changed = false;
    for (const NamedRule& r : rules_) {
      const std::optional<NodeId> replaced = r.rule(*this, current);
      if (replaced && *replaced != current) {
        current = *replaced;
        changed = true;
        break;
      }
    }
    const bool recorded = recording_;  // false when a fact could not be recorded
    recording_ = false;
    if (changed) {
      reads_.resize(begin);
      continue;
    }
    if (recorded) {
      if (current >= fixed_.size()) fixed_.resize(g_.size());
      fixed_[current] = {begin, static_cast<std::uint32_t>(reads_.size())};
    } else {
      reads_.resize(begin);
    }
    break;
  }
  return current;
}

bool Rewriter::known_fixed(NodeId id) const {
  if (id >= fixed_.size() || fixed_[id].begin == kUnknown) return false;
  for (std::uint32_t k = fixed_[id].begin; k < fixed_[id].end; ++k)
    if (!fact_holds(reads_[k])) return false;
  return true;
}

bool Rewriter::shaped_like(NodeId id, const Shape& shape) const {
  const std::uint8_t rank = g_.head(id).rank;
  if (rank != shape.rank) return false;
  return rank == 0 || n(id).shape == shape;  // scalars are equal whatever their dims
}

bool Rewriter::finite(NodeId id) {
  while (finite_.size() < g_.size()) {
    const NodeId k = static_cast<NodeId>(finite_.size());
    const NodeHead node = g_.head(k);
    bool ok;
    if (node.op == Op::constant) {
      ok = std::isfinite(node.value());
    } else if (node.op == Op::variable) {
      ok = true;
    } else if (node.op == Op::pow) {
      // x^k with k a non-negative whole number stays finite.
      const NodeId e = node.child[1];
      ok = finite_[node.child[0]] && g_.is_constant(e) && g_.value(e) >= 0 &&
           std::floor(g_.value(e)) == g_.value(e);
    } else {
      ok = op_info(node.op).finite_preserving;
      for (int i = 0; i < node.arity; ++i) ok = ok && finite_[node.child[i]];
    }
    finite_.push_back(ok ? 1 : 0);
  }
  return finite_[id] != 0;
}

}  // namespace descent
