// The Interpreter, the oracle (DESIGN §5): interprets graph nodes in double precision over a
// whole batch, in node order (one kernel call per node, not per scalar), with std:: math (the
// kernels' reference math; see kernels.cpp). It serves `descent derive --at`, the tests and
// `descent check`, and names the node where a step went non-finite. The CPU backend runs the
// same kernels chunk by chunk (host/cpu/cpu_backend.cpp): with CpuMath::reference its values are
// the Interpreter's bit for bit; with its default CpuMath::fast they are within vector_math's
// error bounds.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "cpu/kernels.hpp"
#include "cpu/tensor.hpp"
#include "graph/graph.hpp"

namespace descent {

class Interpreter {
 public:
  // Plans the evaluation of everything `outputs` need.
  Interpreter(const Graph& graph, std::vector<NodeId> outputs);

  // Binds a variable. Inputs (VarKind::input) carry a batch; the others are uniform.
  void set(NodeId variable, Tensor value);
  // Evaluates every planned node. The batch size comes from the bound inputs.
  void run();
  const Tensor& value(NodeId id) const;
  const std::vector<NodeId>& order() const { return order_; }

 private:
  const Graph& graph_;
  std::vector<NodeId> outputs_;
  std::vector<NodeId> order_;
  std::unordered_map<NodeId, Tensor> values_;
};

// Scalar convenience for `descent derive --at`: every variable bound to a number by name.
double evaluate_scalar(const Graph& graph, NodeId id,
                       const std::unordered_map<std::string, double>& values);

}  // namespace descent
