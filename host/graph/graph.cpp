// Node storage, interning, canonical child order and the shape-rule column of the op table.
#include "graph/graph.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "common/error.hpp"

namespace descent {

namespace {

[[noreturn]] void shape_error(const std::string& message, const Span& span) {
  throw input_error(message, span);
}

std::string spelled(Op op) {
  switch (op) {
    case Op::add:
      return "'+'";
    case Op::sub:
      return "'-'";
    case Op::mul:
      return "'*'";
    case Op::div:
      return "'/'";
    case Op::pow:
      return "'^'";
    case Op::matmul:
      return "'@'";
    default:
      return "'" + std::string(op_name(op)) + "'";
  }
}

// The shape-rule column: the result shape of `op` applied to children of shapes a (and b).
Shape infer_shape(Op op, const Shape& a, const Shape* b, const Shape& attr, const Span& span) {
  switch (op_info(op).kind) {
    case OpKind::leaf:
      return attr;
    case OpKind::unary:
    case OpKind::batch:
      return a;
    case OpKind::binary: {
      auto shape = broadcast_shapes(a, *b);
      if (!shape)
        shape_error("cannot broadcast shapes " + a.to_string() + " and " + b->to_string() + " in " +
                        spelled(op),
                    span);
      return *shape;
    }
    case OpKind::tensor:
      break;
  }
  switch (op) {
    case Op::sum:
    case Op::mean:
    case Op::logsumexp:
    case Op::norm:
      return Shape::scalar();
    case Op::softmax:
      if (a.rank != 1) shape_error("softmax expects a vector, got shape " + a.to_string(), span);
      return a;
    case Op::transpose:
      if (a.rank != 2) shape_error("transpose expects a matrix, got shape " + a.to_string(), span);
      return Shape::matrix(a.dims[1], a.dims[0]);
    case Op::dot:
      if (a.rank != 1 || b->rank != 1 || a.dims[0] != b->dims[0])
        shape_error("dot expects two vectors of the same length, got shapes " + a.to_string() +
                        " and " + b->to_string(),
                    span);
      return Shape::scalar();
    case Op::outer:
      if (a.rank != 1 || b->rank != 1)
        shape_error(
            "outer expects two vectors, got shapes " + a.to_string() + " and " + b->to_string(),
            span);
      return Shape::matrix(a.dims[0], b->dims[0]);
    case Op::matmul: {
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
    case Op::onehot:
      if (a.rank != 0)
        shape_error("onehot expects a scalar index, got shape " + a.to_string(), span);
      return attr;
    case Op::sum_to: {
      auto back = broadcast_shapes(attr, a);
      if (!back || !(*back == a))
        shape_error("cannot sum shape " + a.to_string() + " down to " + attr.to_string(), span);
      return attr;
    }
    default:
      break;
  }
  shape_error("internal: no shape rule for op " + std::string(op_name(op)), span);
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

bool same_key(const Node& a, const Node& b) {
  return a.op == b.op && a.child[0] == b.child[0] && a.child[1] == b.child[1] &&
         std::bit_cast<std::uint64_t>(a.value) == std::bit_cast<std::uint64_t>(b.value) &&
         a.var_kind == b.var_kind && same_shape_bits(a.shape, b.shape) &&
         same_shape_bits(a.attr, b.attr) && a.name == b.name;
}

}  // namespace

Graph::Slot Graph::key_of(const Node& node) {
  if (node.op == Op::constant && is_default(node.shape) && is_default(node.attr))
    return {kNoNode, node.op, true, std::bit_cast<std::uint64_t>(node.value)};
  if (node.op != Op::constant && node.op != Op::variable && is_default(node.attr))
    return op_key(node.op, node.child[0], node.child[1]);
  std::uint64_t h =
      mix(0x9e3779b97f4a7c15ULL, static_cast<std::uint64_t>(node.op) |
                                     static_cast<std::uint64_t>(node.shape.rank) << 8 |
                                     static_cast<std::uint64_t>(node.attr.rank) << 16 |
                                     static_cast<std::uint64_t>(node.var_kind) << 24 |
                                     static_cast<std::uint64_t>(node.child[0]) << 32);
  h = mix(h, static_cast<std::uint64_t>(node.child[1]) ^ std::bit_cast<std::uint64_t>(node.value));
  h = mix_shape(h, node.shape);
  h = mix_shape(h, node.attr);
  if (!node.name.empty()) h = mix(h, std::hash<std::string>{}(node.name));
  return {kNoNode, node.op, false, h};
}

Graph::Slot Graph::op_key(Op op, NodeId a, NodeId b) {
  return {kNoNode, op, true, static_cast<std::uint64_t>(a) | static_cast<std::uint64_t>(b) << 32};
}

namespace {
std::uint64_t slot_hash(Op op, bool short_key, std::uint64_t payload) {
  const std::uint64_t h = mix(static_cast<std::uint64_t>(op) << 1 | (short_key ? 1 : 0), payload);
  return h ^ (h >> 29);
}
bool same_slot_key(const auto& a, const auto& b) {
  return a.op == b.op && a.short_key == b.short_key && a.payload == b.payload;
}
}  // namespace

NodeId Graph::find(const Slot& key, const Node* node, std::size_t& at_slot) const {
  const std::uint64_t h = slot_hash(key.op, key.short_key, key.payload);
  Slot* recent = nullptr;
  if (key.short_key) {
    recent = &recent_[(h >> 32) & (recent_.size() - 1)];
    if (recent->id != kNoNode && same_slot_key(*recent, key)) return recent->id;
  }
  const std::size_t mask = table_.size() - 1;
  std::size_t i = h & mask;
  for (; table_[i].id != kNoNode; i = (i + 1) & mask) {
    const Slot& s = table_[i];
    if (!same_slot_key(s, key)) continue;
    if (key.short_key) {
      *recent = s;
      return s.id;
    }
    if (same_key(at(s.id), *node)) return s.id;
  }
  at_slot = i;
  return kNoNode;
}

NodeId Graph::intern(Node&& node, const Span& span) {
  if (2 * (size_ + 1) > table_.size()) grow_table();
  const Slot key = key_of(node);
  std::size_t at_slot = 0;
  const NodeId found = find(key, &node, at_slot);
  if (found != kNoNode) return found;
  Node& added = append(key, at_slot);
  added = std::move(node);
  added.span = span;
  return static_cast<NodeId>(size_ - 1);
}

Node& Graph::append(Slot key, std::size_t at_slot) {
  const auto id = static_cast<NodeId>(size_);
  if (id == kNoNode) throw Error(ExitCode::failure, "internal: the graph is full");
  const std::size_t segment = segment_of(id);
  if (segment == segments_.size())
    segments_.push_back(std::make_unique<Node[]>(kFirstSegment << segment));
  ++size_;
  key.id = id;
  table_[at_slot] = key;
  if (key.short_key) {
    const std::uint64_t h = slot_hash(key.op, key.short_key, key.payload);
    recent_[(h >> 32) & (recent_.size() - 1)] = key;
  }
  return segments_[segment][id - segment_start(segment)];
}

void Graph::grow_table() {
  std::vector<Slot> old = std::move(table_);
  table_.assign(std::max<std::size_t>(64, 2 * old.size()), Slot{});
  recent_.assign(std::min<std::size_t>(table_.size(), 1 << 14), Slot{});
  const std::size_t mask = table_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNoNode) continue;
    std::size_t i = slot_hash(s.op, s.short_key, s.payload) & mask;
    while (table_[i].id != kNoNode) i = (i + 1) & mask;
    table_[i] = s;
  }
}

NodeId Graph::constant(double value, Shape shape) {
  // +0 and -0 are the same constant for interning; NaN stays as written.
  if (value == 0.0) value = 0.0;
  if (!is_default(shape)) {
    Node node;
    node.op = Op::constant;
    node.value = value;
    node.shape = shape;
    node.attr = shape;
    return intern(std::move(node), Span{});
  }
  if (2 * (size_ + 1) > table_.size()) grow_table();
  const Slot key{kNoNode, Op::constant, true, std::bit_cast<std::uint64_t>(value)};
  std::size_t at_slot = 0;
  const NodeId found = find(key, nullptr, at_slot);
  if (found != kNoNode) return found;
  Node& added = append(key, at_slot);
  added.op = Op::constant;
  added.value = value;
  added.shape = shape;
  added.attr = shape;
  return static_cast<NodeId>(size_ - 1);
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
  Node node;
  node.op = Op::variable;
  node.name = std::string(name);
  node.var_kind = kind;
  node.shape = shape;
  node.attr = shape;
  node.varying = kind == VarKind::input || kind == VarKind::start_param;
  const NodeId id = intern(std::move(node), span);
  variables_.emplace(std::string(name), id);
  return id;
}

NodeId Graph::apply(Op op, NodeId a, const Span& span) {
  return apply_with_attr(op, a, Shape{}, span);
}

NodeId Graph::apply_with_attr(Op op, NodeId a, Shape attr, const Span& span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 1)
    throw Error(ExitCode::failure, "internal: op " + std::string(info.name) + " is not unary",
                span);
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
  if (2 * (size_ + 1) > table_.size()) grow_table();
  // An op without attribute is found by (op, children) before its shape is worked out: a node
  // that exists passed the shape rule when it was built, and finding it reads no child.
  const bool short_key = is_default(attr);
  Slot key;
  std::size_t at_slot = 0;
  if (short_key) {
    key = op_key(op, a, b);
    const NodeId found = find(key, nullptr, at_slot);
    if (found != kNoNode) return found;
  }
  const Node& left = at(a);
  const Node* right = arity == 2 ? &at(b) : nullptr;
  const Shape shape = infer_shape(op, left.shape, right ? &right->shape : nullptr, attr, span);
  const bool varying =
      op_info(op).kind == OpKind::batch ? false : left.varying || (right && right->varying);
  if (!short_key) {
    Node node;
    node.op = op;
    node.arity = arity;
    node.child[0] = a;
    node.child[1] = b;
    node.attr = attr;
    node.shape = shape;
    node.varying = varying;
    return intern(std::move(node), span);
  }
  Node& added = append(key, at_slot);
  added.op = op;
  added.arity = arity;
  added.child[0] = a;
  added.child[1] = b;
  added.attr = attr;
  added.shape = shape;
  added.varying = varying;
  added.span = span;
  return static_cast<NodeId>(size_ - 1);
}

std::vector<NodeId> Graph::reachable(const std::vector<NodeId>& roots) const {
  // Children have smaller ids than their parents: one sweep from the largest root down marks
  // everything below the roots, reading each reached node once, in order.
  std::vector<char> seen(size_, 0);
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
      const Node& n = at(id);
      for (int i = 0; i < n.arity; ++i) seen[n.child[i]] = 1;
    }
  std::vector<NodeId> out;
  out.reserve(count);
  for (NodeId id = 0; id < size_; ++id)
    if (seen[id]) out.push_back(id);
  return out;
}

std::vector<NodeId> Graph::variables_of(const std::vector<NodeId>& roots) const {
  std::vector<NodeId> vars;
  for (NodeId id : reachable(roots))
    if (at(id).op == Op::variable) vars.push_back(id);
  return vars;
}

NodeId Graph::find_variable(std::string_view name) const {
  auto it = variables_.find(name);
  return it == variables_.end() ? kNoNode : it->second;
}

}  // namespace descent
