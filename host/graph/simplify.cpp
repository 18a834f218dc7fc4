// The simplifier's rule list (see simplify.hpp for the canonical form it reaches), each rule with
// its algebra in a comment. A rule reads one node and returns its replacement, copying what it
// reads from a node before it builds nodes. This file does not decide where or how often rules
// run, nor gather or rebuild products and sums itself (the engine, rewriter.hpp, does), and has
// no stabilizing rule (stabilize.cpp).
#include "graph/simplify.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <optional>
#include <vector>

#include "graph/elementwise.hpp"
#include "graph/window.hpp"

namespace descent {

namespace {

using Opt = std::optional<NodeId>;
constexpr Opt kNo = std::nullopt;
// Up to this many distinct terms, like terms are found by a scan (no map to build).
constexpr std::size_t kFewTerms = 16;

// Where each distinct rest stands among a sum's terms, beyond kFewTerms of them: open
// addressing over the rests' ids in one array sized for the sum, where a node-based map would
// allocate an entry a term (a long sum is normalized again whenever one of its terms changes).
class TermIndex {
 public:
  explicit TermIndex(std::size_t terms) : slots_(std::bit_ceil(2 * terms + 2)) {}
  // The position entered for `rest`, or `next`, which is entered for it.
  std::size_t find_or_add(NodeId rest, std::size_t next) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = static_cast<std::size_t>((rest * 0x9e3779b97f4a7c15ULL) >> 32) & mask;
    for (; slots_[i].rest != kNoNode; i = (i + 1) & mask)
      if (slots_[i].rest == rest) return slots_[i].at;
    slots_[i] = {rest, next};
    return next;
  }

 private:
  struct Slot {
    NodeId rest = kNoNode;  // empty
    std::size_t at = 0;
  };
  std::vector<Slot> slots_;
};

bool all_constant_children(const Graph& g, NodeId id) {
  const NodeHead head = g.head(id);
  for (int i = 0; i < head.arity; ++i)
    if (!g.is_constant(head.child[i])) return false;
  return head.arity > 0;
}

// f(c1, c2) → the number, for elementwise f over constants (shape kept).
Opt fold_constants(Rewriter& r, NodeId id) {
  if (!all_constant_children(r.g(), id)) return kNo;
  const Node& node = r.n(id);
  const Op op = node.op;
  const Shape shape = node.shape;
  const ElementwiseFn& fn = elementwise_fn(op);
  if (fn.unary) return r.g().constant(fn.unary(r.g().value(node[0])), shape);
  if (fn.binary) {
    const double v = fn.binary(r.g().value(node[0]), r.g().value(node[1]));
    // Keep constants that would not print back exactly as a short number (e.g. 2^0.5).
    return r.g().constant(v, shape);
  }
  const double v = r.g().value(node[0]);
  const double size = static_cast<double>(r.n(node[0]).shape.size());
  switch (op) {
    case Op::sum:
      return r.g().constant(v * size);  // Σ of `size` copies of v
    case Op::mean:
      return r.g().constant(v);  // mean of copies of v
    case Op::transpose:
      return r.g().constant(v, shape);
    case Op::sum_to: {  // each output sums size_in/size_out v's
      const double ratio = size / static_cast<double>(shape.size());
      return r.g().constant(v * ratio, shape);
    }
    case Op::slice:  // a window of copies of v
      return r.g().constant(v, shape);
    case Op::pad:  // zeros around zeros
      if (v == 0.0) return r.g().constant(0.0, shape);
      return kNo;
    default:
      return kNo;
  }
}

// a - b → a + (-1)*b;  -a → (-1)*a;  a/b → a*b^-1  (canonical sums and products)
Opt canonical_difference_negation_quotient(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const NodeHead node = g.head(id);  // a copy, read before any node is built
  const Op op = node.op;
  const NodeId a = node.child[0], b = node.child[1];
  if (op == Op::sub) return g.add(a, g.mul(g.num(-1), b));
  if (op == Op::neg) return g.mul(g.num(-1), a);
  if (op == Op::div) return g.mul(a, g.pow(b, g.num(-1)));
  return kNo;
}

// Products: c1*x*c2*x^2 → (c1*c2)*x^3; x^0 → 1; 0*x → 0 when x is provably finite;
// c*(c1*a + c2*b) → (c*c1)*a + (c*c2)*b when every term already carries a number.
Opt normalize_product(Rewriter& r, NodeId id) {
  if (r.op(id) != Op::mul) return kNo;
  const Shape shape = r.shape_of(id);
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
      if (r.op(factors[i].base) == Op::add && factors[i].exponent == 1.0) {
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
        factors[at].base = r.build_sum(std::move(scaled), constant, r.shape_of(factors[at].base));
        coefficient = 1.0;
      }
    }
  }
  return r.build_product(coefficient, std::move(factors), shape, id);
}

// Sums: 3*x + 2*x → 5*x; x - x → 0; x + 0 → x; c1 + c2 → c;
// A*t1 + A*t2 → A*(t1 + t2) when every term shares the factor A (never the reverse).
Opt normalize_sum(Rewriter& r, NodeId id) {
  if (r.op(id) != Op::add) return kNo;
  const Shape shape = r.shape_of(id);
  std::vector<Term> gathered;
  r.gather_sum(id, 1.0, gathered, true);
  double constant = 0.0;
  std::vector<Term> terms;
  // Like terms by rest, in order of first appearance, their coefficients added in order: by
  // a scan while there are few, by a TermIndex beyond (O(terms), not O(terms^2)).
  std::optional<TermIndex> index_of;
  for (const Term& t : gathered) {
    if (t.rest == kNoNode) {
      constant += t.coefficient;
      continue;
    }
    std::size_t at = terms.size();
    if (terms.size() < kFewTerms) {
      for (std::size_t i = 0; i < terms.size(); ++i)
        if (terms[i].rest == t.rest) at = i;
    } else {
      if (!index_of) {  // from now on, by the index
        index_of.emplace(gathered.size());
        for (std::size_t i = 0; i < terms.size(); ++i) index_of->find_or_add(terms[i].rest, i);
      }
      at = index_of->find_or_add(t.rest, terms.size());
    }
    if (at == terms.size())
      terms.push_back(t);
    else
      terms[at].coefficient += t.coefficient;
  }
  std::erase_if(terms, [](const Term& t) { return t.coefficient == 0.0; });

  if (terms.size() >= 2 && constant == 0.0) {
    // Common factors of every term: the first term's (base, exponent) pairs that every other
    // term has too. A term's factors are only gathered while some candidate is left.
    std::vector<std::vector<Factor>> factor_lists;
    std::vector<double> coefficients;
    std::vector<Factor> common;
    for (const Term& t : terms) {
      coefficients.push_back(t.coefficient);
      factor_lists.push_back(r.factors_of(t.rest, coefficients.back()));
      const std::vector<Factor>& list = factor_lists.back();
      if (factor_lists.size() == 1) {
        common = list;
      } else {
        std::erase_if(common, [&](const Factor& f) {
          return std::none_of(list.begin(), list.end(), [&](const Factor& e) {
            return e.base == f.base && e.exponent == f.exponent;
          });
        });
      }
      if (common.empty()) break;
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
        const NodeId rest_node = r.build_product(1.0, rest, r.shape_of(terms[i].rest));
        reduced.push_back({coefficients[i], rest_node});
      }
      Shape inner_shape = r.n(reduced[0].rest).shape;
      for (const Term& t : reduced)
        inner_shape = broadcast_shapes(inner_shape, r.n(t.rest).shape).value_or(inner_shape);
      const NodeId inner = r.build_sum(reduced, 0.0, inner_shape);
      std::vector<Factor> outer = common;
      outer.push_back({inner, 1.0});
      const NodeId result = r.build_product(1.0, outer, shape);
      if (r.shaped_like(result, shape)) return result;
    }
  }
  return r.build_sum(std::move(terms), constant, shape);
}

// x^1 → x;  x^0 → 1;  1^x → 1;  (x^a)^k → x^(a*k) for whole k
Opt simplify_power(Rewriter& r, NodeId id) {
  if (r.op(id) != Op::pow) return kNo;
  Graph& g = r.g();
  const NodeId base = g.head(id).child[0], exponent = g.head(id).child[1];
  const Shape shape = r.shape_of(id);
  if (g.is_constant(exponent, 1.0) && r.shaped_like(base, shape)) return base;
  if (g.is_constant(exponent, 0.0)) return g.constant(1.0, shape);
  if (g.is_constant(base, 1.0)) return g.constant(1.0, shape);
  const NodeHead inner = g.head(base);
  if (inner.op == Op::pow && g.is_constant(inner.child[1]) && g.is_constant(exponent)) {
    const double k = g.value(exponent);
    if (std::floor(k) == k && g.head(exponent).rank == 0 && g.head(inner.child[1]).rank == 0)
      return g.pow(inner.child[0], g.num(g.value(inner.child[1]) * k));
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

// A product split for a linear op to move its scalar factors out: the coefficient, the
// factors of one value per sample, and the product of the rest (which keeps the product's
// shape). Nothing when there is nothing to move or the rest would change the shape.
struct ScalarSplit {
  double coefficient = 1.0;
  std::vector<Factor> scalars;
  NodeId rest = kNoNode;
};
std::optional<ScalarSplit> split_scalar_factors(Rewriter& r, NodeId product) {
  Graph& g = r.g();
  const Op op = r.op(product);
  if (op != Op::mul && op != Op::div && op != Op::neg) return std::nullopt;
  ScalarSplit split;
  std::vector<Factor> factors, rest;
  r.gather_product(product, 1.0, split.coefficient, factors, true);
  for (const Factor& f : factors) (g[f.base].shape.is_scalar() ? split.scalars : rest).push_back(f);
  if ((split.scalars.empty() && split.coefficient == 1.0) || rest.empty()) return std::nullopt;
  split.rest = product_chain(g, rest);
  if (!(g[split.rest].shape == g[product].shape)) return std::nullopt;
  return split;
}

// sum and mean are linear: sum(c*v) → c*sum(v) and mean(c*v) → c*mean(v) for factors c of one
// value per sample (numbers, scalar parameters, per-sample scalars); sum(onehot(i, k)) → 1.
// The softmax cross-entropy's gradient meets sum(-onehot(y, k)/batch_size), which becomes
// -1/batch_size, and the gradient reads batch_mean(outer(softmax(z) - onehot(y, k), x)).
Opt scalar_factor_out_of_sum(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Op node_op = r.op(id);
  if (node_op != Op::sum && node_op != Op::mean) return kNo;
  const NodeId inner = g[id][0];
  if (node_op == Op::sum && g[inner].op == Op::onehot) return g.constant(1.0, Shape::scalar());
  const std::optional<ScalarSplit> split = split_scalar_factors(r, inner);
  if (!split) return kNo;
  NodeId out = g.apply(node_op, split->rest);
  if (!split->scalars.empty()) out = g.mul(product_chain(g, split->scalars), out);
  if (split->coefficient != 1.0) out = g.mul(g.num(split->coefficient), out);
  return out;
}

// A factor the same for every sample leaves a batch total, as a constant leaves a sum:
// batch_sum(c*v) → c*batch_sum(v) for c uniform (parameters, numbers; likewise batch_mean),
// and batch_sum(v)/batch_size → batch_mean(v). A batch_mean's gradient reaches a parameter as
// batch_sum(g*x/batch_size); this turns it into batch_mean(g*x), which reads as the textbook
// formula and costs one product per sample fewer.
Opt uniform_factor_out_of_total(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Op node_op = r.op(id);
  const bool total = node_op == Op::batch_sum || node_op == Op::batch_mean;
  // A product can only hold batch_size^-1 in a graph that has the variable (not `derive EXPR`).
  if (!total && (node_op != Op::mul || r.batch_size() == kNoNode)) return kNo;
  const Shape shape = g[id].shape;
  // The rewrite must keep the node's shape: gather_product folds a filled constant (the ones
  // that broadcasting's derivative leaves) into the scalar coefficient, and what remains can
  // be smaller than the node.
  const auto same_shape = [&](NodeId out) -> Opt {
    if (!r.shaped_like(out, shape)) return kNo;
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
    return same_shape(r.build_product(coefficient, std::move(factors), shape));
  }
  std::vector<Factor> uniform, varying;
  for (const Factor& f : factors) (g[f.base].varying ? varying : uniform).push_back(f);
  if ((uniform.empty() && coefficient == 1.0) || varying.empty()) return kNo;
  uniform.push_back({g.apply(node_op, product_chain(g, varying)), 1.0});
  // build_product restores the node's shape (a filled constant) where the factors fall short.
  return same_shape(r.build_product(coefficient, std::move(uniform), shape));
}

// log(exp(x)) → x;  transpose(transpose(x)) → x;  sum_to(x, shape of x) → x;
// sum_to(x, scalar) → sum(x) (what broadcasting a scalar over x sends back);
// min(x, x) → x;  max(x, x) → x;  batch_mean(u) → u and batch_sum(u) → u*batch_size for u
// the same for every sample.
Opt simplify_identities(Rewriter& r, NodeId id) {
  switch (r.op(id)) {
    case Op::log:
    case Op::transpose:
    case Op::sum_to:
    case Op::min:
    case Op::max:
    case Op::batch_mean:
    case Op::batch_sum:
      break;
    default:
      return kNo;
  }
  const Node& node = r.n(id);
  Graph& g = r.g();
  if (node.op == Op::log && g[node[0]].op == Op::exp) return g[node[0]][0];
  if (node.op == Op::transpose && g[node[0]].op == Op::transpose) return g[node[0]][0];
  if (node.op == Op::sum_to && g[node[0]].shape == node.shape) return node[0];
  if (node.op == Op::sum_to && node.shape.is_scalar()) return g.apply(Op::sum, node[0]);
  if ((node.op == Op::min || node.op == Op::max) && node[0] == node[1]) return node[0];
  if (node.op == Op::batch_mean && !g[node[0]].varying) return node[0];
  if (node.op == Op::batch_sum && !g[node[0]].varying) {
    const NodeId b = r.batch_size();
    if (b != kNoNode) return g.mul(node[0], b);
  }
  return kNo;
}

// Slices and pads are linear: (s*v)[w] → s*v[w] and pad(s*v) → s*pad(v) for factors s of one
// value per sample, so that a batch total meets them (batch_sum(pad(v/batch_size)) of a
// gradient becomes pad(batch_mean(v))) and numbers gather in front.
Opt scalar_factor_out_of_window(Rewriter& r, NodeId id) {
  Graph& g = r.g();
  const Op op = r.op(id);
  if (op != Op::slice && op != Op::pad) return kNo;
  const Shape attr = g.attr(id);
  const Shape shape = g[id].shape;
  std::optional<ScalarSplit> split = split_scalar_factors(r, g[id][0]);
  if (!split) return kNo;
  split->scalars.push_back({g.apply_with_attr(op, split->rest, attr), 1.0});
  const NodeId out = r.build_product(split->coefficient, std::move(split->scalars), shape);
  if (!r.shaped_like(out, shape)) return kNo;
  return out;
}

// x[whole window] → x;  x[w1][w2] → x[w1 then w2];  pad(x, 0, ...) → x;
// pad(pad(x, p1), p2) → pad(x, p1 + p2);  sum(pad(x)) → sum(x);
// pad(x, p)[w] → pad(x[w ∩ x's place], what of w lies outside it), or 0 when w misses x
// (the adjoint of a slice read by another slice: x[1:][:-1] of a gradient).
Opt simplify_windows(Rewriter& r, NodeId id) {
  const Op op = r.op(id);
  if (op != Op::slice && op != Op::pad && op != Op::sum) return kNo;
  Graph& g = r.g();
  const Node& node = r.n(id);
  const NodeId inner = node[0];
  const Op inner_op = r.op(inner);
  if (op == Op::sum) {
    if (inner_op != Op::pad) return kNo;
    return g.apply(Op::sum, g[inner][0]);
  }
  if (op == Op::pad) {
    const Padding p = padding_of(g.attr(id));
    if (p.none()) return inner;
    if (inner_op != Op::pad) return kNo;
    Padding sum = padding_of(g.attr(inner));
    for (int k = 0; k < sum.rank; ++k) {
      sum.before[k] += p.before[k];
      sum.after[k] += p.after[k];
    }
    return g.apply_with_attr(Op::pad, g[inner][0], pack(sum));
  }
  const Slicing w = slicing_of(g.attr(id));
  if (w.whole(g[inner].shape)) return inner;
  if (inner_op == Op::slice) {
    const NodeId x = g[inner][0];
    const Slicing both = slicing_of(g.attr(inner)).then(w);
    if (both.whole(g[x].shape)) return x;
    return g.apply_with_attr(Op::slice, x, pack(both));
  }
  if (inner_op != Op::pad) return kNo;
  const NodeId x = g[inner][0];
  const Shape xs = g[x].shape;
  const Shape shape = node.shape;
  const Padding p = padding_of(g.attr(inner));
  Slicing within = w;
  Padding around;
  for (int k = 0; k < w.rank; ++k) {
    const std::int64_t first = p.before[k], last = p.before[k] + xs.dims[k];  // x's place
    const SliceAxis a = w.axis[k];
    if (a.stop <= first || a.start >= last) return g.constant(0.0, shape);
    within.axis[k] = {std::max(a.start, first) - first, std::min(a.stop, last) - first, a.index};
    if (a.index) continue;
    around.before[around.rank] = std::max<std::int64_t>(0, first - a.start);
    around.after[around.rank++] = std::max<std::int64_t>(0, a.stop - last);
  }
  const NodeId part = within.whole(xs) ? x : g.apply_with_attr(Op::slice, x, pack(within));
  return around.none() ? part : g.apply_with_attr(Op::pad, part, pack(around));
}

constexpr std::array<NamedRule, 10> kSimplifierRules = {{
    {"fold constants", fold_constants},
    {"canonical difference, negation, quotient", canonical_difference_negation_quotient},
    {"power identities", simplify_power},
    {"identities", simplify_identities},
    {"windows: slices and pads", simplify_windows},
    {"scalar factor out of a slice or pad", scalar_factor_out_of_window},
    {"uniform factor out of a batch total", uniform_factor_out_of_total},
    {"scalar factor out of sum and mean", scalar_factor_out_of_sum},
    {"normalize product", normalize_product},
    {"normalize sum", normalize_sum},
}};

}  // namespace

std::span<const NamedRule> simplifier_rules() { return kSimplifierRules; }

std::vector<NodeId> simplify(Graph& graph, const std::vector<NodeId>& roots, RewriteStats* stats) {
  return Rewriter(graph, kSimplifierRules).run(roots, stats);
}

}  // namespace descent
