// The simplifier's and the stabilizer's rule lists (see simplify.hpp for the canonical form).
#include "graph/simplify.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <optional>
#include <unordered_map>

#include "graph/elementwise.hpp"

namespace descent {

namespace {

// A product flattened to coefficient * Π base^exponent.
struct Factor {
  NodeId base;
  double exponent;
};
// A sum flattened to Σ coefficient * rest (+ constant).
struct Term {
  double coefficient;
  NodeId rest;
};

// Flattening stops here, so a product or sum of n factors costs O(n) new nodes, not O(n^2).
constexpr std::size_t kMaxFlatten = 16;
// A child shared by several parents is flattened into them only when it is this small, so
// that shared products (adjoints, forward chains) stay shared.
constexpr std::size_t kSmallShared = 3;

class Rewriter {
 public:
  using Rule = std::function<std::optional<NodeId>(Rewriter&, NodeId)>;
  struct NamedRule {
    const char* name;
    Rule rule;
  };

  Rewriter(Graph& graph, std::vector<NamedRule> rules) : g_(graph), rules_(std::move(rules)) {}

  std::vector<NodeId> run(const std::vector<NodeId>& roots, RewriteStats* stats) {
    std::vector<NodeId> current = roots;
    RewriteStats local;
    for (int pass = 0; pass < kMaxRewritePasses; ++pass) {
      ++local.passes;
      count_uses(current);
      std::unordered_map<NodeId, NodeId> mapped;
      for (NodeId id : g_.reachable(current)) {
        const NodeId to = rewrite_node(id, mapped);
        mapped[id] = to;
        // The replacement inherits the uses of the node it replaces, so that a shared node
        // that was rewritten stays shared (is not flattened into each parent) in this pass.
        if (to != id) uses_[to] += uses(id);
      }
      std::vector<NodeId> next;
      for (NodeId r : current) next.push_back(mapped.at(r));
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

  Graph& g() { return g_; }
  const Node& n(NodeId id) const { return g_[id]; }

  bool finite(NodeId id) {
    while (finite_.size() < g_.size()) {
      const NodeId k = static_cast<NodeId>(finite_.size());
      const Node& node = g_[k];
      bool ok;
      if (node.op == Op::constant) {
        ok = std::isfinite(node.value);
      } else if (node.op == Op::variable) {
        ok = true;
      } else if (node.op == Op::pow) {
        // x^k with k a non-negative whole number stays finite.
        const Node& e = g_[node[1]];
        ok = finite_[node[0]] && e.op == Op::constant && e.value >= 0 &&
             std::floor(e.value) == e.value;
      } else {
        ok = op_info(node.op).finite_preserving;
        for (int i = 0; i < node.arity; ++i) ok = ok && finite_[node[i]];
      }
      finite_.push_back(ok ? 1 : 0);
    }
    return finite_[id] != 0;
  }

  std::size_t uses(NodeId id) const {
    auto it = uses_.find(id);
    return it == uses_.end() ? 1 : it->second;
  }

  // ---- products ----
  bool flattenable_product(NodeId id) {
    const Op op = n(id).op;
    if (op != Op::mul && op != Op::div && op != Op::neg) return false;
    if (uses(id) <= 1) return true;
    double c = 1;
    std::vector<Factor> f;
    gather_product(id, 1.0, c, f, /*top=*/false, /*shallow=*/true);
    return f.size() <= kSmallShared;
  }

  // Collects coefficient and factors of `id` raised to `power` (±1 for quotients). At most
  // `budget` product nodes below the top are opened (counting nodes, not factors, so that a
  // long chain leaning left costs O(budget), not O(chain), per call).
  void gather_product(NodeId id, double power, double& coefficient, std::vector<Factor>& out,
                      bool top, bool shallow = false) {
    std::size_t budget = shallow ? kSmallShared : kMaxFlatten;
    gather_product_within(id, power, coefficient, out, top, shallow, budget);
  }

  void gather_product_within(NodeId id, double power, double& coefficient, std::vector<Factor>& out,
                             bool top, bool shallow, std::size_t& budget) {
    const Node& node = n(id);
    const bool is_product = node.op == Op::mul || node.op == Op::div || node.op == Op::neg;
    bool descend = top;
    if (!descend && is_product && budget > 0 && (shallow || flattenable_product(id))) {
      descend = true;
      --budget;
    }
    if (node.op == Op::constant) {
      coefficient *= std::pow(node.value, power);
    } else if (descend && node.op == Op::mul) {
      gather_product_within(node[0], power, coefficient, out, false, shallow, budget);
      gather_product_within(node[1], power, coefficient, out, false, shallow, budget);
    } else if (descend && node.op == Op::div) {
      gather_product_within(node[0], power, coefficient, out, false, shallow, budget);
      gather_product_within(node[1], -power, coefficient, out, false, shallow, budget);
    } else if (descend && node.op == Op::neg) {
      coefficient = -coefficient;
      gather_product_within(node[0], power, coefficient, out, false, shallow, budget);
    } else if (node.op == Op::pow && n(node[1]).op == Op::constant &&
               n(node[1]).shape.is_scalar()) {
      out.push_back({node[0], n(node[1]).value * power});
    } else {
      out.push_back({id, power});
    }
  }

  NodeId power_of(NodeId base, double exponent) {
    if (exponent == 1.0) return base;
    return g_.pow(base, g_.num(exponent));
  }

  // coefficient * Π factors, in base-id order, shaped like `shape`.
  NodeId build_product(double coefficient, std::vector<Factor> factors, Shape shape) {
    std::stable_sort(factors.begin(), factors.end(),
                     [](const Factor& a, const Factor& b) { return a.base < b.base; });
    NodeId chain = kNoNode;
    for (const Factor& f : factors) {
      const NodeId term = power_of(f.base, f.exponent);
      chain = chain == kNoNode ? term : g_.mul(chain, term);
    }
    if (chain == kNoNode) return g_.constant(coefficient, shape);
    if (coefficient != 1.0 || !(n(chain).shape == shape)) {
      const Shape coefficient_shape = n(chain).shape == shape ? Shape{} : shape;
      chain = g_.mul(g_.constant(coefficient, coefficient_shape), chain);
    }
    return chain;
  }

  // ---- sums ----
  bool flattenable_sum(NodeId id) {
    const Op op = n(id).op;
    if (op != Op::add && op != Op::sub) return false;
    return uses(id) <= 1 || n(id).shape.is_scalar();
  }

  // A term's numeric coefficient and the rest: 3*x → (3, x); x → (1, x); 5 → (5, none).
  Term split_term(NodeId id) {
    const Node& node = n(id);
    if (node.op == Op::constant) return {node.value, kNoNode};
    if (node.op == Op::mul) {
      if (g_.is_constant(node[0]) && n(node[0]).shape.is_scalar())
        return {n(node[0]).value, node[1]};
      if (g_.is_constant(node[1]) && n(node[1]).shape.is_scalar())
        return {n(node[1]).value, node[0]};
    }
    if (node.op == Op::neg) {
      Term t = split_term(node[0]);
      t.coefficient = -t.coefficient;
      return t;
    }
    return {1.0, id};
  }

  // Iterative (a 100k-term chain must not recurse 100k deep). Unshared sums are opened
  // whole: only the top of a cluster is normalized (see interior_), so every node is gathered
  // once a pass. Shared scalar sums are still copied in, at most kMaxFlatten of them.
  void gather_sum(NodeId id, double sign, std::vector<Term>& out, bool top) {
    std::vector<std::pair<NodeId, double>> stack{{id, sign}};
    std::size_t shared_opened = 0;
    bool first = top;
    while (!stack.empty()) {
      const auto [at, s] = stack.back();
      stack.pop_back();
      const Node& node = n(at);
      const bool is_sum = node.op == Op::add || node.op == Op::sub;
      bool descend = first;
      first = false;
      if (!descend && is_sum && flattenable_sum(at)) {
        if (uses(at) <= 1) {
          descend = true;
        } else if (shared_opened < kMaxFlatten) {
          descend = true;
          ++shared_opened;
        }
      }
      if (descend && is_sum) {
        stack.push_back({node[1], node.op == Op::sub ? -s : s});
        stack.push_back({node[0], s});
      } else {
        Term t = split_term(at);
        t.coefficient *= s;
        out.push_back(t);
      }
    }
  }

  NodeId build_sum(std::vector<Term> terms, double constant, Shape shape) {
    std::stable_sort(terms.begin(), terms.end(),
                     [](const Term& a, const Term& b) { return a.rest < b.rest; });
    NodeId chain = kNoNode;
    for (const Term& t : terms) {
      const NodeId term = t.coefficient == 1.0 ? t.rest : build_scaled(t.coefficient, t.rest);
      chain = chain == kNoNode ? term : g_.add(chain, term);
    }
    if (chain == kNoNode) return g_.constant(constant, shape);
    if (constant != 0.0 || !(n(chain).shape == shape)) {
      const Shape constant_shape = n(chain).shape == shape ? Shape{} : shape;
      chain = g_.add(chain, g_.constant(constant, constant_shape));
    }
    return chain;
  }

  // c * rest, merged into rest's own coefficient when rest is a product.
  NodeId build_scaled(double c, NodeId rest) {
    double coefficient = c;
    std::vector<Factor> factors;
    gather_product(rest, 1.0, coefficient, factors, true);
    return build_product(coefficient, factors, n(rest).shape);
  }

  // The product's factors (for common-factor search); multiplies its numeric coefficient
  // into `coefficient` (a term's rest can still carry one: 2*x in x - 2*x).
  std::vector<Factor> factors_of(NodeId rest, double& coefficient) {
    std::vector<Factor> f;
    gather_product(rest, 1.0, coefficient, f, true);
    return f;
  }

 private:
  void count_uses(const std::vector<NodeId>& roots) {
    uses_.clear();
    interior_.assign(g_.size(), 0);
    std::vector<char> outside(g_.size(), 0);
    const std::vector<NodeId> order = g_.reachable(roots);
    for (NodeId id : order) {
      const Node& node = g_[id];
      const bool sum = node.op == Op::add || node.op == Op::sub;
      for (int i = 0; i < node.arity; ++i) {
        ++uses_[node[i]];
        if (!sum) outside[node[i]] = 1;
      }
    }
    for (NodeId r : roots) {
      ++uses_[r];
      outside[r] = 1;
    }
    for (NodeId id : order) {
      const Op op = g_[id].op;
      if ((op == Op::add || op == Op::sub) && !outside[id] && uses(id) <= 1) interior_[id] = 1;
    }
  }

  NodeId rebuild(NodeId id, const std::unordered_map<NodeId, NodeId>& mapped) {
    const Node& node = g_[id];
    if (node.arity == 0) return id;
    const NodeId a = mapped.at(node[0]);
    if (node.arity == 1) {
      if (a == node[0]) return id;
      const Op op = node.op;
      const Shape attr = node.attr;
      const Span span = node.span;
      return op_info(op).kind == OpKind::tensor && (op == Op::onehot || op == Op::sum_to)
                 ? g_.apply_with_attr(op, a, attr, span)
                 : g_.apply(op, a, span);
    }
    const NodeId b = mapped.at(node[1]);
    if (a == node[0] && b == node[1]) return id;
    const Op op = node.op;
    const Span span = node.span;
    return g_.apply(op, a, b, span);
  }

  NodeId rewrite_node(NodeId id, const std::unordered_map<NodeId, NodeId>& mapped) {
    NodeId current = rebuild(id, mapped);
    // An unshared sum whose only user is a sum: that parent gathers it whole, so normalizing
    // it here too would redo the same work at every level of a chain (O(n^2) for n terms).
    if (id < interior_.size() && interior_[id]) return current;
    // Apply the first matching rule until none matches (capped against cycles).
    for (int round = 0; round < 8; ++round) {
      bool changed = false;
      for (const NamedRule& r : rules_) {
        auto replaced = r.rule(*this, current);
        if (replaced && *replaced != current) {
          current = *replaced;
          changed = true;
          break;
        }
      }
      if (!changed) break;
    }
    return current;
  }

  Graph& g_;
  std::vector<NamedRule> rules_;
  std::unordered_map<NodeId, std::size_t> uses_;
  std::vector<char> interior_;  // unshared sums used only by a sum (not normalized themselves)
  std::vector<char> finite_;
};

using Opt = std::optional<NodeId>;
constexpr Opt kNo = std::nullopt;

bool all_constant_children(const Graph& g, const Node& node) {
  for (int i = 0; i < node.arity; ++i)
    if (!g.is_constant(node[i])) return false;
  return node.arity > 0;
}

// ---- the simplifier's rules ----

// f(c1, c2) → the number, for elementwise f over constants (shape kept).
Opt fold_constants(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  if (!all_constant_children(r.g(), node)) return kNo;
  const ElementwiseFn& fn = elementwise_fn(node.op);
  if (fn.unary) return r.g().constant(fn.unary(r.n(node[0]).value), node.shape);
  if (fn.binary) {
    const double v = fn.binary(r.n(node[0]).value, r.n(node[1]).value);
    // Keep constants that would not print back exactly as a short number (e.g. 2^0.5).
    return r.g().constant(v, node.shape);
  }
  const double v = r.n(node[0]).value;
  const double size = static_cast<double>(r.n(node[0]).shape.size());
  switch (node.op) {
    case Op::sum:
      return r.g().constant(v * size);  // Σ of `size` copies of v
    case Op::mean:
      return r.g().constant(v);  // mean of copies of v
    case Op::transpose:
      return r.g().constant(v, node.shape);
    case Op::sum_to: {  // each output sums size_in/size_out v's
      const double ratio = size / static_cast<double>(node.shape.size());
      return r.g().constant(v * ratio, node.shape);
    }
    default:
      return kNo;
  }
}

// a - b → a + (-1)*b;  -a → (-1)*a;  a/b → a*b^-1  (canonical sums and products)
Opt canonical_difference_negation_quotient(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  Graph& g = r.g();
  if (node.op == Op::sub) {
    const NodeId a = node[0], b = node[1];
    return g.add(a, g.mul(g.num(-1), b));
  }
  if (node.op == Op::neg) return g.mul(g.num(-1), node[0]);
  if (node.op == Op::div) {
    const NodeId a = node[0], b = node[1];
    return g.mul(a, g.pow(b, g.num(-1)));
  }
  return kNo;
}

// Products: c1*x*c2*x^2 → (c1*c2)*x^3; x^0 → 1; 0*x → 0 when x is provably finite;
// c*(c1*a + c2*b) → (c*c1)*a + (c*c2)*b when every term already carries a number.
Opt normalize_product(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  if (node.op != Op::mul) return kNo;
  const Shape shape = node.shape;
  double coefficient = 1.0;
  std::vector<Factor> gathered;
  r.gather_product(id, 1.0, coefficient, gathered, true);
  // Merge like bases: x^a * x^b = x^(a+b).
  std::vector<Factor> factors;
  for (const Factor& f : gathered) {
    auto same = std::find_if(factors.begin(), factors.end(),
                             [&](const Factor& e) { return e.base == f.base; });
    if (same != factors.end())
      same->exponent += f.exponent;
    else
      factors.push_back(f);
  }
  // x^0 = 1 (the convention 0^0 = 1).
  std::erase_if(factors, [](const Factor& f) { return f.exponent == 0.0; });
  if (coefficient == 0.0) {
    bool finite = true;
    for (const Factor& f : factors) finite = finite && r.finite(f.base) && f.exponent >= 0;
    if (finite) return r.g().constant(0.0, shape);
  }
  if (coefficient != 1.0) {
    // Distribute a number into the one sum factor whose terms all carry numbers; -1 only
    // into a sum whose terms are all negative: -(-a - 2*b) → a + 2*b.
    int sums = 0;
    std::size_t at = 0;
    for (std::size_t i = 0; i < factors.size(); ++i)
      if (r.n(factors[i].base).op == Op::add && factors[i].exponent == 1.0) {
        ++sums;
        at = i;
      }
    if (sums == 1) {
      std::vector<Term> terms;
      r.gather_sum(factors[at].base, 1.0, terms, true);
      const bool all_numbered = std::all_of(terms.begin(), terms.end(), [&](const Term& t) {
        if (coefficient == -1.0) return t.coefficient < 0;
        return t.rest == kNoNode || (t.coefficient != 1.0 && t.coefficient != -1.0);
      });
      if (all_numbered) {
        double constant = 0.0;
        std::vector<Term> scaled;
        for (Term t : terms) {
          if (t.rest == kNoNode)
            constant += coefficient * t.coefficient;
          else
            scaled.push_back({coefficient * t.coefficient, t.rest});
        }
        factors[at].base = r.build_sum(scaled, constant, r.n(factors[at].base).shape);
        coefficient = 1.0;
      }
    }
  }
  return r.build_product(coefficient, factors, shape);
}

// Sums: 3*x + 2*x → 5*x; x - x → 0; x + 0 → x; c1 + c2 → c;
// A*t1 + A*t2 → A*(t1 + t2) when every term shares the factor A (never the reverse).
Opt normalize_sum(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  if (node.op != Op::add) return kNo;
  const Shape shape = node.shape;
  std::vector<Term> gathered;
  r.gather_sum(id, 1.0, gathered, true);
  double constant = 0.0;
  std::vector<Term> terms;
  std::unordered_map<NodeId, std::size_t> index_of;  // like terms by rest: O(1), not O(terms)
  for (const Term& t : gathered) {
    if (t.rest == kNoNode) {
      constant += t.coefficient;
      continue;
    }
    const auto [it, fresh] = index_of.emplace(t.rest, terms.size());
    if (fresh)
      terms.push_back(t);
    else
      terms[it->second].coefficient += t.coefficient;
  }
  std::erase_if(terms, [](const Term& t) { return t.coefficient == 0.0; });

  if (terms.size() >= 2 && constant == 0.0) {
    // Common factors of every term: identical (base, exponent) pairs.
    std::vector<std::vector<Factor>> factor_lists;
    std::vector<double> coefficients;
    for (const Term& t : terms) {
      coefficients.push_back(t.coefficient);
      factor_lists.push_back(r.factors_of(t.rest, coefficients.back()));
    }
    std::vector<Factor> common;
    for (const Factor& f : factor_lists[0]) {
      const bool everywhere = std::all_of(
          factor_lists.begin() + 1, factor_lists.end(), [&](const std::vector<Factor>& list) {
            return std::any_of(list.begin(), list.end(), [&](const Factor& e) {
              return e.base == f.base && e.exponent == f.exponent;
            });
          });
      if (everywhere) common.push_back(f);
    }
    if (!common.empty()) {
      std::vector<Term> reduced;
      for (std::size_t i = 0; i < terms.size(); ++i) {
        std::vector<Factor> rest = factor_lists[i];
        for (const Factor& c : common) {
          auto it = std::find_if(rest.begin(), rest.end(), [&](const Factor& e) {
            return e.base == c.base && e.exponent == c.exponent;
          });
          rest.erase(it);
        }
        const NodeId rest_node = r.build_product(1.0, rest, r.n(terms[i].rest).shape);
        reduced.push_back({coefficients[i], rest_node});
      }
      Shape inner_shape = r.n(reduced[0].rest).shape;
      for (const Term& t : reduced)
        inner_shape = broadcast_shapes(inner_shape, r.n(t.rest).shape).value_or(inner_shape);
      const NodeId inner = r.build_sum(reduced, 0.0, inner_shape);
      std::vector<Factor> outer = common;
      outer.push_back({inner, 1.0});
      const NodeId result = r.build_product(1.0, outer, shape);
      if (r.n(result).shape == shape) return result;
    }
  }
  return r.build_sum(terms, constant, shape);
}

// x^1 → x;  x^0 → 1;  1^x → 1;  (x^a)^k → x^(a*k) for whole k
Opt simplify_power(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  if (node.op != Op::pow) return kNo;
  Graph& g = r.g();
  const NodeId base = node[0], exponent = node[1];
  const Shape shape = node.shape;
  if (g.is_constant(exponent, 1.0) && g[base].shape == shape) return base;
  if (g.is_constant(exponent, 0.0)) return g.constant(1.0, shape);
  if (g.is_constant(base, 1.0)) return g.constant(1.0, shape);
  if (g[base].op == Op::pow && g.is_constant(g[base][1]) && g.is_constant(exponent)) {
    const double k = g[exponent].value;
    if (std::floor(k) == k && g[exponent].shape.is_scalar() && g[g[base][1]].shape.is_scalar())
      return g.pow(g[base][0], g.num(g[g[base][1]].value * k));
  }
  return kNo;
}

// Π base^exponent over `factors`, in their order (kNoNode for none).
NodeId product_chain(Graph& g, const std::vector<Factor>& factors) {
  NodeId chain = kNoNode;
  for (const Factor& f : factors) {
    const NodeId term = f.exponent == 1.0 ? f.base : g.pow(f.base, g.num(f.exponent));
    chain = chain == kNoNode ? term : g.mul(chain, term);
  }
  return chain;
}

// sum and mean are linear: sum(c*v) → c*sum(v) and mean(c*v) → c*mean(v) for factors c of one
// value per sample (numbers, scalar parameters, per-sample scalars); sum(onehot(i, k)) → 1.
// The softmax cross-entropy's gradient meets sum(-onehot(y, k)/batch_size), which becomes
// -1/batch_size, and the gradient reads batch_mean(outer(softmax(z) - onehot(y, k), x)).
Opt scalar_factor_out_of_sum(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Op node_op = g[id].op;  // a copy: building nodes can move the graph's node storage
  if (node_op != Op::sum && node_op != Op::mean) return kNo;
  const NodeId inner = g[id][0];
  if (node_op == Op::sum && g[inner].op == Op::onehot) return g.constant(1.0, Shape::scalar());
  const Op op = g[inner].op;
  if (op != Op::mul && op != Op::div && op != Op::neg) return kNo;
  double coefficient = 1.0;
  std::vector<Factor> factors, scalars, rest;
  r.gather_product(inner, 1.0, coefficient, factors, true);
  for (const Factor& f : factors) (g[f.base].shape.is_scalar() ? scalars : rest).push_back(f);
  if ((scalars.empty() && coefficient == 1.0) || rest.empty()) return kNo;
  const NodeId rest_chain = product_chain(g, rest);
  if (!(g[rest_chain].shape == g[inner].shape)) return kNo;
  NodeId out = g.apply(node_op, rest_chain);
  if (!scalars.empty()) out = g.mul(product_chain(g, scalars), out);
  if (coefficient != 1.0) out = g.mul(g.num(coefficient), out);
  return out;
}

// A factor the same for every sample leaves a batch total, as a constant leaves a sum:
// batch_sum(c*v) → c*batch_sum(v) for c uniform (parameters, numbers; likewise batch_mean),
// and batch_sum(v)/batch_size → batch_mean(v). A batch_mean's gradient reaches a parameter as
// batch_sum(g*x/batch_size); this turns it into batch_mean(g*x), which reads as the textbook
// formula and costs one product per sample fewer.
Opt uniform_factor_out_of_total(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  // Copies, not references: building nodes below can move the graph's node storage.
  const Op node_op = g[id].op;
  const Shape shape = g[id].shape;
  const bool total = node_op == Op::batch_sum || node_op == Op::batch_mean;
  // A product can only hold batch_size^-1 in a graph that has the variable (not `derive EXPR`).
  if (!total && (node_op != Op::mul || g.find_variable("batch_size") == kNoNode)) return kNo;
  // The rewrite must keep the node's shape: gather_product folds a filled constant (the ones
  // that broadcasting's derivative leaves) into the scalar coefficient, and what remains can
  // be smaller than the node.
  const auto same_shape = [&](NodeId out) -> Opt {
    if (!(g[out].shape == shape)) return kNo;
    return out;
  };
  const NodeId inner = total ? g[id][0] : id;
  if (total && g[inner].op == Op::outer && g[inner].varying) {
    // batch_sum(outer(c*u, v)) → c*batch_sum(outer(u, v)) for a uniform scalar c.
    double coefficient = 1.0;
    std::vector<Factor> pulled;
    NodeId operands[2] = {g[inner][0], g[inner][1]};
    for (NodeId& operand : operands) {
      const Op op = g[operand].op;
      if (op != Op::mul && op != Op::div && op != Op::neg) continue;
      double c = 1.0;
      std::vector<Factor> factors, kept;
      r.gather_product(operand, 1.0, c, factors, true);
      const std::size_t before = pulled.size();
      for (const Factor& f : factors)
        (!g[f.base].varying && g[f.base].shape.is_scalar() ? pulled : kept).push_back(f);
      const NodeId rest = product_chain(g, kept);
      if (rest == kNoNode || !(g[rest].shape == g[operand].shape)) {
        pulled.resize(before);
        continue;
      }
      coefficient *= c;
      operand = rest;
    }
    if (pulled.empty() && coefficient == 1.0) return kNo;
    NodeId out = g.apply(node_op, g.apply(Op::outer, operands[0], operands[1]));
    if (!pulled.empty()) out = g.mul(product_chain(g, pulled), out);
    if (coefficient != 1.0) out = g.mul(g.num(coefficient), out);
    return same_shape(out);
  }
  const Op op = g[inner].op;
  if (op != Op::mul && op != Op::div && op != Op::neg) return kNo;
  if (total && !g[inner].varying) return kNo;
  double coefficient = 1.0;
  std::vector<Factor> factors;
  r.gather_product(inner, 1.0, coefficient, factors, true);
  if (!total) {  // batch_sum(v) * batch_size^-1 → batch_mean(v)
    const auto by_size = std::find_if(factors.begin(), factors.end(), [&](const Factor& f) {
      return f.exponent == -1.0 && g[f.base].op == Op::variable &&
             g[f.base].var_kind == VarKind::batch_size;
    });
    const auto sum = std::find_if(factors.begin(), factors.end(), [&](const Factor& f) {
      return f.exponent == 1.0 && g[f.base].op == Op::batch_sum;
    });
    if (by_size == factors.end() || sum == factors.end()) return kNo;
    const NodeId summed = g[sum->base][0];
    sum->base = g.apply(Op::batch_mean, summed);
    factors.erase(by_size);
    return same_shape(r.build_product(coefficient, factors, shape));
  }
  std::vector<Factor> uniform, varying;
  for (const Factor& f : factors) (g[f.base].varying ? varying : uniform).push_back(f);
  if ((uniform.empty() && coefficient == 1.0) || varying.empty()) return kNo;
  uniform.push_back({g.apply(node_op, product_chain(g, varying)), 1.0});
  // build_product restores the node's shape (a filled constant) where the factors fall short.
  return same_shape(r.build_product(coefficient, uniform, shape));
}

// log(exp(x)) → x;  transpose(transpose(x)) → x;  sum_to(x, shape of x) → x;
// sum_to(x, scalar) → sum(x) (what broadcasting a scalar over x sends back);
// min(x, x) → x;  max(x, x) → x;  batch_mean(u) → u and batch_sum(u) → u*batch_size for u
// the same for every sample.
Opt simplify_identities(Rewriter& r, NodeId id) {
  const Node& node = r.n(id);
  Graph& g = r.g();
  if (node.op == Op::log && g[node[0]].op == Op::exp) return g[node[0]][0];
  if (node.op == Op::transpose && g[node[0]].op == Op::transpose) return g[node[0]][0];
  if (node.op == Op::sum_to && g[node[0]].shape == node.shape) return node[0];
  if (node.op == Op::sum_to && node.shape.is_scalar()) return g.apply(Op::sum, node[0]);
  if ((node.op == Op::min || node.op == Op::max) && node[0] == node[1]) return node[0];
  if (node.op == Op::batch_mean && !g[node[0]].varying) return node[0];
  if (node.op == Op::batch_sum && !g[node[0]].varying) {
    const NodeId b = g.find_variable("batch_size");
    if (b != kNoNode) return g.mul(node[0], b);
  }
  return kNo;
}

std::vector<Rewriter::NamedRule> simplifier_rules() {
  return {
      {"fold constants", fold_constants},
      {"canonical difference, negation, quotient", canonical_difference_negation_quotient},
      {"power identities", simplify_power},
      {"identities", simplify_identities},
      {"uniform factor out of a batch total", uniform_factor_out_of_total},
      {"scalar factor out of sum and mean", scalar_factor_out_of_sum},
      {"normalize product", normalize_product},
      {"normalize sum", normalize_sum},
  };
}

// ---- the stabilizing rules (canonical forms: see simplifier_rules) ----

// If `id` is c + rest (a two-term sum with a constant), sets c and rest.
bool split_constant_plus(const Graph& g, NodeId id, double& c, NodeId& rest) {
  const Node& node = g[id];
  if (node.op != Op::add) return false;
  for (int i = 0; i < 2; ++i)
    if (g.is_constant(node[i]) && g[node[i]].shape.is_scalar()) {
      c = g[node[i]].value;
      rest = node[1 - i];
      return true;
    }
  return false;
}

// If `id` is -1*x (canonical negation), sets x.
bool split_negation(const Graph& g, NodeId id, NodeId& x) {
  const Node& node = g[id];
  if (node.op != Op::mul) return false;
  for (int i = 0; i < 2; ++i)
    if (g.is_constant(node[i], -1.0) && g[node[i]].shape.is_scalar()) {
      x = node[1 - i];
      return true;
    }
  return false;
}

// log(sigmoid(z)) → -softplus(-z): log(1/(1+e^-z)) = -log(1+e^-z), finite for every z.
Opt stable_log_sigmoid(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Node& node = g[id];
  if (node.op != Op::log || g[node[0]].op != Op::sigmoid) return kNo;
  const NodeId z = g[node[0]][0];
  return g.neg(g.apply(Op::softplus, g.neg(z)));
}

// 1 - sigmoid(z) → sigmoid(-z): exact, and no cancellation when sigmoid(z) ≈ 1.
Opt stable_sigmoid_complement(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  double c = 0;
  NodeId rest = kNoNode, s = kNoNode;
  if (!split_constant_plus(g, id, c, rest) || c != 1.0 || !split_negation(g, rest, s)) return kNo;
  if (g[s].op != Op::sigmoid) return kNo;
  const Shape shape = g[id].shape;
  const NodeId result = g.apply(Op::sigmoid, g.neg(g[s][0]));
  return g[result].shape == shape ? std::optional<NodeId>(result) : kNo;
}

// log(1 + x) → log1p(x): accurate when |x| is tiny.
Opt stable_log1p(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Node& node = g[id];
  double c = 0;
  NodeId rest = kNoNode;
  if (node.op != Op::log || !split_constant_plus(g, node[0], c, rest) || c != 1.0) return kNo;
  if (!(g[rest].shape == g[node[0]].shape)) return kNo;
  return g.apply(Op::log1p, rest);
}

// log(sum(exp(v))) → logsumexp(v): max(v) + log Σ e^(v - max v) never overflows.
Opt stable_logsumexp(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Node& node = g[id];
  if (node.op != Op::log || g[node[0]].op != Op::sum || g[g[node[0]][0]].op != Op::exp) return kNo;
  return g.apply(Op::logsumexp, g[g[node[0]][0]][0]);
}

// log(softmax(v)) → v - logsumexp(v): log-softmax without log(0).
Opt stable_log_softmax(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Node& node = g[id];
  if (node.op != Op::log || g[node[0]].op != Op::softmax) return kNo;
  const NodeId v = g[node[0]][0];
  return g.sub(v, g.apply(Op::logsumexp, v));
}

// exp(x) - 1 → expm1(x): accurate when |x| is tiny.
Opt stable_expm1(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  double c = 0;
  NodeId rest = kNoNode;
  if (!split_constant_plus(g, id, c, rest) || c != -1.0 || g[rest].op != Op::exp) return kNo;
  return g.apply(Op::expm1, g[rest][0]);
}

// If `id` is A*softplus(arg) (either order), sets A and the softplus node.
bool split_scaled_softplus(const Graph& g, NodeId id, NodeId& scale, NodeId& softplus) {
  const Node& node = g[id];
  if (node.op != Op::mul) return false;
  for (int i = 0; i < 2; ++i)
    if (g[node[i]].op == Op::softplus) {
      softplus = node[i];
      scale = node[1 - i];
      return true;
    }
  return false;
}

// True when b is 1 - a in canonical form (1 + -1*a).
bool is_complement(const Graph& g, NodeId b, NodeId a) {
  double c = 0;
  NodeId rest = kNoNode, negated = kNoNode;
  return split_constant_plus(g, b, c, rest) && c == 1.0 && split_negation(g, rest, negated) &&
         negated == a;
}

// The binary cross-entropy of logits, as the textbook form becomes after the rules above:
//   a*softplus(-z) + (1 - a)*softplus(z) → softplus(z) - a*z
// (softplus(-z) = softplus(z) - z). One softplus instead of two, and its derivative is
// sigmoid(z) - a instead of a sum of two sigmoids.
Opt stable_cross_entropy_with_logits(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Node& node = g[id];
  if (node.op != Op::add) return kNo;
  for (int i = 0; i < 2; ++i) {
    NodeId a = kNoNode, s_neg = kNoNode, b = kNoNode, s_pos = kNoNode, z = kNoNode;
    if (!split_scaled_softplus(g, node[i], a, s_neg) ||
        !split_scaled_softplus(g, node[1 - i], b, s_pos) || !split_negation(g, g[s_neg][0], z) ||
        g[s_pos][0] != z)
      continue;
    if (!is_complement(g, b, a) && !is_complement(g, a, b)) continue;
    const Shape shape = node.shape;
    const NodeId result = g.sub(s_pos, g.mul(a, z));
    if (g[result].shape == shape) return result;
  }
  return kNo;
}

std::vector<Rewriter::NamedRule> stabilizer_rules() {
  return {
      {"log(sigmoid(z)) -> -softplus(-z)", stable_log_sigmoid},
      {"1 - sigmoid(z) -> sigmoid(-z)", stable_sigmoid_complement},
      {"log(1 + x) -> log1p(x)", stable_log1p},
      {"log(sum(exp(v))) -> logsumexp(v)", stable_logsumexp},
      {"log(softmax(v)) -> v - logsumexp(v)", stable_log_softmax},
      {"exp(x) - 1 -> expm1(x)", stable_expm1},
      {"a*softplus(-z) + (1-a)*softplus(z) -> softplus(z) - a*z", stable_cross_entropy_with_logits},
  };
}

}  // namespace

std::vector<NodeId> simplify(Graph& graph, const std::vector<NodeId>& roots, RewriteStats* stats) {
  return Rewriter(graph, simplifier_rules()).run(roots, stats);
}

std::vector<NodeId> stabilize(Graph& graph, const std::vector<NodeId>& roots) {
  // Two rounds: some patterns (the cross-entropy of logits) only take their canonical
  // shape after the first round's rewrites have been simplified.
  std::vector<NodeId> current = simplify(graph, roots);
  for (int round = 0; round < 2; ++round) {
    current = Rewriter(graph, stabilizer_rules()).run(current, nullptr);
    current = simplify(graph, current);
  }
  return current;
}

bool provably_finite(const Graph& graph, NodeId id) {
  // A throwaway rewriter owns the memo; the graph is not modified.
  Rewriter r(const_cast<Graph&>(graph), {});
  return r.finite(id);
}

}  // namespace descent
