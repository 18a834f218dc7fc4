// Planning and running the CPU interpreter over a graph.
#include "cpu/interpreter.hpp"

#include "common/error.hpp"

namespace descent {

Interpreter::Interpreter(const Graph& graph, std::vector<NodeId> outputs)
    : graph_(graph), outputs_(std::move(outputs)), order_(graph.reachable(outputs_)) {}

void Interpreter::set(NodeId variable, Tensor value) { values_[variable] = std::move(value); }

void Interpreter::run() {
  std::int64_t batch = 0;
  for (NodeId id : order_) {
    const Node& n = graph_[id];
    if (n.op == Op::variable &&
        (n.var_kind == VarKind::input || n.var_kind == VarKind::start_param)) {
      auto it = values_.find(id);
      if (it != values_.end()) batch = std::max(batch, it->second.batch);
    }
  }
  std::vector<const Tensor*> inputs;
  for (NodeId id : order_) {
    const Node& n = graph_[id];
    if (n.op == Op::variable) {
      if (n.var_kind == VarKind::batch_size) {
        values_[id] = Tensor::scalar(static_cast<double>(std::max<std::int64_t>(batch, 1)));
        continue;
      }
      auto it = values_.find(id);
      if (it == values_.end())
        throw Error(ExitCode::failure, "internal: no value bound for '" + n.name + "'",
                    graph_.span(n));
      continue;
    }
    inputs.clear();
    for (int i = 0; i < n.arity; ++i) inputs.push_back(&values_.at(n[i]));
    evaluate_node(graph_, id, inputs, values_[id]);
  }
}

const Tensor& Interpreter::value(NodeId id) const { return values_.at(id); }

double evaluate_scalar(const Graph& graph, NodeId id,
                       const std::unordered_map<std::string, double>& values) {
  Interpreter interpreter(graph, {id});
  for (NodeId v : graph.variables_of({id})) {
    const Node& n = graph[v];
    if (n.var_kind == VarKind::batch_size) continue;
    auto it = values.find(n.name);
    if (it == values.end())
      throw input_error("no value given for variable '" + n.name + "' (add it to --at)");
    interpreter.set(v, Tensor::scalar(it->second));
  }
  interpreter.run();
  return interpreter.value(id).data[0];
}

}  // namespace descent
