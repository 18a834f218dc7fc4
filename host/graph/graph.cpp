// Interning, canonical child order and the shape-rule column of the op table.
#include "graph/graph.hpp"

#include <algorithm>
#include <cstring>

#include "common/error.hpp"

namespace descent {

namespace {

void append_bytes(std::string& key, const void* data, std::size_t n) {
  key.append(static_cast<const char*>(data), n);
}

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

std::string Graph::key_of(const Node& node) const {
  std::string key;
  key.reserve(48);
  key.push_back(static_cast<char>(node.op));
  append_bytes(key, &node.shape.rank, sizeof(int));
  append_bytes(key, node.shape.dims, sizeof(node.shape.dims));
  append_bytes(key, node.child, sizeof(node.child));
  append_bytes(key, &node.value, sizeof(double));
  append_bytes(key, &node.attr.rank, sizeof(int));
  append_bytes(key, node.attr.dims, sizeof(node.attr.dims));
  key.push_back(static_cast<char>(node.var_kind));
  key += node.name;
  return key;
}

NodeId Graph::intern(Node node) {
  std::string key = key_of(node);
  auto it = interned_.find(key);
  if (it != interned_.end()) return it->second;
  const auto id = static_cast<NodeId>(nodes_.size());
  nodes_.push_back(std::move(node));
  interned_.emplace(std::move(key), id);
  return id;
}

NodeId Graph::constant(double value, Shape shape) {
  Node node;
  node.op = Op::constant;
  // +0 and -0 are the same constant for interning; NaN stays as written.
  node.value = value == 0.0 ? 0.0 : value;
  node.shape = shape;
  node.attr = shape;
  return intern(std::move(node));
}

NodeId Graph::variable(std::string_view name, VarKind kind, Shape shape, Span span) {
  auto found = variables_.find(std::string(name));
  if (found != variables_.end()) {
    const Node& existing = nodes_[found->second];
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
  node.span = std::move(span);
  const NodeId id = intern(std::move(node));
  variables_.emplace(std::string(name), id);
  return id;
}

NodeId Graph::apply(Op op, NodeId a, Span span) { return apply_with_attr(op, a, Shape{}, span); }

NodeId Graph::apply_with_attr(Op op, NodeId a, Shape attr, Span span) {
  const OpInfo& info = op_info(op);
  if (info.arity != 1)
    throw Error(ExitCode::failure, "internal: op " + std::string(info.name) + " is not unary",
                span);
  Node node;
  node.op = op;
  node.arity = 1;
  node.child[0] = a;
  node.attr = attr;
  node.shape = infer_shape(op, nodes_[a].shape, nullptr, attr, span);
  node.varying = info.kind == OpKind::batch ? false : nodes_[a].varying;
  node.span = std::move(span);
  return intern(std::move(node));
}

NodeId Graph::apply(Op op, NodeId a, NodeId b, Span span) {
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
  node.shape = infer_shape(op, nodes_[a].shape, &nodes_[b].shape, Shape{}, span);
  node.varying = nodes_[a].varying || nodes_[b].varying;
  node.span = std::move(span);
  return intern(std::move(node));
}

std::vector<NodeId> Graph::reachable(const std::vector<NodeId>& roots) const {
  std::vector<char> seen(nodes_.size(), 0);
  std::vector<NodeId> stack;
  for (NodeId r : roots)
    if (r != kNoNode && !seen[r]) {
      seen[r] = 1;
      stack.push_back(r);
    }
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    for (int i = 0; i < nodes_[id].arity; ++i) {
      const NodeId c = nodes_[id].child[i];
      if (!seen[c]) {
        seen[c] = 1;
        stack.push_back(c);
      }
    }
  }
  std::vector<NodeId> out;
  for (NodeId id = 0; id < nodes_.size(); ++id)
    if (seen[id]) out.push_back(id);
  return out;
}

std::vector<NodeId> Graph::variables_of(const std::vector<NodeId>& roots) const {
  std::vector<NodeId> vars;
  for (NodeId id : reachable(roots))
    if (nodes_[id].op == Op::variable) vars.push_back(id);
  return vars;
}

NodeId Graph::find_variable(std::string_view name) const {
  auto it = variables_.find(std::string(name));
  return it == variables_.end() ? kNoNode : it->second;
}

}  // namespace descent
