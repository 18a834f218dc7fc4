// The rewriting engine's vocabulary of canonical forms (see rewriter.hpp): products gathered to
// coefficient * Π base^exponent and sums to Σ coefficient*term + constant, and rebuilt in base-id
// order, with build_scaled's memory of scaled products and the one fact gathers read (unshared).
// The passes are in rewriter.cpp; no rule lives here (simplify.cpp, stabilize.cpp).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "graph/rewriter.hpp"

namespace descent {

namespace {

// Flattening stops here, so a product or sum of n factors costs O(n) new nodes, not O(n^2).
constexpr std::size_t kMaxFlatten = 16;
// A child shared by several parents is flattened into them only when it is this small, so
// that shared products (adjoints, forward chains) stay shared.
constexpr std::size_t kSmallShared = 3;

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

// ---- facts ----
// The one fact a gather reads (whether a node is used at most once), recorded for the decision
// being made (reads_) and for build_scaled's memory while it captures; here beside the gathers
// that call it for every node they open.

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

NodeId Rewriter::build_product(double coefficient, std::vector<Factor> factors, Shape shape,
                               NodeId hint) {
  return build_product_at(hint, coefficient, factors, shape);
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
