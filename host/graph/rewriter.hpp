// The rewriting engine under the simplifier (simplify.hpp) and the stabilizer (stabilize.hpp):
// it applies a list of rules bottom-up to every node reachable from the roots, pass after pass,
// until a pass leaves the roots as they were (or kMaxRewritePasses passes have run), building
// the rewritten nodes in the same graph; unreachable old nodes are simply left behind. It also
// gives the rules their vocabulary of canonical forms: a product gathered to
// coefficient * Π base^exponent, a sum to Σ coefficient*term + constant, both rebuilt in
// base-id order. The passes are implemented in rewriter.cpp, the canonical forms in
// canonical_forms.cpp.
//
// It knows no rule and no algebra beyond that vocabulary; the rule lists and their comments are
// in simplify.cpp and stabilize.cpp.
//
// Cost. A pass visits each reachable node once (rules see bounded pieces of a product, and a
// sum's terms only at the top of the sum), so it is linear in the graph. What a rule decides
// depends on the node, the nodes below it (which never change) and on one fact about some of
// them: whether they are used once (then a product or sum is opened into its parent). When the
// rules leave a node as it was, the engine remembers the node with the facts they read, and a
// later pass or run of the same Rewriter skips the node while those facts still hold: passes
// after the first cost a check per remembered fact instead of a rerun of every rule. Skipping
// builds exactly the nodes a rerun would have built (none), so the numbering is unchanged.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/large_buffer.hpp"
#include "graph/graph.hpp"

namespace descent {

// A product flattened to coefficient * Π base^exponent.
struct Factor {
  NodeId base;
  double exponent;
};
// A sum flattened to Σ coefficient * rest (+ constant); rest == kNoNode for the constant.
struct Term {
  double coefficient;
  NodeId rest;
  // The node number * rest that split_term split the term from, or kNoNode: a hint for
  // build_sum, which is most often rebuilding that very node (build_scaled checks it before it
  // is used; a coefficient changed since, by a sign or a like term, fails the check).
  NodeId read_from = kNoNode;
};

struct RewriteStats {
  int passes = 0;        // full passes run (the last one changed nothing, unless capped)
  bool hit_cap = false;  // stopped by the pass cap before reaching a fixed point
};

inline constexpr int kMaxRewritePasses = 12;

class Rewriter;
// A rule: the node that replaces `id`, or nullopt (or `id` itself) when the rule does not apply.
// Rules read the graph freely, but learn whether a node is shared only through the Rewriter's
// gather and flattenable functions (so that the engine sees every fact a decision rests on).
using RewriteRule = std::optional<NodeId> (*)(Rewriter&, NodeId);
struct NamedRule {
  const char* name;
  RewriteRule rule;
};

class Rewriter {
 public:
  // `rules` must outlive the Rewriter; at each node the first rule that applies wins, and the
  // list is rerun on the result (at most 8 times a node).
  Rewriter(Graph& graph, std::span<const NamedRule> rules) : g_(graph), rules_(rules) {}

  // Rewrites to a fixed point and returns the new roots. A Rewriter may run several times on
  // the same graph (what it remembers between runs is only ever used after a check).
  std::vector<NodeId> run(const std::vector<NodeId>& roots, RewriteStats* stats = nullptr);

  Graph& g() { return g_; }
  const Node& n(NodeId id) const { return g_[id]; }
  Op op(NodeId id) const { return g_.head(id).op; }
  // n(id).shape == shape, reading the node only when both are tensors.
  bool shaped_like(NodeId id, const Shape& shape) const;
  // n(id).shape, reading the node only when it is not a plain scalar.
  Shape shape_of(NodeId id) const { return g_.head(id).plain_scalar() ? Shape{} : n(id).shape; }
  // The graph's batch_size variable, or kNoNode (in `derive EXPR` graphs).
  NodeId batch_size() const { return batch_size_; }
  // True when the node's value is finite whenever the graph's variables are finite (the
  // condition for x*0 → 0).
  bool finite(NodeId id);

  // ---- products ----
  // A mul, div or neg that may be opened into a product that uses it: it is used once, or it
  // is small (at most a few factors), so that shared products stay shared.
  bool flattenable_product(NodeId id);
  // Collects the coefficient and factors of `id` raised to `power` (±1 for quotients); `top`
  // opens `id` itself whatever its uses. At most a fixed budget of product nodes below the top
  // are opened (counting nodes, not factors, so that a long chain costs O(budget) a call).
  void gather_product(NodeId id, double power, double& coefficient, std::vector<Factor>& out,
                      bool top, bool shallow = false);
  // coefficient * Π factors, in base-id order, shaped like `shape`. `hint` may name the node
  // that is that product already (a rule normalizing a product most often finds it so): when
  // the heads of `hint` and of its chain show that it is, it is returned without a lookup (a
  // lookup would find it and build nothing); else the product is built.
  NodeId build_product(double coefficient, std::vector<Factor> factors, Shape shape,
                       NodeId hint = kNoNode);
  // c * rest, merged into rest's own coefficient when rest is a product; `hint` as for
  // build_product.
  NodeId build_scaled(double c, NodeId rest, NodeId hint = kNoNode);
  // How many products build_product and build_scaled have returned from their hint, without a
  // lookup (a measure of that shortcut, for tests and benchmarks).
  std::size_t reused_products() const { return reused_products_; }
  // The product's factors (for common-factor search); multiplies its numeric coefficient into
  // `coefficient` (a term's rest can still carry one: 2*x in x - 2*x).
  std::vector<Factor> factors_of(NodeId rest, double& coefficient);

  // ---- sums ----
  // An add or sub that may be opened into a sum that uses it: used once, or a scalar.
  bool flattenable_sum(NodeId id);
  // A term's numeric coefficient and the rest: 3*x → (3, x); x → (1, x); 5 → (5, none).
  Term split_term(NodeId id);
  // The terms of `id` times `sign`. Unshared sums are opened whole, shared scalar sums as many
  // times as a budget proportional to the sum's own size allows; `top` opens `id` itself.
  // Iterative: a 100k-term chain must not recurse 100k deep.
  void gather_sum(NodeId id, double sign, std::vector<Term>& out, bool top);
  // Σ terms + constant, in rest-id order, shaped like `shape`.
  NodeId build_sum(std::vector<Term> terms, double constant, Shape shape);

 private:
  void gather_product_within(NodeId id, double power, double& coefficient, std::vector<Factor>& out,
                             bool top, bool shallow, std::size_t& budget);
  std::size_t count_factors_shallow(NodeId id, bool top, std::size_t& budget) const;
  // build_product on `factors`, which it sorts in place: `existing` (kNoNode: none) without a
  // lookup when is_built_product shows that it is the product, else the product built.
  NodeId build_product_at(NodeId existing, double coefficient, std::vector<Factor>& factors,
                          const Shape& shape);
  // build_product on factors already in base-id order, built.
  NodeId build_sorted_product(double coefficient, std::span<const Factor> sorted,
                              const Shape& shape);
  // Whether build_sorted_product(coefficient, sorted, shape) would give `id`, read from the
  // heads of `id`'s chain (and the shape of a tensor chain); false when they show otherwise.
  bool is_built_product(NodeId id, double coefficient, std::span<const Factor> sorted,
                        const Shape& shape) const;
  // Whether `node` is the term build_sorted_product makes of `f`: the base, or base^exponent.
  bool is_factor_term(NodeId node, const Factor& f) const;
  // Whether `node` is the plain scalar constant that Graph::constant(value) gives.
  bool is_number(NodeId node, double value) const;
  // The ops a sum is gathered through (a sub is a sum with its second term negated).
  static bool is_sum(Op op) { return op == Op::add || op == Op::sub; }
  // Uses of `id` among the reachable nodes (and the roots) this pass; 1 for a node built in it.
  std::uint32_t uses(NodeId id) const {
    return id < pass_.size() && pass_[id].uses != 0 ? pass_[id].uses : 1;
  }
  // Counts up to 255 and stays there: decisions only ask whether a node is used at most once.
  void add_uses(NodeId id, std::uint32_t n) {
    pass_[id].uses = static_cast<std::uint8_t>(std::min<std::uint32_t>(255, pass_[id].uses + n));
  }
  // uses(id) <= 1, recorded as a fact that the decision being made rests on.
  bool unshared(NodeId id);
  // Appends a fact (as reads_ keeps them) to the decision being recorded, if one is.
  void record(std::uint32_t fact);
  // Whether a fact, as reads_ keeps them, holds now.
  bool fact_holds(std::uint32_t fact) const {
    return (uses(fact & ~kUnsharedBit) <= 1) == ((fact & kUnsharedBit) != 0);
  }
  // Sets order_, pass_ and reached_ for a pass from `roots`.
  void count_uses(const std::vector<NodeId>& roots);
  // Asks the cache for the heads of the children `id` will be rebuilt over (a hint).
  void prefetch_operands(NodeId id) const;
  // Asks the cache for the pass slots of `id`'s children, which prefetch_operands reads.
  void prefetch_slots(NodeId id) const;
  NodeId rebuild(NodeId id);
  NodeId rewrite_node(NodeId id);
  // True when `id` is remembered as left alone by the rules and every fact read then holds.
  bool known_fixed(NodeId id) const;

  Graph& g_;
  std::span<const NamedRule> rules_;
  NodeId batch_size_ = kNoNode;

  // Per pass: the reachable nodes in id order, and by node id:
  std::vector<NodeId> order_;
  // count_uses' marks: reached from the roots, used outside a sum, and interior (an unshared
  // sum used only by a sum, which is not normalized itself: its parent gathers it whole).
  enum : std::uint8_t { kReached = 1, kOutsideSum = 2, kInterior = 4 };
  // What a pass knows of a node, by node id, in one place: a pass reads all three at a child,
  // and in a graph larger than the cache each array would cost a miss of its own. On huge
  // pages when large (large_buffer.hpp), as fixed_ is: children are anywhere below a node.
  struct PassSlot {
    NodeId mapped = kNoNode;  // what the node was rewritten to (kNoNode: not yet, or unreached)
    std::uint8_t uses = 0;    // 0 = not counted (read as 1); saturates at 255
    std::uint8_t flags = 0;   // count_uses' marks
  };
  std::vector<PassSlot, HugePageAllocator<PassSlot>> pass_;
  std::vector<NodeId> rewritten_to_;    // the nodes this pass rewrote a node to (marked in pass_)
  std::vector<std::uint64_t> reached_;  // count_uses' bitmap of the reached nodes, by id

  // Nodes the rules left alone, with the facts they read: fixed_[id] is a range of reads_,
  // each entry a node id with kUnsharedBit set when it was used at most once.
  static constexpr std::uint32_t kUnsharedBit = 0x80000000u;
  static constexpr std::uint32_t kUnknown = 0xffffffffu;
  struct FixedRange {
    std::uint32_t begin = kUnknown;  // kUnknown: not known to be left alone
    std::uint32_t end = 0;
  };
  std::vector<FixedRange, HugePageAllocator<FixedRange>> fixed_;
  std::vector<std::uint32_t> reads_;
  bool recording_ = false;

  std::vector<char> finite_;  // memo of finite(), grown with the graph
  // gather_sum's work list: a node, its sign, and whether it lies inside a shared sum copied in.
  struct SumItem {
    NodeId id;
    double sign;
    bool copied;
  };
  std::vector<SumItem> sum_stack_;
  std::vector<Factor> scaled_factors_;  // build_scaled's
  std::size_t reused_products_ = 0;     // see reused_products()

  // build_scaled's memory of products (a rest that is no product reads no fact and is built
  // directly): what c * rest was built to, with the facts the build read. Long sums
  // are normalized again whenever a term changes (and once more to confirm the result), and
  // each time every term's product is gathered and found again; a call whose facts still hold
  // would do exactly what it did the first time, which built (or found) `result` and builds
  // nothing now. Open addressing by (c, rest); empty slots have rest == kNoNode.
  struct ScaledEntry {
    std::uint64_t coefficient_bits = 0;
    NodeId rest = kNoNode;
    NodeId result = kNoNode;
    std::uint32_t facts_begin = 0;  // a range of scaled_facts_, each entry as in reads_
    std::uint32_t facts_end = 0;
  };
  std::vector<ScaledEntry> scaled_;
  std::size_t scaled_count_ = 0;
  std::vector<std::uint32_t> scaled_facts_;
  bool capturing_ = false;   // unshared() also appends to scaled_facts_
  bool capture_ok_ = false;  // false when a fact could not be captured
  // The slot holding (c, rest), or the empty one where it would go; scaled_ is not empty.
  ScaledEntry& scaled_slot(std::uint64_t coefficient_bits, NodeId rest);
  // Enters `entry` (over the one with its key), growing scaled_ to stay at most half full.
  void remember_scaled(const ScaledEntry& entry);
};

}  // namespace descent
