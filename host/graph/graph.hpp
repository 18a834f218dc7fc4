// The typed, shaped, hash-consed expression DAG (DESIGN §4).
// Nodes are interned by (op, children, attributes): building the same expression twice gives
// the same NodeId, so common subexpressions merge for free. Ids are handed out in creation
// order and every child is created before its parent, so increasing id order is a
// topological order, and the same sequence of calls always gives the same numbering.
// A node never moves once created: `const Node&` taken from a graph stays valid while the
// graph grows (nodes live in segments that are never reallocated), so code that holds a node
// across a call that builds nodes reads what it read before, not freed memory. Interning
// looks nodes up by a fixed-size key (op, shape, children, value, attribute, variable) in an
// open-addressing table of ids; no key is ever spelled out as a string.
// This file does not simplify or differentiate; see simplify.hpp, stabilize.hpp and host/ad/.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>
#include <memory>
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

// Fields in the order that packs them into two cache lines, what rewrites read in the first.
struct alignas(64) Node {
  Op op = Op::constant;
  std::uint8_t arity = 0;
  bool varying = false;  // depends on per-sample data (has the implicit batch axis)
  VarKind var_kind = VarKind::free;
  NodeId child[2] = {kNoNode, kNoNode};
  Shape shape;
  double value = 0.0;  // Op::constant
  Shape attr;          // Op::sum_to: target shape; Op::onehot: (k)
  std::string name;    // Op::variable
  Span span;           // where the user wrote it (first occurrence), if anywhere

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
  NodeId variable(std::string_view name, VarKind kind, Shape shape = {}, const Span& span = {});
  // Applies an op. Checks arity and shapes (input_error at `span` when they do not fit),
  // orders the children of commutative ops canonically, and interns the result. A node that
  // exists already keeps the span it was first built with.
  NodeId apply(Op op, NodeId a, const Span& span = {});
  NodeId apply(Op op, NodeId a, NodeId b, const Span& span = {});
  NodeId apply_with_attr(Op op, NodeId a, Shape attr, const Span& span = {});

  // The node's storage never moves: the reference stays valid as the graph grows.
  const Node& node(NodeId id) const { return at(id); }
  const Node& operator[](NodeId id) const { return at(id); }
  std::size_t size() const { return size_; }

  // Convenience builders used by derivative rules and rewrites.
  NodeId add(NodeId a, NodeId b) { return apply(Op::add, a, b); }
  NodeId sub(NodeId a, NodeId b) { return apply(Op::sub, a, b); }
  NodeId mul(NodeId a, NodeId b) { return apply(Op::mul, a, b); }
  NodeId div(NodeId a, NodeId b) { return apply(Op::div, a, b); }
  NodeId neg(NodeId a) { return apply(Op::neg, a); }
  NodeId pow(NodeId a, NodeId b) { return apply(Op::pow, a, b); }
  NodeId num(double v) { return constant(v); }

  bool is_constant(NodeId id) const { return at(id).op == Op::constant; }
  bool is_constant(NodeId id, double v) const {
    const Node& n = at(id);
    return n.op == Op::constant && n.value == v;
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
  // Segment k holds kFirstSegment << k nodes, ids from kFirstSegment * (2^k - 1) on: a small
  // graph allocates little, a large one O(log n) segments, and no node is ever moved.
  static constexpr std::size_t kFirstSegment = 64;
  static std::size_t segment_of(std::size_t id) {
    return static_cast<std::size_t>(std::bit_width(id / kFirstSegment + 1)) - 1;
  }
  static std::size_t segment_start(std::size_t segment) {
    return kFirstSegment * ((std::size_t{1} << segment) - 1);
  }
  const Node& at(NodeId id) const {
    const std::size_t segment = segment_of(id);
    return segments_[segment][id - segment_start(segment)];
  }

  // The interning table's entry. Most nodes have a short key that the entry holds whole: an
  // op without attribute by (op, children), a scalar constant by (op, value bits), so finding
  // them reads no node. Other nodes (filled constants, variables, ops with an attribute) carry
  // a hash of their key and are compared field by field with the node.
  struct Slot {
    NodeId id = kNoNode;
    Op op = Op::constant;
    bool short_key = false;
    std::uint64_t payload = 0;  // children or value bits (short keys); the key's hash otherwise
  };
  static Slot key_of(const Node& node);
  static Slot op_key(Op op, NodeId a, NodeId b);
  // The id of the node with this key (`node` is read only for a long key), or kNoNode with
  // `at_slot` set to the table position where it goes.
  NodeId find(const Slot& key, const Node* node, std::size_t& at_slot) const;
  // Returns the id of the node with `node`'s key, creating it (with `span`) when there is none.
  NodeId intern(Node&& node, const Span& span);
  // apply()'s interning: finds the op node by its short key, or works out its shape (checking
  // it) and appends it.
  NodeId apply_interned(Op op, std::uint8_t arity, NodeId a, NodeId b, const Shape& attr,
                        const Span& span);
  // A new node (default fields) for a key that find() did not find, entered in the table at
  // `at_slot`; the caller fills in its fields.
  Node& append(Slot key, std::size_t at_slot);
  void grow_table();

  std::vector<std::unique_ptr<Node[]>> segments_;
  std::size_t size_ = 0;
  // Open addressing with linear probing; a power of two, at most half full.
  std::vector<Slot> table_;
  // The short keys found or added last, direct-mapped by hash: a rewrite that rebuilds a
  // product or sum looks up what it built a moment before, and this keeps those lookups out
  // of a table too large for the cache.
  mutable std::vector<Slot> recent_;

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::unordered_map<std::string, NodeId, NameHash, std::equal_to<>> variables_;
};

}  // namespace descent
