// The first non-finite node of a step (see diagnose.hpp).
#include "cpu/diagnose.hpp"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "cpu/evaluate.hpp"
#include "cpu/interpreter.hpp"
#include "graph/printer.hpp"

namespace descent {

namespace {

// The first value of `t` that is not finite, or beyond `largest` in magnitude; `t`'s size when
// there is none.
std::size_t first_out_of_range(const Tensor& t, double largest) {
  const auto values = t.all();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!(std::fabs(values[i]) <= largest)) return i;
  return values.size();
}

// The config position of a node, or of its first child that has one.
std::string where_of(const Graph& g, NodeId id) {
  for (NodeId k = id; k != kNoNode; k = g[k].arity > 0 ? g[k][0] : kNoNode)
    if (g.span(k).valid()) return g.span(k).where() + ": ";
  return "";
}

}  // namespace

std::string describe_first_non_finite(const Program& program, const std::vector<ParamState>& params,
                                      const SplitRows& split, const BatchRows& batch,
                                      const std::vector<std::int64_t>& order, bool f32) {
  std::vector<NodeId> outputs = program.step_outputs();
  outputs.push_back(program.objective);
  Interpreter reference(program.graph, outputs);
  bind_constants(program, reference);
  for (std::size_t k = 0; k < program.inputs.size(); ++k) {
    const ProgramInput& in = program.inputs[k];
    if (in.node == kNoNode) continue;
    const std::int64_t size = in.shape.size();
    std::vector<double> rows;
    rows.reserve(static_cast<std::size_t>(batch.rows * size));
    for (std::int64_t r = 0; r < batch.rows; ++r) {
      const double* row = split.row(k, batch.row(r, order), size);
      rows.insert(rows.end(), row, row + size);
    }
    reference.set(in.node, Tensor{in.shape, batch.rows, std::move(rows)});
  }
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    reference.set(p.node, Tensor{p.shape, program.minimize ? program.starts : 0, params[i].value});
  }
  reference.run();
  const Graph& g = program.graph;
  const double largest = f32 ? static_cast<double>(std::numeric_limits<float>::max())
                             : std::numeric_limits<double>::max();
  for (NodeId id : reference.order()) {
    const Tensor& value = reference.value(id);
    const std::size_t at = first_out_of_range(value, largest);
    if (at == value.all().size()) continue;
    const double v = value.all()[at];
    std::string text =
        where_of(g, id) + "the first non-finite value is in '" + print_expression(g, id) + "'";
    if (std::isfinite(v))
      text += fmt::format(" (in f32: its value, {:.3g} in f64, is beyond f32's largest, {:.3g})", v,
                          largest);
    return text;
  }
  return f32 ? "a non-finite value appeared in f32; in f64 every value of that step is finite"
             : "a non-finite value appeared";
}

}  // namespace descent
