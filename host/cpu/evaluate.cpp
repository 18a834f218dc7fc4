// Program nodes through the Interpreter (see evaluate.hpp).
#include "cpu/evaluate.hpp"

#include "common/error.hpp"
#include "cpu/interpreter.hpp"

namespace descent {

std::vector<Tensor> evaluate_program_nodes(const Program& program,
                                           const std::vector<std::vector<double>>& params,
                                           const std::vector<NamedRows>& inputs,
                                           const std::vector<NodeId>& outputs) {
  const Graph& g = program.graph;
  Interpreter interpreter(g, outputs);
  for (NodeId v : g.variables_of(outputs)) {
    const Node& n = g[v];
    if (n.var_kind == VarKind::batch_size) continue;  // the Interpreter binds it
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

std::vector<double> start_costs(const Program& program,
                                const std::vector<std::vector<double>>& params) {
  std::vector<NodeId> outputs{program.loss};
  outputs.insert(outputs.end(), program.penalties.begin(), program.penalties.end());
  const std::vector<Tensor> values = evaluate_program_nodes(program, params, {}, outputs);
  std::vector<double> costs(static_cast<std::size_t>(program.starts));
  for (std::int64_t s = 0; s < program.starts; ++s) {
    // As the Program sums them: loss + ((p1 + p2) + p3 ...).
    double penalty = 0.0;
    for (std::size_t k = 1; k < values.size(); ++k)
      penalty = k == 1 ? *values[k].sample(s) : penalty + *values[k].sample(s);
    costs[static_cast<std::size_t>(s)] =
        values.size() > 1 ? *values[0].sample(s) + penalty : *values[0].sample(s);
  }
  return costs;
}

}  // namespace descent
