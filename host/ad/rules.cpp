// Derivative rules, one row per op. y is the node, a and b its children, g its adjoint.
// Where two operands of one call build nodes, they are built in statements of their own, so
// that the numbering does not depend on the order in which a compiler evaluates arguments.
// Rules reuse the node's own value where they can (d exp = g*y, d sqrt = g/(2y),
// d sigmoid = g*y*(1-y), d tanh = g*(1-y^2)). Kink conventions: abs'(0) = sign(0) = 0,
// relu'(0) = step(0) = 0, and at a tie of min/max each side gets half: (1 ± sign(a-b))/2.
#include "ad/rules.hpp"

#include <array>

#include "graph/window.hpp"

namespace descent {

namespace {

using R = DerivativeRule;
#define RULE(...)                                   \
  [](Graph& G, NodeId y, NodeId g, NodeId out[2]) { \
    const NodeId a = G.head(y).child[0];            \
    const NodeId b = G.head(y).child[1];            \
    (void)a;                                        \
    (void)b;                                        \
    __VA_ARGS__;                                    \
  }

NodeId one(Graph& G) { return G.num(1); }

// v with zeros around it (itself when there are none).
NodeId padded(Graph& G, NodeId v, const Padding& p) {
  return p.none() ? v : G.apply_with_attr(Op::pad, v, pack(p));
}
NodeId onehot_at(Graph& G, std::int64_t i, std::int64_t n) {
  return G.apply_with_attr(Op::onehot, G.num(static_cast<double>(i)), Shape::vector(n));
}

// The adjoint of a = slice(x): g put where the window lies, in zeros of x's shape. A sliced
// axis is padded with zeros (pad), an indexed one is spread by a one-hot vector (x[i]:
// g*onehot(i, n); A[i]: outer(onehot(i, m), g)); every form prints as the language writes it.
NodeId unslice(Graph& G, NodeId g, const Shape& shape, const Slicing& w) {
  Padding p;
  NodeId hot[2] = {kNoNode, kNoNode};
  for (int k = 0; k < w.rank; ++k) {
    if (w.axis[k].index) {
      hot[k] = onehot_at(G, w.axis[k].start, shape.dims[k]);
      continue;
    }
    p.before[p.rank] = w.axis[k].start;
    p.after[p.rank++] = shape.dims[k] - w.axis[k].stop;
  }
  const NodeId spread = padded(G, g, p);
  if (w.rank == 1) return hot[0] == kNoNode ? spread : G.mul(spread, hot[0]);
  if (hot[0] != kNoNode && hot[1] != kNoNode)
    return G.mul(spread, G.apply(Op::outer, hot[0], hot[1]));
  if (hot[0] != kNoNode) return G.apply(Op::outer, hot[0], spread);
  if (hot[1] != kNoNode) return G.apply(Op::outer, spread, hot[1]);
  return spread;
}

// The adjoint of pad(x): the window of g where x lies.
NodeId unpad(Graph& G, NodeId g, const Shape& shape, const Padding& p) {
  Slicing w;
  w.rank = shape.rank;
  for (int k = 0; k < shape.rank; ++k)
    w.axis[k] = {p.before[k], p.before[k] + shape.dims[k], false};
  return G.apply_with_attr(Op::slice, g, pack(w));
}
NodeId half_of(Graph& G, NodeId x) { return G.mul(G.num(0.5), x); }

// clang-format off
constexpr std::array<R, kOpCount> kDerivativeRules = {{
  {Op::constant, "constant",          RULE((void)G; (void)g; out[0] = kNoNode)},
  {Op::variable, "variable",          RULE((void)G; (void)g; out[0] = kNoNode)},
  // d(-a) = -g
  {Op::neg,      "negation",          RULE(out[0] = G.neg(g))},
  // d exp(a) = g*exp(a) = g*y
  {Op::exp,      "chain rule: exp' = exp",           RULE(out[0] = G.mul(g, y))},
  // d log(a) = g/a
  {Op::log,      "chain rule: log'(u) = 1/u",        RULE(out[0] = G.div(g, a))},
  // d log1p(a) = g/(1+a)
  {Op::log1p,    "chain rule: log1p'(u) = 1/(1+u)",  RULE(out[0] = G.div(g, G.add(one(G), a)))},
  // d expm1(a) = g*e^a = g*(y+1)
  {Op::expm1,    "chain rule: expm1'(u) = exp(u)",   RULE(out[0] = G.mul(g, G.add(y, one(G))))},
  // d sqrt(a) = g/(2*sqrt(a)) = g/(2y)
  {Op::sqrt,     "chain rule: sqrt'(u) = 1/(2*sqrt(u))", RULE(out[0] = G.div(g, G.mul(G.num(2), y)))},
  // d |a| = g*sign(a), with sign(0) = 0
  {Op::abs,      "chain rule: abs'(u) = sign(u)",    RULE(out[0] = G.mul(g, G.apply(Op::sign, a)))},
  // d sin(a) = g*cos(a)
  {Op::sin,      "chain rule: sin' = cos",           RULE(out[0] = G.mul(g, G.apply(Op::cos, a)))},
  // d cos(a) = -g*sin(a)
  {Op::cos,      "chain rule: cos' = -sin",          RULE(out[0] = G.neg(G.mul(g, G.apply(Op::sin, a))))},
  // d tan(a) = g*(1 + tan(a)^2) = g*(1 + y^2)
  {Op::tan,      "chain rule: tan' = 1 + tan^2",     RULE(const NodeId y2 = G.pow(y, G.num(2)); out[0] = G.mul(g, G.add(one(G), y2)))},
  // d tanh(a) = g*(1 - y^2)
  {Op::tanh,     "chain rule: tanh' = 1 - tanh^2",   RULE(const NodeId y2 = G.pow(y, G.num(2)); out[0] = G.mul(g, G.sub(one(G), y2)))},
  // d sigmoid(a) = g*y*(1 - y)
  {Op::sigmoid,  "chain rule: sigmoid' = sigmoid*(1 - sigmoid)", RULE(const NodeId rest = G.sub(one(G), y); out[0] = G.mul(G.mul(g, y), rest))},
  // d softplus(a) = g*sigmoid(a)
  {Op::softplus, "chain rule: softplus' = sigmoid",  RULE(out[0] = G.mul(g, G.apply(Op::sigmoid, a)))},
  // d relu(a) = g*step(a), with step(0) = 0
  {Op::relu,     "chain rule: relu'(u) = step(u)",   RULE(out[0] = G.mul(g, G.apply(Op::step, a)))},
  // sign and step are flat (their kinks carry no gradient)
  {Op::sign,     "sign' = 0",                        RULE((void)G; (void)g; out[0] = kNoNode)},
  {Op::step,     "step' = 0",                        RULE((void)G; (void)g; out[0] = kNoNode)},
  // d(a + b) = g, g
  {Op::add,      "sum rule",                         RULE((void)G; out[0] = g; out[1] = g)},
  // d(a - b) = g, -g
  {Op::sub,      "difference rule",                  RULE(out[0] = g; out[1] = G.neg(g))},
  // d(a*b) = g*b, g*a  (the product rule: (uv)' = u'v + uv', never u'v')
  {Op::mul,      "product rule",                     RULE(out[0] = G.mul(g, b); out[1] = G.mul(g, a))},
  // d(a/b) = g/b, -g*a/b^2 = -g*y/b
  {Op::div,      "quotient rule",                    RULE(out[0] = G.div(g, b); out[1] = G.neg(G.div(G.mul(g, y), b)))},
  // d(a^b) = g*b*a^(b-1), g*a^b*log(a) (the latter as xlogy(y, a): 0 where y = 0)
  {Op::pow,      "power rule",                       RULE(
      const NodeId lowered = G.pow(a, G.sub(b, one(G)));
      out[0] = G.mul(G.mul(g, b), lowered);
      out[1] = G.is_constant(b) ? kNoNode : G.mul(g, G.apply(Op::xlogy, y, a)))},
  // d min(a, b) = g*(1 - sign(a-b))/2, g*(1 + sign(a-b))/2: ties split evenly
  {Op::min,      "min rule (ties split evenly)",     RULE(
      const NodeId s = G.apply(Op::sign, G.sub(a, b));
      out[0] = G.mul(g, half_of(G, G.sub(one(G), s)));
      out[1] = G.mul(g, half_of(G, G.add(one(G), s))))},
  // d max(a, b) = g*(1 + sign(a-b))/2, g*(1 - sign(a-b))/2: ties split evenly
  {Op::max,      "max rule (ties split evenly)",     RULE(
      const NodeId s = G.apply(Op::sign, G.sub(a, b));
      out[0] = G.mul(g, half_of(G, G.add(one(G), s)));
      out[1] = G.mul(g, half_of(G, G.sub(one(G), s))))},
  // d xlogy(a, b) = g*log(b), g*a/b
  {Op::xlogy,    "xlogy rule",                       RULE(out[0] = G.mul(g, G.apply(Op::log, b)); out[1] = G.div(G.mul(g, a), b))},
  // d sum(a) = g in every element (broadcast by multiplying with ones of a's shape)
  // Comparisons and argmax are piecewise constant: no gradient, and a cost may not use them
  // (build_program refuses it); [metrics] evaluate them without differentiating.
  {Op::less,          "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::less_equal,    "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::greater,       "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::greater_equal, "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::equal,         "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::not_equal,     "flat: no gradient", RULE((void)G; (void)g; out[0] = out[1] = kNoNode)},
  {Op::sum,      "sum over elements",                RULE(out[0] = G.mul(g, G.constant(1, G[a].shape)))},
  // d mean(a) = g/n in every element
  {Op::mean,     "mean over elements",               RULE(out[0] = G.mul(g, G.constant(1.0 / static_cast<double>(G[a].shape.size()), G[a].shape)))},
  // d dot(a, b) = g*b, g*a
  {Op::dot,      "dot product rule",                 RULE(out[0] = G.mul(g, b); out[1] = G.mul(g, a))},
  // d(A@B) by the shapes of A and B:
  {Op::matmul,   "matrix product rule",              RULE(
      const Shape sa = G[a].shape, sb = G[b].shape;
      if (sa.rank == 2 && sb.rank == 2) {        // (m,k)@(k,n): G@B^T, A^T@G
        out[0] = G.apply(Op::matmul, g, G.apply(Op::transpose, b));
        out[1] = G.apply(Op::matmul, G.apply(Op::transpose, a), g);
      } else if (sa.rank == 2) {                 // (m,k)@(k): outer(G, b), G@A
        out[0] = G.apply(Op::outer, g, b);
        out[1] = G.apply(Op::matmul, g, a);
      } else if (sb.rank == 2) {                 // (k)@(k,n): B@G, outer(a, G)
        out[0] = G.apply(Op::matmul, b, g);
        out[1] = G.apply(Op::outer, a, g);
      } else {                                   // (k)@(k): g*b, g*a
        out[0] = G.mul(g, b);
        out[1] = G.mul(g, a);
      })},
  // d outer(a, b) = G@b, a@G
  {Op::outer,    "outer product rule",               RULE(out[0] = G.apply(Op::matmul, g, b); out[1] = G.apply(Op::matmul, a, g))},
  // d transpose(a) = transpose(G)
  {Op::transpose, "transpose rule",                  RULE(out[0] = G.apply(Op::transpose, g))},
  // d softmax(a) = y*(g - dot(g, y))
  {Op::softmax,  "softmax rule: y*(g - dot(g, y))",  RULE(out[0] = G.mul(y, G.sub(g, G.apply(Op::dot, g, y))))},
  // d logsumexp(a) = g*softmax(a) for a vector (softmax is defined on vectors), else g*exp(a - y)
  {Op::logsumexp, "logsumexp rule: softmax",         RULE(
      out[0] = G.mul(g, G[a].shape.rank == 1 ? G.apply(Op::softmax, a)
                                             : G.apply(Op::exp, G.sub(a, y))))},
  // d norm(a) = g*a/y
  {Op::norm,     "norm rule: a/norm(a)",             RULE(out[0] = G.mul(g, G.div(a, y)))},
  {Op::argmax,   "flat: no gradient",                RULE((void)G; (void)g; out[0] = kNoNode)},
  // onehot is flat in its index
  {Op::onehot,   "onehot' = 0",                      RULE((void)G; (void)g; out[0] = kNoNode)},
  // d sum_to(a) = G broadcast back to a's shape
  {Op::sum_to,   "broadcast back",                   RULE(out[0] = G.mul(g, G.constant(1, G[a].shape)))},
  // d a[w] = g in the window's places, 0 elsewhere
  {Op::slice,    "slice rule: g into the sliced places", RULE(
      const Shape sa = G[a].shape; out[0] = unslice(G, g, sa, slicing_of(G.attr(y))))},
  // d pad(a) = the window of g where a lies
  {Op::pad,      "pad rule: the window of g",        RULE(
      const Shape sa = G[a].shape; out[0] = unpad(G, g, sa, padding_of(G.attr(y))))},
  // d batch_mean(a) = g/batch_size for every sample
  {Op::batch_mean, "mean over the batch",            RULE(
      out[0] = G.div(g, G.batch_size()))},
  // d batch_sum(a) = g for every sample
  {Op::batch_sum, "sum over the batch",              RULE((void)G; out[0] = g)},
}};
// clang-format on
#undef RULE

static_assert(rows_follow_op_order(kDerivativeRules),
              "kDerivativeRules rows must follow the order of enum Op");

}  // namespace

const DerivativeRule& derivative_rule(Op op) { return kDerivativeRules[op_index(op)]; }

}  // namespace descent
