// Program nodes through the Interpreter (see evaluate.hpp).
#include "cpu/evaluate.hpp"

#include <algorithm>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"

namespace descent {

std::vector<Tensor> evaluate_program_nodes(const Program& program,
                                           const std::vector<std::vector<double>>& params,
                                           const std::vector<NamedRows>& inputs,
                                           const std::vector<NodeId>& outputs) {
  const Graph& g = program.graph;
  Interpreter interpreter(g, outputs);
  bind_constants(program, interpreter);
  for (NodeId v : g.variables_of(outputs)) {
    const Node& n = g[v];
    if (n.var_kind == VarKind::batch_size) continue;  // the Interpreter binds it
    if (n.var_kind == VarKind::constant) continue;    // bound above
    if (n.var_kind == VarKind::input) {
      const NamedRows* found = nullptr;
      for (const NamedRows& in : inputs)
        if (in.name == n.name) found = &in;
      if (found == nullptr)
        throw Error(ExitCode::failure, "internal: no rows given for the input '" + n.name + "'");
      interpreter.set(v, found->rows);
      continue;
    }
    bool bound = false;
    for (std::size_t i = 0; i < program.params.size() && !bound; ++i) {
      const ProgramParam& p = program.params[i];
      if (p.name != n.name) continue;
      interpreter.set(v, Tensor{p.shape, program.minimize ? program.starts : 0, params.at(i)});
      bound = true;
    }
    if (!bound)
      throw Error(ExitCode::failure, "internal: no value for the variable '" + n.name + "'");
  }
  interpreter.run();
  std::vector<Tensor> values;
  for (NodeId id : outputs) values.push_back(interpreter.value(id));
  return values;
}

std::vector<double> metric_means(const Program& program, const std::vector<ParamState>& params,
                                 const SplitRows& split, const BatchRows& batch,
                                 const std::vector<std::int64_t>& order) {
  const Graph& g = program.graph;
  std::vector<NodeId> outputs;
  for (const ProgramMetric& m : program.metrics) outputs.push_back(m.node);
  std::vector<double> sums(outputs.size(), 0.0);
  if (outputs.empty() || batch.rows == 0) return sums;
  // The Interpreter keeps every node's values for all the rows it runs: a chunk of rows holds
  // about kChunkBytes however wide the inputs and the model are (a metric of one row does not
  // depend on the other rows, so the chunks change no value).
  constexpr std::int64_t kChunkBytes = std::int64_t{4} << 20;
  std::int64_t values_per_row = 0;
  for (NodeId id : g.reachable(outputs)) values_per_row += g[id].shape.size();
  const std::int64_t rows_per_chunk =
      std::clamp<std::int64_t>(kChunkBytes / static_cast<std::int64_t>(sizeof(double)) /
                                   std::max<std::int64_t>(values_per_row, 1),
                               1, 8192);
  const std::vector<NodeId> reached = g.variables_of(outputs);
  const auto reaches = [&](NodeId v) {
    return v != kNoNode && std::find(reached.begin(), reached.end(), v) != reached.end();
  };
  for (std::int64_t first = 0; first < batch.rows; first += rows_per_chunk) {
    const std::int64_t count = std::min(rows_per_chunk, batch.rows - first);
    Interpreter interpreter(g, outputs);
    for (std::size_t k = 0; k < program.inputs.size(); ++k) {
      const ProgramInput& in = program.inputs[k];
      const NodeId v = g.find_variable(in.name);  // the step may not use an input a metric does
      if (!reaches(v)) continue;
      const std::int64_t size = in.shape.size();
      std::vector<double> rows;
      rows.reserve(static_cast<std::size_t>(count * size));
      for (std::int64_t r = first; r < first + count; ++r) {
        const double* row = split.row(k, batch.row(r, order), size);
        rows.insert(rows.end(), row, row + size);
      }
      interpreter.set(v, Tensor{in.shape, count, std::move(rows)});
    }
    for (std::size_t i = 0; i < program.params.size(); ++i) {
      const ProgramParam& p = program.params[i];
      if (reaches(p.node)) interpreter.set(p.node, Tensor{p.shape, 0, params[i].value});
    }
    bind_constants(program, interpreter);
    interpreter.run();
    for (std::size_t m = 0; m < outputs.size(); ++m) {
      const Tensor& values = interpreter.value(outputs[m]);
      for (std::int64_t r = 0; r < count; ++r)
        sums[m] += *(values.batch > 0 ? values.sample(r) : values.values());
    }
  }
  for (double& s : sums) s /= static_cast<double>(batch.rows);
  return sums;
}

void bind_constants(const Program& program, Interpreter& interpreter) {
  const Graph& g = program.graph;
  for (const ProgramConstant& c : program.constants) {
    // By name: an expression lowered after the Program was built (descent predict's model
    // expression) may use a constant that the cost does not.
    const NodeId node = c.node != kNoNode ? c.node : g.find_variable(c.name);
    if (node != kNoNode) interpreter.set(node, Tensor{c.shape, 0, c.values()});
  }
}

std::vector<double> start_costs(const Program& program,
                                const std::vector<std::vector<double>>& params) {
  // A chunk of starts at a time: the Interpreter keeps every node's values for all it runs.
  constexpr std::int64_t kStartsPerChunk = 8192;
  std::vector<NodeId> outputs{program.loss};
  outputs.insert(outputs.end(), program.penalties.begin(), program.penalties.end());
  const Graph& g = program.graph;
  std::vector<double> costs;
  costs.reserve(static_cast<std::size_t>(program.starts));
  for (std::int64_t first = 0; first < program.starts; first += kStartsPerChunk) {
    const std::int64_t count = std::min(kStartsPerChunk, program.starts - first);
    Interpreter interpreter(g, outputs);
    bind_constants(program, interpreter);
    for (std::size_t i = 0; i < program.params.size(); ++i) {
      const ProgramParam& p = program.params[i];
      const auto begin = params.at(i).begin() + first * p.shape.size();
      interpreter.set(p.node, Tensor{p.shape, count, {begin, begin + count * p.shape.size()}});
    }
    interpreter.run();
    for (std::int64_t s = 0; s < count; ++s) {
      // As the Program sums them: loss + ((p1 + p2) + p3 ...).
      const double loss = *interpreter.value(outputs[0]).sample(s);
      if (outputs.size() == 1) {
        costs.push_back(loss);
        continue;
      }
      double penalty = *interpreter.value(outputs[1]).sample(s);
      for (std::size_t k = 2; k < outputs.size(); ++k)
        penalty += *interpreter.value(outputs[k]).sample(s);
      costs.push_back(loss + penalty);
    }
  }
  return costs;
}

}  // namespace descent
