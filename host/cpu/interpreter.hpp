// The plain CPU evaluator: interprets graph nodes in double precision over a whole batch, in
// node order (one kernel call per node, not per scalar); see kernels.cpp for the math. It
// serves `descent derive --at`, the tests, and naming the node where a step went non-finite.
// Training runs the same kernels chunk by chunk (host/cpu/cpu_backend.cpp), bit-identically.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

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

// Evaluates one node from its children's values (the CPU column of the op table).
void evaluate_node(const Graph& graph, NodeId id, const std::vector<const Tensor*>& inputs,
                   Tensor& out);

// Scalar convenience for `descent derive --at`: every variable bound to a number by name.
double evaluate_scalar(const Graph& graph, NodeId id,
                       const std::unordered_map<std::string, double>& values);

}  // namespace descent
