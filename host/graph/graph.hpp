// The typed, shaped, hash-consed expression DAG (DESIGN §4).
// Nodes are interned by (op, children, attributes): building the same expression twice gives
// the same NodeId, so common subexpressions merge for free. Ids are handed out in creation
// order and every child is created before its parent, so increasing id order is a
// topological order, and the same sequence of calls always gives the same numbering.
// A node never moves once created: `const Node&` taken from a graph stays valid while the
// graph grows (node_store.hpp), so code that holds a node across a call that builds nodes reads
// what it read before, not freed memory. Interning looks nodes up by a fixed-size key (op,
// shape, children, value, attribute, variable) in an index of ids (intern_table.hpp), or through
// a child (HeadSlot); no key is ever spelled out as a string. Beside each node the graph keeps
// its head (NodeHead), the few fields that traversals read, packed so that a pass over a large
// graph stays in the cache.
// This file does not simplify or differentiate; see simplify.hpp, stabilize.hpp and host/ad/.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "common/large_buffer.hpp"
#include "common/source.hpp"
#include "graph/intern_table.hpp"
#include "graph/node_store.hpp"
#include "graph/ops.hpp"
#include "graph/shape.hpp"

namespace descent {

// The name of the batch-size variable (Graph::batch_size), reserved in configs.
inline constexpr std::string_view kBatchSizeName = "batch_size";

using NodeId = std::uint32_t;
inline constexpr NodeId kNoNode = std::numeric_limits<NodeId>::max();
static_assert(kNoNode == InternTable::kAbsent);

enum class VarKind : std::uint8_t {
  free,         // a variable of `descent derive EXPR`
  input,        // a per-sample data input (varies along the implicit batch axis)
  param,        // a trained parameter, shared by all samples
  start_param,  // minimize mode: a parameter with its own copy per start (varies like an input)
  batch_size,   // the number of samples in the current batch (a scalar)
  constant,     // a tensor of [constants]: the same for every sample, never trained (no
                // gradient is asked of it); a backend binds its values once. A scalar constant
                // is no variable: it is lowered to a number (Graph::constant).
};

// A variable's name as its node holds it: the address of the graph's one copy of the name (the
// key of Graph's variable table, which never moves), 8 bytes where a std::string takes 32; empty
// for every other node. It reads as a const std::string (str(), or the conversion).
class NodeName {
 public:
  NodeName() = default;
  explicit NodeName(const std::string* name) : name_(name) {}
  const std::string& str() const { return name_ != nullptr ? *name_ : kEmpty; }
  operator const std::string&() const { return str(); }  // NOLINT(google-explicit-constructor)
  operator std::string_view() const { return str(); }    // NOLINT(google-explicit-constructor)
  bool empty() const { return str().empty(); }
  std::size_t size() const { return str().size(); }
  std::string::const_iterator begin() const { return str().begin(); }
  std::string::const_iterator end() const { return str().end(); }
  friend bool operator==(const NodeName& a, const NodeName& b) { return a.str() == b.str(); }
  friend bool operator==(const NodeName& a, std::string_view b) { return a.str() == b; }
  friend bool operator==(const NodeName& a, const std::string& b) { return a.str() == b; }
  friend bool operator==(const NodeName& a, const char* b) { return a.str() == b; }
  friend std::string operator+(const std::string& a, const NodeName& b) { return a + b.str(); }
  friend std::string operator+(const char* a, const NodeName& b) { return a + b.str(); }
  friend std::string operator+(const NodeName& a, const std::string& b) { return a.str() + b; }
  friend std::string operator+(const NodeName& a, const char* b) { return a.str() + b; }
  friend std::ostream& operator<<(std::ostream& out, const NodeName& n) { return out << n.str(); }

 private:
  inline static const std::string kEmpty;
  const std::string* name_ = nullptr;
};

// What makes a node what it is, 56 bytes: every node is written once when it is built, and a
// large graph's nodes are most of its memory. What few nodes have lives beside them in the graph,
// reached through `extra`: the source span (lowered nodes) and the attribute (slice, pad,
// onehot, sum_to); read them with Graph::span and Graph::attr.
struct Node {
  Op op = Op::constant;
  std::uint8_t arity = 0;
  bool varying = false;  // depends on per-sample data (has the implicit batch axis)
  VarKind var_kind = VarKind::free;
  NodeId child[2] = {kNoNode, kNoNode};
  std::uint32_t extra = kNoExtra;  // the graph's record of this node's span and attribute
  double value = 0.0;              // Op::constant
  Shape shape;
  NodeName name;  // Op::variable

  static constexpr std::uint32_t kNoExtra = 0xffffffffu;
  NodeId operator[](int i) const { return child[i]; }
};
static_assert(sizeof(Node) <= 56, "a node is written once for every node a graph builds");
static_assert(std::is_trivially_copyable_v<Node>, "a node is copied into its slot as bytes");

// The fields of a node that traversals and rewrites read most, 12 bytes, kept beside the nodes
// in an array of their own: a pass over a large graph reads four of them a cache line instead
// of one node (56 bytes). A constant has no children: its head keeps its value
// there instead, so that rules reading numbers (coefficients, exponents) need not read the node.
struct NodeHead {
  static constexpr std::uint8_t kVarying = 1;      // Node::varying
  static constexpr std::uint8_t kPlainScalar = 2;  // the shape is exactly Shape::scalar()
  static constexpr std::uint8_t kHasSpan = 4;      // Node::span is valid
  // The graph's own bookkeeping (Graph::find_op): more than one node has this node as its
  // newest (largest id) child.
  static constexpr std::uint8_t kManyParents = 8;

  Op op = Op::constant;
  std::uint8_t arity = 0;
  std::uint8_t rank = 0;  // of the node's shape (0: a scalar)
  std::uint8_t flags = 0;
  NodeId child[2] = {kNoNode, kNoNode};  // Op::constant: the bits of Node::value (see value())

  bool varying() const { return (flags & kVarying) != 0; }
  bool plain_scalar() const { return (flags & kPlainScalar) != 0; }
  bool has_span() const { return (flags & kHasSpan) != 0; }
  // Node::value of a constant; meaningless for any other op.
  double value() const { return std::bit_cast<double>(std::array<NodeId, 2>{child[0], child[1]}); }
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
  // Where the user wrote the node (its first occurrence), or an invalid span.
  const Span& span(const Node& node) const {
    return node.extra == Node::kNoExtra ? kNoSpan : extras_[node.extra].span;
  }
  const Span& span(NodeId id) const { return span(at(id)); }
  // The node's attribute: Op::sum_to's target shape, Op::onehot's (k), a slice's or pad's
  // window (window.hpp); a constant's or variable's shape; the default Shape for other ops.
  Shape attr(const Node& node) const {
    if (node.op == Op::constant || node.op == Op::variable) return node.shape;
    return node.extra == Node::kNoExtra ? Shape{} : extras_[node.extra].attr;
  }
  Shape attr(NodeId id) const { return attr(at(id)); }
  std::size_t size() const { return nodes_.size(); }
  // A copy of the node's head (see NodeHead).
  NodeHead head(NodeId id) const { return heads_[id].head; }
  // Asks the cache for the node's head (and its recent parent, which apply reads) ahead of a
  // read: a hint for passes that know which nodes they will read next; it changes nothing.
  void prefetch_head(NodeId id) const {
#if defined(__GNUC__)
    __builtin_prefetch(&heads_[id]);
#else
    (void)id;
#endif
  }

  // Convenience builders used by derivative rules and rewrites.
  NodeId add(NodeId a, NodeId b) { return apply(Op::add, a, b); }
  NodeId sub(NodeId a, NodeId b) { return apply(Op::sub, a, b); }
  NodeId mul(NodeId a, NodeId b) { return apply(Op::mul, a, b); }
  NodeId div(NodeId a, NodeId b) { return apply(Op::div, a, b); }
  NodeId neg(NodeId a) { return apply(Op::neg, a); }
  NodeId pow(NodeId a, NodeId b) { return apply(Op::pow, a, b); }
  NodeId num(double v) { return constant(v); }

  bool is_constant(NodeId id) const { return heads_[id].head.op == Op::constant; }
  bool is_constant(NodeId id, double v) const {
    const NodeHead& h = heads_[id].head;
    return h.op == Op::constant && h.value() == v;
  }
  // node(id).value for a constant, read from its head (see NodeHead).
  double value(NodeId id) const { return heads_[id].head.value(); }
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
  // The number of samples in the current batch: the scalar variable of kind batch_size, named
  // kBatchSizeName (a name configs may not use). batch_size() declares it on first use;
  // find_batch_size() is kNoNode in a graph that has none (a `descent derive EXPR` graph).
  NodeId batch_size() { return variable(kBatchSizeName, VarKind::batch_size); }
  NodeId find_batch_size() const { return find_variable(kBatchSizeName); }

 private:
  const Node& at(NodeId id) const { return nodes_[id]; }

  static InternKey key_of(const Node& node, const Shape& attr);
  static InternKey op_key(Op op, NodeId a, NodeId b);
  // The id of the node with this key, or kNoNode; `node` and `attr` (read only for a long key)
  // are the fields of the node looked for.
  NodeId find(const InternKey& key, const Node* node, const Shape& attr = {}) const;
  // find() for the short key of an op without attribute, asking the newest child's
  // recent_parent first (see HeadSlot).
  NodeId find_op(const InternKey& key, Op op, NodeId a, NodeId b);
  // Returns the id of the node with `node`'s key (with attribute `attr`), creating it (with
  // `span`) when there is none.
  NodeId intern(const Node& node, const Shape& attr, const Span& span);
  // apply()'s interning: finds the op node by its short key, or works out its shape (checking
  // it) and appends it.
  NodeId apply_interned(Op op, std::uint8_t arity, NodeId a, NodeId b, const Shape& attr,
                        const Span& span);
  // A new node (default fields) for a key that find() did not find, entered in the index when
  // `indexed` (see HeadSlot); the caller fills in its fields, then calls added(node, attr,
  // span), which keeps the span and attribute beside it.
  Node& append(const InternKey& key, bool indexed = true);
  NodeId added(Node& node, const Shape& attr, const Span& span);

  // A node's head beside the parent that was last built or found over it as its newest (largest
  // id) child: a hint, checked against the parent's head before it is used, that answers most
  // lookups of existing op nodes without the index. Rewrites rebuild nodes that exist already
  // (a chain rebuilt in the same order), and in a large graph each index lookup is a cache miss
  // while the child's slot was read a moment before. The hint only ever names a node with
  // exactly the key looked up, so it changes no id; a child without one has no such parent,
  // which answers a lookup of a new node over a new child (most of what derive builds), and a
  // child with one such parent only (no kManyParents in its head) has no other: a lookup that
  // the hint does not answer is answered then without the index too. So the index need not
  // hold such a parent while it is its child's only one: an op node without attribute is
  // entered in the index when it is built over a child that has a parent already, or when its
  // newest child gains a second parent (added()). Most nodes are never entered (3 in 5 of the
  // nodes that derive_bench's families build at 100k), and the index stays that much smaller.
  struct HeadSlot {
    NodeHead head;
    NodeId recent_parent = kNoNode;
  };
  SegmentedStore<Node> nodes_;  // never moved (see node_store.hpp)
  // By id; on huge pages when large (large_buffer.hpp): children's heads are read at random.
  std::vector<HeadSlot, HugePageAllocator<HeadSlot>> heads_;
  InternTable index_;  // key → id (see intern_table.hpp)
  // The spans and attributes of the nodes that have one (Node::extra).
  struct NodeExtra {
    Span span;
    Shape attr;
  };
  std::vector<NodeExtra> extras_;
  inline static const Span kNoSpan{};

  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view name) const {
      return std::hash<std::string_view>{}(name);
    }
  };
  std::unordered_map<std::string, NodeId, NameHash, std::equal_to<>> variables_;
};

}  // namespace descent
