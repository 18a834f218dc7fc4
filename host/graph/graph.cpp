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
std::uint64_t mix(std::uint64_t h, std::uint64_t word) {
  h ^= word;
  h *= 0xbf58476d1ce4e5b9ULL;  // SplitMix64's finalizer steps
  return h ^ (h >> 31);
}

std::uint64_t mix_shape(std::uint64_t h, const Shape& shape) {
  for (int i = 0; i < shape.rank; ++i) h = mix(h, static_cast<std::uint64_t>(shape.dims[i]));
  return h;
}

std::uint32_t key_hash(const Node& n) {
  std::uint64_t h = mix(0x9e3779b97f4a7c15ULL, static_cast<std::uint64_t>(n.op) |
                                                   static_cast<std::uint64_t>(n.shape.rank) << 8 |
                                                   static_cast<std::uint64_t>(n.attr.rank) << 16 |
                                                   static_cast<std::uint64_t>(n.var_kind) << 24 |
                                                   static_cast<std::uint64_t>(n.child[0]) << 32);
  h = mix(h, static_cast<std::uint64_t>(n.child[1]) ^ std::bit_cast<std::uint64_t>(n.value));
  h = mix_shape(h, n.shape);
  h = mix_shape(h, n.attr);
  if (!n.name.empty()) h = mix(h, std::hash<std::string>{}(n.name));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

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

NodeId Graph::intern(Node&& node, const Span& span) {
  if (2 * (size_ + 1) > table_.size()) grow_table();
  const std::uint32_t hash = key_hash(node);
  const std::size_t mask = table_.size() - 1;
  std::size_t i = hash & mask;
  for (; table_[i].id != kNoNode; i = (i + 1) & mask)
    if (table_[i].hash == hash && same_key(at(table_[i].id), node)) return table_[i].id;

  const auto id = static_cast<NodeId>(size_);
  if (id == kNoNode) throw Error(ExitCode::failure, "internal: the graph is full");
  const std::size_t segment = segment_of(id);
  if (segment == segments_.size())
    segments_.push_back(std::make_unique<Node[]>(kFirstSegment << segment));
  Node& slot = segments_[segment][id - segment_start(segment)];
  slot = std::move(node);
  slot.span = span;
  ++size_;
  table_[i] = {hash, id};
  return id;
}

void Graph::grow_table() {
  std::vector<Slot> old = std::move(table_);
  table_.assign(std::max<std::size_t>(64, 2 * old.size()), Slot{});
  const std::size_t mask = table_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNoNode) continue;
    std::size_t i = s.hash & mask;
    while (table_[i].id != kNoNode) i = (i + 1) & mask;
    table_[i] = s;
  }
}

NodeId Graph::constant(double value, Shape shape) {
  Node node;
  node.op = Op::constant;
  // +0 and -0 are the same constant for interning; NaN stays as written.
  node.value = value == 0.0 ? 0.0 : value;
  node.shape = shape;
  node.attr = shape;
  return intern(std::move(node), Span{});
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
  Node node;
  node.op = op;
  node.arity = 1;
  node.child[0] = a;
  node.attr = attr;
  const Node& child = at(a);
  node.shape = infer_shape(op, child.shape, nullptr, attr, span);
  node.varying = info.kind == OpKind::batch ? false : child.varying;
  return intern(std::move(node), span);
}

NodeId Graph::apply(Op op, NodeId a, NodeId b, const Span& span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 2)
    throw Error(ExitCode::failure, "internal: op " + std::string(info.name) + " is not binary",
                span);
  if (info.commutative && b < a) std::swap(a, b);
  Node node;
  node.op = op;
  node.arity = 2;
  node.child[0] = a;
  node.child[1] = b;
  const Node& left = at(a);
  const Node& right = at(b);
  node.shape = infer_shape(op, left.shape, &right.shape, Shape{}, span);
  node.varying = left.varying || right.varying;
  return intern(std::move(node), span);
}

std::vector<NodeId> Graph::reachable(const std::vector<NodeId>& roots) const {
  std::vector<char> seen(size_, 0);
  std::vector<NodeId> stack;
  for (NodeId r : roots)
    if (r != kNoNode && !seen[r]) {
      seen[r] = 1;
      stack.push_back(r);
    }
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    const Node& n = at(id);
    for (int i = 0; i < n.arity; ++i) {
      const NodeId c = n.child[i];
      if (!seen[c]) {
        seen[c] = 1;
        stack.push_back(c);
      }
    }
  }
  std::vector<NodeId> out;
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
