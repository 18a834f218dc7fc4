// The typed, shaped, hash-consed expression DAG (DESIGN §4).
// Nodes are interned by (op, children, attributes): building the same expression twice gives
// the same NodeId, so common subexpressions merge for free. Ids are handed out in creation
// order and every child is created before its parent, so increasing id order is a
// topological order, and the same sequence of calls always gives the same numbering.
// This file does not simplify or differentiate; see simplify.hpp and host/ad/.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/source.hpp"
#include "graph/ops.hpp"
#include "graph/shape.hpp"

namespace descent {

using NodeId = std::uint32_t;
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();

enum class VarKind : std::uint8_t {
  free,         // a variable of `descent derive EXPR`
  input,        // a per-sample data input (varies along the implicit batch axis)
  param,        // a trained parameter, shared by all samples
  start_param,  // minimize mode: a parameter with its own copy per start (varies like an input)
  batch_size,   // the number of samples in the current batch (a scalar)
};

struct Node {
  Op op = Op::constant;
  Shape shape;
  bool varying = false;  // depends on per-sample data (has the implicit batch axis)
  std::uint8_t arity = 0;
  NodeId child[2] = {kNoNode, kNoNode};
  double value = 0.0;  // Op::constant
  std::string name;    // Op::variable
  VarKind var_kind = VarKind::free;
  Shape attr;  // Op::sum_to: target shape; Op::onehot: (k)
  Span span;   // where the user wrote it (first occurrence), if anywhere

  NodeId operator[](int i) const { return child[i]; }
};

class Graph {
 public:
  Graph() = default;
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  Graph(Graph&&) = default;
  Graph& operator=(Graph&&) = default;

  // A constant filled into `shape` (scalar by default).
  NodeId constant(double value, Shape shape = {});
  // A variable; declaring the same name twice with another kind or shape is an error.
  NodeId variable(std::string_view name, VarKind kind, Shape shape = {}, Span span = {});
  // Applies an op. Checks arity and shapes (input_error at `span` when they do not fit),
  // orders the children of commutative ops canonically, and interns the result.
  NodeId apply(Op op, NodeId a, Span span = {});
  NodeId apply(Op op, NodeId a, NodeId b, Span span = {});
  NodeId apply_with_attr(Op op, NodeId a, Shape attr, Span span = {});

  const Node& node(NodeId id) const { return nodes_[id]; }
  const Node& operator[](NodeId id) const { return nodes_[id]; }
  std::size_t size() const { return nodes_.size(); }

  // Convenience builders used by derivative rules and rewrites.
  NodeId add(NodeId a, NodeId b) { return apply(Op::add, a, b); }
  NodeId sub(NodeId a, NodeId b) { return apply(Op::sub, a, b); }
  NodeId mul(NodeId a, NodeId b) { return apply(Op::mul, a, b); }
  NodeId div(NodeId a, NodeId b) { return apply(Op::div, a, b); }
  NodeId neg(NodeId a) { return apply(Op::neg, a); }
  NodeId pow(NodeId a, NodeId b) { return apply(Op::pow, a, b); }
  NodeId num(double v) { return constant(v); }

  bool is_constant(NodeId id) const { return nodes_[id].op == Op::constant; }
  bool is_constant(NodeId id, double v) const {
    return nodes_[id].op == Op::constant && nodes_[id].value == v;
  }
  // Every node reachable from `roots`, in increasing id (= topological) order.
  std::vector<NodeId> reachable(const std::vector<NodeId>& roots) const;
  // Number of distinct nodes reachable from `roots`.
  std::size_t count_reachable(const std::vector<NodeId>& roots) const {
    return reachable(roots).size();
  }
  // The variables reachable from `roots`, in id order.
  std::vector<NodeId> variables_of(const std::vector<NodeId>& roots) const;
  // The variable with this name, or kNoNode.
  NodeId find_variable(std::string_view name) const;

 private:
  NodeId intern(Node node);
  std::string key_of(const Node& node) const;

  std::vector<Node> nodes_;
  std::unordered_map<std::string, NodeId> interned_;
  std::unordered_map<std::string, NodeId> variables_;
};

}  // namespace descent
