// The emitter's spelling of single nodes (internal to host/codegen): where each node's value
// lives in the emitted code (a Place), how element e of it is written, and one statement group
// per node, as element loops over the threads of a block (tid, nthreads). In phase 2 the loops
// run with tid = 0 and nthreads = 1 (constants), i.e. as plain loops over a sample's values.
//
// Broadcasting inside a sample is index arithmetic with the strides of the CPU kernels
// (host/cpu/kernels.cpp): a dimension of 1 repeats.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "graph/graph.hpp"

namespace descent::codegen {

struct Place {
  // stored: a batched plan's per-row value (codegen/launch.hpp), element e of row r of the
  // batch at s.rowbuf[(offset + e) * rows + r].
  enum Kind {
    unused,
    literal,
    param,
    constant,
    input,
    batch_size,
    uniform,
    total,
    last,
    local,
    stored
  };
  Kind kind = unused;
  int index = 0;            // param or input number
  std::int64_t offset = 0;  // in U, T, L, the packed constants or parameters (fit mode); a slot
  bool per_sample = false;  // a parameter with one copy per start (minimize mode)
};

// A C++ literal of Real for `v` ("Real(0.5)"; inf and NaN as quotients).
std::string real_literal(double v);

class NodeWriter {
 public:
  NodeWriter(const Graph& graph, const std::vector<Place>& places) : g_(graph), places_(places) {}

  // Element `e` (a C++ expression for the flat index inside one sample) of node `id`.
  std::string ref(NodeId id, const std::string& e) const;

  // The local's declaration, for a node kept in a local (phase 2).
  void declare(std::ostream& o, NodeId id) const;

  // The statements that compute node `id` into its place.
  void write(std::ostream& o, NodeId id) const;

 private:
  // The index of `operand`'s element that broadcasts to element `e` of a `target`-shaped value.
  std::string operand_index(NodeId operand, const Shape& target, const std::string& e) const;
  void write_reduction(std::ostream& o, NodeId id) const;
  void write_product(std::ostream& o, NodeId id) const;
  void write_other(std::ostream& o, NodeId id) const;
  [[noreturn]] void refuse(NodeId id, const std::string& why) const;

  const Graph& g_;
  const std::vector<Place>& places_;
};

}  // namespace descent::codegen
