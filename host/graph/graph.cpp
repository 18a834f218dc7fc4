// Node storage, interning, canonical child order and the shape-rule column of the op table.
#include "graph/graph.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

#include "common/error.hpp"
#include "graph/window.hpp"

namespace descent {

namespace {

[[noreturn]] void shape_error(const std::string& message, const Span& span) {
  throw input_error(message, span);
}

// How a message quotes an op: its operator ('+', '@', '<') or its function name ('dot').
std::string spelled(Op op) {
  const OpInfo& info = op_info(op);
  return "'" + std::string(info.symbol.empty() ? info.name : info.symbol) + "'";
}

// The shape-rule column of the op table: the result shape of `op` applied to children of shapes
// a (and b, null for a unary op) with attribute `attr`, or an input_error at `span`.
using ShapeFn = Shape (*)(Op op, const Shape& a, const Shape* b, const Shape& attr,
                          const Span& span);

Shape attribute_shape(Op, const Shape&, const Shape*, const Shape& attr, const Span&) {
  return attr;
}
Shape same_shape(Op, const Shape& a, const Shape*, const Shape&, const Span&) { return a; }
Shape scalar_shape(Op, const Shape&, const Shape*, const Shape&, const Span&) {
  return Shape::scalar();
}
Shape broadcast_shape(Op op, const Shape& a, const Shape* b, const Shape&, const Span& span) {
  auto shape = broadcast_shapes(a, *b);
  if (!shape)
    shape_error("cannot broadcast shapes " + a.to_string() + " and " + b->to_string() + " in " +
                    spelled(op),
                span);
  return *shape;
}
Shape softmax_shape(Op, const Shape& a, const Shape*, const Shape&, const Span& span) {
  if (a.rank != 1) shape_error("softmax expects a vector, got shape " + a.to_string(), span);
  return a;
}
Shape argmax_shape(Op, const Shape& a, const Shape*, const Shape&, const Span& span) {
  if (a.rank != 1) shape_error("argmax expects a vector, got shape " + a.to_string(), span);
  return Shape::scalar();
}
Shape transpose_shape(Op, const Shape& a, const Shape*, const Shape&, const Span& span) {
  if (a.rank != 2) shape_error("transpose expects a matrix, got shape " + a.to_string(), span);
  return Shape::matrix(a.dims[1], a.dims[0]);
}
Shape dot_shape(Op, const Shape& a, const Shape* b, const Shape&, const Span& span) {
  if (a.rank != 1 || b->rank != 1 || a.dims[0] != b->dims[0])
    shape_error("dot expects two vectors of the same length, got shapes " + a.to_string() +
                    " and " + b->to_string(),
                span);
  return Shape::scalar();
}
Shape outer_shape(Op, const Shape& a, const Shape* b, const Shape&, const Span& span) {
  if (a.rank != 1 || b->rank != 1)
    shape_error("outer expects two vectors, got shapes " + a.to_string() + " and " + b->to_string(),
                span);
  return Shape::matrix(a.dims[0], b->dims[0]);
}
Shape matmul_shape(Op, const Shape& a, const Shape* b, const Shape&, const Span& span) {
  if (a.rank == 0 || b->rank == 0)
    shape_error("'@' needs vectors or matrices, got shapes " + a.to_string() + " and " +
                    b->to_string() + "; use '*' to scale",
                span);
  const std::int64_t inner_a = a.dims[a.rank - 1];
  const std::int64_t inner_b = b->dims[0];
  if (inner_a != inner_b)
    shape_error("'@' shapes " + a.to_string() + " and " + b->to_string() +
                    " do not fit: inner dimensions " + std::to_string(inner_a) + " and " +
                    std::to_string(inner_b) + " differ",
                span);
  if (a.rank == 2 && b->rank == 2) return Shape::matrix(a.dims[0], b->dims[1]);
  if (a.rank == 2) return Shape::vector(a.dims[0]);
  if (b->rank == 2) return Shape::vector(b->dims[1]);
  return Shape::scalar();
}
Shape onehot_shape(Op, const Shape& a, const Shape*, const Shape& attr, const Span& span) {
  if (a.rank != 0) shape_error("onehot expects a scalar index, got shape " + a.to_string(), span);
  return attr;
}
Shape sum_to_shape(Op, const Shape& a, const Shape*, const Shape& attr, const Span& span) {
  auto back = broadcast_shapes(attr, a);
  if (!back || !(*back == a))
    shape_error("cannot sum shape " + a.to_string() + " down to " + attr.to_string(), span);
  return attr;
}

Shape slice_shape(Op, const Shape& a, const Shape*, const Shape& attr, const Span& span) {
  std::string why;
  const std::optional<Shape> out = slicing_of(attr).result_shape(a, why);
  if (!out) shape_error("cannot index shape " + a.to_string() + ": " + why, span);
  return *out;
}
Shape pad_shape(Op, const Shape& a, const Shape*, const Shape& attr, const Span& span) {
  const Padding p = padding_of(attr);
  if (a.rank == 0 || p.rank != a.rank)
    shape_error(
        "pad expects 2 widths (before, after) for a vector or 4 (top, bottom, left, "
        "right) for a matrix, got " +
            std::to_string(2 * p.rank) + " for shape " + a.to_string(),
        span);
  Shape out = a;
  for (int k = 0; k < a.rank; ++k) out.dims[k] += p.before[k] + p.after[k];
  return out;
}

struct ShapeRule {
  Op op;
  ShapeFn fn;
};
// clang-format off
constexpr std::array<ShapeRule, kOpCount> kShapeRules = {{
  {Op::constant, attribute_shape}, {Op::variable, attribute_shape},
  {Op::neg, same_shape},     {Op::exp, same_shape},      {Op::log, same_shape},
  {Op::log1p, same_shape},   {Op::expm1, same_shape},    {Op::sqrt, same_shape},
  {Op::abs, same_shape},     {Op::sin, same_shape},      {Op::cos, same_shape},
  {Op::tan, same_shape},     {Op::tanh, same_shape},     {Op::sigmoid, same_shape},
  {Op::softplus, same_shape}, {Op::relu, same_shape},    {Op::sign, same_shape},
  {Op::step, same_shape},
  {Op::add, broadcast_shape}, {Op::sub, broadcast_shape}, {Op::mul, broadcast_shape},
  {Op::div, broadcast_shape}, {Op::pow, broadcast_shape}, {Op::min, broadcast_shape},
  {Op::max, broadcast_shape}, {Op::xlogy, broadcast_shape},
  {Op::less, broadcast_shape}, {Op::less_equal, broadcast_shape},
  {Op::greater, broadcast_shape}, {Op::greater_equal, broadcast_shape},
  {Op::equal, broadcast_shape}, {Op::not_equal, broadcast_shape},
  {Op::sum, scalar_shape},    {Op::mean, scalar_shape},   {Op::dot, dot_shape},
  {Op::matmul, matmul_shape}, {Op::outer, outer_shape},   {Op::transpose, transpose_shape},
  {Op::softmax, softmax_shape}, {Op::logsumexp, scalar_shape}, {Op::norm, scalar_shape},
  {Op::argmax, argmax_shape},
  {Op::onehot, onehot_shape}, {Op::sum_to, sum_to_shape}, {Op::slice, slice_shape},
  {Op::pad, pad_shape},
  {Op::batch_mean, same_shape}, {Op::batch_sum, same_shape},
}};
// clang-format on
static_assert(rows_follow_op_order(kShapeRules),
              "kShapeRules rows must follow the order of enum Op");

// The elementwise and batch ops keep or broadcast their operands' shapes: the shape of two
// plain scalars is a plain scalar, which apply_interned relies on to skip the rule.
constexpr bool elementwise_rules_are_shape_preserving() {
  for (const ShapeRule& rule : kShapeRules) {
    const OpKind kind = op_info(rule.op).kind;
    if ((kind == OpKind::unary || kind == OpKind::batch) && rule.fn != same_shape) return false;
    if (kind == OpKind::binary && rule.fn != broadcast_shape) return false;
  }
  return true;
}
static_assert(elementwise_rules_are_shape_preserving());

Shape infer_shape(Op op, const Shape& a, const Shape* b, const Shape& attr, const Span& span) {
  return kShapeRules[op_index(op)].fn(op, a, b, attr, span);
}

}  // namespace

namespace {

// The interning key is every field that makes a node what it is: op, shape, children, value
// (by its bits: +0 and -0 are made one when constants are built, and a NaN is equal to itself),
// attribute, variable kind and name. The span and the derived fields (arity, varying) are not.
// An op's shape follows from its op, children and attribute (the shape rule), so an op without
// attribute is named by (op, children) alone, and a scalar constant by its value.
std::uint64_t mix(std::uint64_t h, std::uint64_t word) {
  h ^= word;
  h *= 0xbf58476d1ce4e5b9ULL;  // SplitMix64's finalizer steps
  return h ^ (h >> 31);
}

std::uint64_t mix_shape(std::uint64_t h, const Shape& shape) {
  for (int i = 0; i < shape.rank; ++i) h = mix(h, static_cast<std::uint64_t>(shape.dims[i]));
  return h;
}

bool is_default(const Shape& s) { return s.rank == 0 && s.dims[0] == 1 && s.dims[1] == 1; }

bool same_shape_bits(const Shape& a, const Shape& b) {
  return a.rank == b.rank && a.dims[0] == b.dims[0] && a.dims[1] == b.dims[1];
}

bool same_key(const Node& a, const Shape& a_attr, const Node& b, const Shape& b_attr) {
  return a.op == b.op && a.child[0] == b.child[0] && a.child[1] == b.child[1] &&
         std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value) &&
         a.var_kind == b.var_kind && same_shape_bits(a.shape, b.shape) &&
         same_shape_bits(a_attr, b_attr) && a.name == b.name;
}

}  // namespace

InternKey Graph::key_of(const Node& node, const Shape& attr) {
  const NodeId newest = std::max(node.child[0] == kNoNode ? 0 : node.child[0],
                                 node.child[1] == kNoNode ? 0 : node.child[1]);
  if (node.op == Op::constant && is_default(node.shape) && is_default(attr))
    return {node.op, true, std::bit_cast<std::uint64_t>(node.value), 0};
  if (node.op != Op::constant && node.op != Op::variable && is_default(attr))
    return op_key(node.op, node.child[0], node.child[1]);
  std::uint64_t h =
      mix(0x9e3779b97f4a7c15ULL, static_cast<std::uint64_t>(node.op) |
                                     static_cast<std::uint64_t>(node.shape.rank) << 8 |
                                     static_cast<std::uint64_t>(attr.rank) << 16 |
                                     static_cast<std::uint64_t>(node.var_kind) << 24 |
                                     static_cast<std::uint64_t>(node.child[0]) << 32);
  h = mix(h, static_cast<std::uint64_t>(node.child[1]) ^ std::bit_cast<std::uint64_t>(node.value));
  h = mix_shape(h, node.shape);
  h = mix_shape(h, attr);
  if (!node.name.empty()) h = mix(h, std::hash<std::string>{}(node.name));
  return {node.op, false, h, newest};
}

InternKey Graph::op_key(Op op, NodeId a, NodeId b) {
  return {op, true, static_cast<std::uint64_t>(a) | static_cast<std::uint64_t>(b) << 32,
          std::max(a, b == kNoNode ? 0 : b)};
}

NodeId Graph::find(const InternKey& key, const Node* node, const Shape& attr) const {
  return index_.find(key, [&](NodeId id) {
    if (node) return same_key(at(id), this->attr(id), *node, attr);
    // A short key: (op, children) of an op whose attribute is the default one (an attribute
    // op's attribute is its shape), or a plain scalar constant's value bits.
    const NodeHead head = heads_[id].head;
    if (head.op != key.op) return false;
    if (key.op == Op::constant)
      return head.plain_scalar() && std::bit_cast<std::uint64_t>(head.value()) == key.payload;
    return head.child[0] == static_cast<NodeId>(key.payload) &&
           head.child[1] == static_cast<NodeId>(key.payload >> 32) &&
           (op_info(key.op).attr == OpAttr::none || head.plain_scalar());
  });
}

NodeId Graph::find_op(const InternKey& key, Op op, NodeId a, NodeId b) {
  const HeadSlot& slot = heads_[key.newest_child];
  const NodeId hint = slot.recent_parent;
  // Every node built sets its newest child's hint, so a child without one has no parent over
  // it as its newest child: the key is absent, and the index need not be asked.
  if (hint == kNoNode) return kNoNode;
  const NodeHead& h = heads_[hint].head;
  if (h.op == op && h.child[0] == a && h.child[1] == b) return hint;
  // The hint is the only parent over this child (any node with this key would be one): absent.
  if (!(slot.head.flags & NodeHead::kManyParents)) return kNoNode;
  const NodeId found = find(key, nullptr);
  if (found != kNoNode) heads_[key.newest_child].recent_parent = found;
  return found;
}

NodeId Graph::intern(const Node& node, const Shape& attr, const Span& span) {
  const InternKey key = key_of(node, attr);
  const NodeId found = find(key, &node, attr);
  if (found != kNoNode) return found;
  Node& fresh = append(key);
  fresh = node;
  return added(fresh, attr, span);
}

NodeId Graph::added(Node& node, const Shape& attr, const Span& span) {
  // A constant's or variable's attribute is its shape (Graph::attr), kept in the node itself.
  const bool own_attr = node.op != Op::constant && node.op != Op::variable && !is_default(attr);
  // `span` and `attr` may be another node's, read through span()/attr() from extras_: they are
  // copied into the new record before extras_ grows, and not read after.
  const bool has_span = span.valid();
  if (has_span || own_attr) {
    NodeExtra extra{span, own_attr ? attr : Shape{}};
    node.extra = static_cast<std::uint32_t>(extras_.size());
    extras_.push_back(std::move(extra));
  }
  const std::uint8_t flags = (node.varying ? NodeHead::kVarying : 0) |
                             (is_default(node.shape) ? NodeHead::kPlainScalar : 0) |
                             (has_span ? NodeHead::kHasSpan : 0);
  std::array<NodeId, 2> child{node.child[0], node.child[1]};
  if (node.op == Op::constant) child = std::bit_cast<std::array<NodeId, 2>>(node.value);
  heads_.push_back({{node.op,
                     node.arity,
                     static_cast<std::uint8_t>(node.shape.rank),
                     flags,
                     {child[0], child[1]}},
                    kNoNode});
  const auto id = static_cast<NodeId>(size() - 1);
  if (node.arity > 0) {
    const NodeId newest = node.arity == 2 ? std::max(node.child[0], node.child[1]) : node.child[0];
    HeadSlot& slot = heads_[newest];
    if (slot.recent_parent != kNoNode && !(slot.head.flags & NodeHead::kManyParents)) {
      slot.head.flags |= NodeHead::kManyParents;
      // The child's first parent, the only one until now, was found by the hint; from now on
      // it is found in the index, unless it is there already (an op with an attribute).
      const NodeHead first = heads_[slot.recent_parent].head;
      if (op_info(first.op).attr == OpAttr::none)
        index_.insert(op_key(first.op, first.child[0], first.child[1]), slot.recent_parent);
    }
    slot.recent_parent = id;
  }
  return id;
}

Node& Graph::append(const InternKey& key, bool indexed) {
  const auto id = static_cast<NodeId>(nodes_.size());
  if (id == kNoNode) throw Error(ExitCode::failure, "internal: the graph is full");
  if (indexed) index_.insert(key, id);
  return nodes_.emplace_back();
}

NodeId Graph::constant(double value, Shape shape) {
  // +0 and -0 are the same constant for interning; NaN stays as written.
  if (value == 0.0) value = 0.0;
  if (!is_default(shape)) {
    Node node;
    node.op = Op::constant;
    node.value = value;
    node.shape = shape;
    return intern(node, shape, Span{});
  }
  const InternKey key{Op::constant, true, std::bit_cast<std::uint64_t>(value), 0};
  const NodeId found = find(key, nullptr);
  if (found != kNoNode) return found;
  Node& fresh = append(key);
  fresh.op = Op::constant;
  fresh.value = value;
  fresh.shape = shape;
  return added(fresh, shape, Span{});
}

NodeId Graph::variable(std::string_view name, VarKind kind, Shape shape, const Span& span) {
  auto found = variables_.find(name);
  if (found != variables_.end()) {
    const Node& existing = at(found->second);
    if (existing.var_kind != kind || !(existing.shape == shape))
      throw input_error(
          "'" + std::string(name) + "' is declared twice with different kinds or shapes", span);
    return found->second;
  }
  // The table's key is the name's one copy, which the node points to: the entry comes first.
  const auto entry = variables_.emplace(std::string(name), kNoNode).first;
  Node node;
  node.op = Op::variable;
  node.name = NodeName(&entry->first);
  node.var_kind = kind;
  node.shape = shape;
  node.varying = kind == VarKind::input || kind == VarKind::start_param;
  try {
    entry->second = intern(node, shape, span);
  } catch (...) {
    variables_.erase(entry);
    throw;
  }
  return entry->second;
}

NodeId Graph::apply(Op op, NodeId a, const Span& span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 1 || info.attr != OpAttr::none)
    throw Error(ExitCode::failure,
                "internal: op " + std::string(info.name) + " is not unary without attribute", span);
  return apply_interned(op, 1, a, kNoNode, Shape{}, span);
}

NodeId Graph::apply_with_attr(Op op, NodeId a, Shape attr, const Span& span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 1 || info.attr == OpAttr::none)
    throw Error(ExitCode::failure,
                "internal: op " + std::string(info.name) + " is not unary with an attribute", span);
  return apply_interned(op, 1, a, kNoNode, attr, span);
}

NodeId Graph::apply(Op op, NodeId a, NodeId b, const Span& span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 2)
    throw Error(ExitCode::failure, "internal: op " + std::string(info.name) + " is not binary",
                span);
  if (info.commutative && b < a) std::swap(a, b);
  return apply_interned(op, 2, a, b, Shape{}, span);
}

NodeId Graph::apply_interned(Op op, std::uint8_t arity, NodeId a, NodeId b, const Shape& attr,
                             const Span& span) {
  // An op without attribute is found by (op, children) before its shape is worked out: a node
  // that exists passed the shape rule when it was built, and finding it reads no child.
  const bool short_key = is_default(attr);
  const InternKey key = op_key(op, a, b);
  if (short_key) {
    // An op with an attribute is never found by its children alone.
    const NodeId found =
        op_info(op).attr == OpAttr::none ? find_op(key, op, a, b) : find(key, nullptr);
    if (found != kNoNode) return found;
  }
  // The shape rule, by the heads alone for elementwise ops on plain scalars (the common case
  // in rewrites, whose operands need not be read then).
  const OpKind kind = op_info(op).kind;
  const NodeHead left_head = heads_[a].head;
  const NodeHead right_head = arity == 2 ? heads_[b].head : left_head;
  Shape shape;
  if (!((kind == OpKind::unary || kind == OpKind::binary || kind == OpKind::batch) &&
        left_head.plain_scalar() && right_head.plain_scalar())) {
    const Node& left = at(a);
    shape = infer_shape(op, left.shape, arity == 2 ? &at(b).shape : nullptr, attr, span);
  }
  const bool varying =
      kind == OpKind::batch ? false : left_head.varying() || (arity == 2 && right_head.varying());
  const auto fill = [&](Node& n) {
    n.op = op;
    n.arity = arity;
    n.child[0] = a;
    n.child[1] = b;
    n.shape = shape;
    n.varying = varying;
  };
  if (!short_key) {
    Node node;
    fill(node);
    return intern(node, attr, span);
  }
  // Found by its newest child's hint alone while that child has no other parent (find_op):
  // entered in the index only once it has (see added()).
  const bool hinted = op_info(op).attr == OpAttr::none;
  Node& fresh = append(key, !hinted || heads_[key.newest_child].recent_parent != kNoNode);
  fill(fresh);
  return added(fresh, attr, span);
}

std::vector<NodeId> Graph::reachable(const std::vector<NodeId>& roots) const {
  // Children have smaller ids than their parents: one sweep from the largest root down marks
  // everything below the roots, reading each reached node once, in order.
  std::vector<char> seen(size(), 0);
  NodeId top = 0;
  bool any = false;
  for (NodeId r : roots)
    if (r != kNoNode) {
      seen[r] = 1;
      top = std::max(top, r);
      any = true;
    }
  std::size_t count = 0;
  if (any)
    for (NodeId id = top + 1; id-- > 0;) {
      if (!seen[id]) continue;
      ++count;
      const NodeHead& h = heads_[id].head;
      for (int i = 0; i < h.arity; ++i) seen[h.child[i]] = 1;
    }
  std::vector<NodeId> out;
  out.reserve(count);
  for (NodeId id = 0; id < size(); ++id)
    if (seen[id]) out.push_back(id);
  return out;
}

std::vector<NodeId> Graph::variables_of(const std::vector<NodeId>& roots) const {
  std::vector<NodeId> vars;
  for (NodeId id : reachable(roots))
    if (heads_[id].head.op == Op::variable) vars.push_back(id);
  return vars;
}

NodeId Graph::find_variable(std::string_view name) const {
  auto it = variables_.find(name);
  return it == variables_.end() ? kNoNode : it->second;
}

}  // namespace descent
