// The rewriting engine: passes to a fixed point, use counts, what it remembers of nodes the rules
// left alone, and the gathering and building of canonical products and sums (see rewriter.hpp).
// No rule lives here (simplify.cpp, stabilize.cpp).
#include "graph/rewriter.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <utility>

namespace descent {

namespace {

// Flattening stops here, so a product or sum of n factors costs O(n) new nodes, not O(n^2).
constexpr std::size_t kMaxFlatten = 16;
// A child shared by several parents is flattened into them only when it is this small, so
// that shared products (adjoints, forward chains) stay shared.
constexpr std::size_t kSmallShared = 3;
// Rules rerun on a node's replacement at most this many times (a guard against cycles).
constexpr int kMaxRoundsPerNode = 8;
// A pass asks for the operands of the node this many places ahead in its order (see
// prefetch_operands).
constexpr std::size_t kPrefetchAhead = 8;

bool is_sum(Op op) { return op == Op::add || op == Op::sub; }
bool is_product(Op op) { return op == Op::mul || op == Op::div || op == Op::neg; }

// std::stable_sort by key, without its buffer for the few elements a product usually has.
template <class T, class Key>
void stable_sort_by(std::vector<T>& items, Key key) {
  if (items.size() > 32) {
    std::stable_sort(items.begin(), items.end(),
                     [&](const T& a, const T& b) { return key(a) < key(b); });
    return;
  }
  for (std::size_t i = 1; i < items.size(); ++i) {
    const T item = items[i];
    std::size_t j = i;
    for (; j > 0 && key(item) < key(items[j - 1]); --j) items[j] = items[j - 1];
    items[j] = item;
  }
}

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

bool Rewriter::unshared(NodeId id) {
  const bool result = uses(id) <= 1;
  if ((id & kUnsharedBit) != 0) {
    // Beyond what a fact can hold: neither this decision nor this build is remembered.
    recording_ = false;
    capture_ok_ = false;
    return result;
  }
  const std::uint32_t fact = result ? (id | kUnsharedBit) : id;
  if (capturing_) scaled_facts_.push_back(fact);
  record(fact);
  return result;
}

void Rewriter::record(std::uint32_t fact) {
  if (!recording_) return;
  if (reads_.size() >= kUnsharedBit)
    recording_ = false;  // beyond what an entry can hold: this decision is not remembered
  else
    reads_.push_back(fact);
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

// ---- products ----

bool Rewriter::flattenable_product(NodeId id) {
  if (!is_product(op(id))) return false;
  if (unshared(id)) return true;
  std::size_t budget = kSmallShared;
  return count_factors_shallow(id, /*top=*/false, budget) <= kSmallShared;
}

// How many factors gather_product(id, ..., top, shallow = true) would collect (a shallow gather
// opens products by budget alone and reads no uses).
std::size_t Rewriter::count_factors_shallow(NodeId id, bool top, std::size_t& budget) const {
  const NodeHead node = g_.head(id);
  bool descend = top;
  if (!descend && is_product(node.op) && budget > 0) {
    descend = true;
    --budget;
  }
  if (node.op == Op::constant) return 0;
  if (descend && (node.op == Op::mul || node.op == Op::div)) {
    // Left first, as gathering does.
    const std::size_t left = count_factors_shallow(node.child[0], false, budget);
    return left + count_factors_shallow(node.child[1], false, budget);
  }
  if (descend && node.op == Op::neg) return count_factors_shallow(node.child[0], false, budget);
  return 1;
}

void Rewriter::gather_product(NodeId id, double power, double& coefficient,
                              std::vector<Factor>& out, bool top, bool shallow) {
  std::size_t budget = shallow ? kSmallShared : kMaxFlatten;
  gather_product_within(id, power, coefficient, out, top, shallow, budget);
}

void Rewriter::gather_product_within(NodeId id, double power, double& coefficient,
                                     std::vector<Factor>& out, bool top, bool shallow,
                                     std::size_t& budget) {
  const NodeHead node = g_.head(id);
  bool descend = top;
  if (!descend && is_product(node.op) && budget > 0 && (shallow || flattenable_product(id))) {
    descend = true;
    --budget;
  }
  const NodeId a = node.child[0], b = node.child[1];
  if (node.op == Op::constant) {
    coefficient *= std::pow(node.value(), power);
  } else if (descend && node.op == Op::mul) {
    gather_product_within(a, power, coefficient, out, false, shallow, budget);
    gather_product_within(b, power, coefficient, out, false, shallow, budget);
  } else if (descend && node.op == Op::div) {
    gather_product_within(a, power, coefficient, out, false, shallow, budget);
    gather_product_within(b, -power, coefficient, out, false, shallow, budget);
  } else if (descend && node.op == Op::neg) {
    coefficient = -coefficient;
    gather_product_within(a, power, coefficient, out, false, shallow, budget);
  } else if (node.op == Op::pow && g_.head(b).op == Op::constant && g_.head(b).rank == 0) {
    out.push_back({a, g_.value(b) * power});
  } else {
    out.push_back({id, power});
  }
}

NodeId Rewriter::build_product(double coefficient, std::vector<Factor> factors, Shape shape) {
  return build_product_of(coefficient, factors, shape);
}

NodeId Rewriter::build_product_of(double coefficient, std::vector<Factor>& factors,
                                  const Shape& shape) {
  stable_sort_by(factors, [](const Factor& f) { return f.base; });
  return build_sorted_product(coefficient, factors, shape);
}

NodeId Rewriter::build_sorted_product(double coefficient, std::span<const Factor> sorted,
                                      const Shape& shape) {
  NodeId chain = kNoNode;
  for (const Factor& f : sorted) {
    const NodeId term = f.exponent == 1.0 ? f.base : g_.pow(f.base, g_.num(f.exponent));
    chain = chain == kNoNode ? term : g_.mul(chain, term);
  }
  if (chain == kNoNode) return g_.constant(coefficient, shape);
  const bool same_shape = shaped_like(chain, shape);
  if (coefficient != 1.0 || !same_shape) {
    const Shape coefficient_shape = same_shape ? Shape{} : shape;
    chain = g_.mul(g_.constant(coefficient, coefficient_shape), chain);
  }
  return chain;
}

NodeId Rewriter::rebuild_product(NodeId id, double coefficient, std::vector<Factor> factors,
                                 Shape shape) {
  return build_product_at(id, coefficient, factors, shape);
}

NodeId Rewriter::build_product_at(NodeId existing, double coefficient, std::vector<Factor>& factors,
                                  const Shape& shape) {
  stable_sort_by(factors, [](const Factor& f) { return f.base; });
  if (existing != kNoNode && is_built_product(existing, coefficient, factors, shape)) {
    ++reused_products_;
    return existing;
  }
  return build_sorted_product(coefficient, factors, shape);
}

bool Rewriter::is_number(NodeId node, double value) const {
  if (value == 0.0) value = 0.0;  // as Graph::constant interns -0
  const NodeHead head = g_.head(node);
  return head.op == Op::constant && head.plain_scalar() &&
         std::bit_cast<std::uint64_t>(head.value()) == std::bit_cast<std::uint64_t>(value);
}

bool Rewriter::is_factor_term(NodeId node, const Factor& f) const {
  if (f.exponent == 1.0) return node == f.base;
  // g_.pow(base, g_.num(exponent)): the power node over the base and that interned number.
  const NodeHead head = g_.head(node);
  return head.op == Op::pow && head.child[0] == f.base && is_number(head.child[1], f.exponent);
}

// build_sorted_product gives term_1 for one factor, mul(chain_{i-1}, term_i) for the i-th (a mul's
// children in id order, whichever came first), then mul(number, chain) for a coefficient other
// than 1 when the chain has the shape. Every node of that build is interned, so a node whose
// heads show this structure over the same terms is the one each lookup would find.
bool Rewriter::is_built_product(NodeId id, double coefficient, std::span<const Factor> sorted,
                                const Shape& shape) const {
  if (sorted.empty()) return false;  // the build gives a constant
  NodeId node = id;
  if (coefficient != 1.0) {
    const NodeHead head = g_.head(node);
    if (head.op != Op::mul) return false;
    if (is_number(head.child[0], coefficient))
      node = head.child[1];
    else if (is_number(head.child[1], coefficient))
      node = head.child[0];
    else
      return false;
  }
  // A chain of another shape gets a filled constant (a node of its own) for its coefficient.
  if (!shaped_like(node, shape)) return false;
  for (std::size_t i = sorted.size() - 1; i > 0; --i) {
    const NodeHead head = g_.head(node);
    if (head.op != Op::mul) return false;
    // Both children can be the term only when they are the same node.
    if (is_factor_term(head.child[1], sorted[i]))
      node = head.child[0];
    else if (is_factor_term(head.child[0], sorted[i]))
      node = head.child[1];
    else
      return false;
  }
  return is_factor_term(node, sorted[0]);
}

Rewriter::ScaledEntry& Rewriter::scaled_slot(std::uint64_t coefficient_bits, NodeId rest) {
  std::uint64_t h = (coefficient_bits ^ (std::uint64_t{rest} << 17)) * 0x9e3779b97f4a7c15ULL;
  h ^= h >> 29;
  const std::size_t mask = scaled_.size() - 1;
  std::size_t i = h & mask;
  while (scaled_[i].rest != kNoNode &&
         !(scaled_[i].rest == rest && scaled_[i].coefficient_bits == coefficient_bits))
    i = (i + 1) & mask;
  return scaled_[i];
}

void Rewriter::remember_scaled(const ScaledEntry& entry) {
  if (2 * (scaled_count_ + 1) > scaled_.size()) {
    std::vector<ScaledEntry> old = std::exchange(
        scaled_, std::vector<ScaledEntry>(std::max<std::size_t>(64, 2 * scaled_.size())));
    for (const ScaledEntry& e : old)
      if (e.rest != kNoNode) scaled_slot(e.coefficient_bits, e.rest) = e;
  }
  ScaledEntry& slot = scaled_slot(entry.coefficient_bits, entry.rest);
  if (slot.rest == kNoNode) ++scaled_count_;
  slot = entry;
}

NodeId Rewriter::build_scaled(double c, NodeId rest, NodeId hint) {
  double coefficient = c;
  std::vector<Factor>& factors = scaled_factors_;  // nothing below calls back here
  factors.clear();
  // Gathering a rest that is no product opens nothing and so reads no fact: there is nothing
  // to remember, and the hint, when it is the term, answers without a lookup (otherwise the
  // build looks up the few nodes of number * rest).
  if (!is_product(op(rest))) {
    gather_product(rest, 1.0, coefficient, factors, true);
    return build_product_at(hint, coefficient, factors, shape_of(rest));
  }
  const auto coefficient_bits = std::bit_cast<std::uint64_t>(c);
  if (!scaled_.empty()) {
    const ScaledEntry& known = scaled_slot(coefficient_bits, rest);
    if (known.rest == rest && std::all_of(scaled_facts_.begin() + known.facts_begin,
                                          scaled_facts_.begin() + known.facts_end,
                                          [&](std::uint32_t fact) { return fact_holds(fact); })) {
      // The facts the build read, recorded as unshared() would have recorded them.
      for (std::uint32_t k = known.facts_begin; k < known.facts_end; ++k) record(scaled_facts_[k]);
      return known.result;
    }
  }
  const auto facts_begin = static_cast<std::uint32_t>(scaled_facts_.size());
  capturing_ = true;
  capture_ok_ = true;
  struct StopCapture {
    bool& capturing;
    ~StopCapture() { capturing = false; }
  } stop{capturing_};
  gather_product(rest, 1.0, coefficient, factors, true);
  const NodeId result = build_product_at(hint, coefficient, factors, shape_of(rest));
  // Facts are counted in 32 bits, as reads_'s are.
  if (!capture_ok_ || scaled_facts_.size() >= kUnsharedBit) {
    scaled_facts_.resize(facts_begin);
    return result;
  }
  remember_scaled({coefficient_bits, rest, result, facts_begin,
                   static_cast<std::uint32_t>(scaled_facts_.size())});
  return result;
}

std::vector<Factor> Rewriter::factors_of(NodeId rest, double& coefficient) {
  std::vector<Factor> f;
  gather_product(rest, 1.0, coefficient, f, true);
  return f;
}

// ---- sums ----

bool Rewriter::flattenable_sum(NodeId id) {
  const NodeHead head = g_.head(id);
  if (!is_sum(head.op)) return false;
  return unshared(id) || head.rank == 0;
}

Term Rewriter::split_term(NodeId id) {
  const NodeHead node = g_.head(id);
  if (node.op == Op::constant) return {node.value(), kNoNode};
  if (node.op == Op::mul) {
    for (int i = 0; i < 2; ++i) {
      const NodeHead factor = g_.head(node.child[i]);
      if (factor.op == Op::constant && factor.rank == 0)
        return {factor.value(), node.child[1 - i], id};
    }
  }
  if (node.op == Op::neg) {
    Term t = split_term(node.child[0]);
    t.coefficient = -t.coefficient;
    return t;
  }
  return {1.0, id};
}

// Unshared sums are opened whole: only the top of a cluster is normalized (see kInterior),
// so every node is gathered once a pass. Shared scalar sums are copied in too, as many as
// kMaxFlatten plus one for each sum node of the gathered sum's own (reached without passing
// through a shared one): the work stays proportional to the sum's own size and to the terms
// copied in, and a sum that holds many shared ones takes them in one gather instead of
// kMaxFlatten a round (a round rebuilds the whole sum).
void Rewriter::gather_sum(NodeId id, double sign, std::vector<Term>& out, bool top) {
  std::vector<SumItem>& stack = sum_stack_;  // nothing below calls back here
  stack.assign(1, {id, sign, false});
  std::size_t shared_budget = kMaxFlatten;
  bool first = top;
  while (!stack.empty()) {
    const SumItem item = stack.back();
    stack.pop_back();
    const NodeHead node = g_.head(item.id);
    bool descend = first;
    bool copied = item.copied;
    first = false;
    if (!descend && is_sum(node.op) && flattenable_sum(item.id)) {
      if (unshared(item.id)) {
        descend = true;
      } else if (shared_budget > 0) {
        descend = true;
        --shared_budget;
        copied = true;
      }
    }
    if (descend && is_sum(node.op)) {
      if (!copied) ++shared_budget;
      stack.push_back({node.child[1], node.op == Op::sub ? -item.sign : item.sign, copied});
      stack.push_back({node.child[0], item.sign, copied});
    } else {
      Term t = split_term(item.id);
      t.coefficient *= item.sign;
      out.push_back(t);
    }
  }
}

NodeId Rewriter::build_sum(std::vector<Term> terms, double constant, Shape shape) {
  stable_sort_by(terms, [](const Term& t) { return t.rest; });
  NodeId chain = kNoNode;
  for (const Term& t : terms) {
    const NodeId term =
        t.coefficient == 1.0 ? t.rest : build_scaled(t.coefficient, t.rest, t.read_from);
    chain = chain == kNoNode ? term : g_.add(chain, term);
  }
  if (chain == kNoNode) return g_.constant(constant, shape);
  const bool same_shape = shaped_like(chain, shape);
  if (constant != 0.0 || !same_shape) {
    const Shape constant_shape = same_shape ? Shape{} : shape;
    chain = g_.add(chain, g_.constant(constant, constant_shape));
  }
  return chain;
}

}  // namespace descent
