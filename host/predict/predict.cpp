// Prediction and evaluation on new rows (see predict.hpp).
#include "predict/predict.hpp"

#include <algorithm>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "cpu/evaluate.hpp"
#include "data/npy.hpp"
#include "predict/new_rows.hpp"

namespace descent {

namespace {

// Rows evaluated at once: the Interpreter keeps every node's values for the rows it runs, so a
// large file is evaluated a chunk at a time.
constexpr std::int64_t kRowsPerChunk = 8192;

// Rows [first, first + count) of every input, as views of their memory.
std::vector<NamedRows> chunk_of(const NewRows& rows, std::int64_t first, std::int64_t count) {
  std::vector<NamedRows> chunk;
  for (const NamedRows& in : rows.inputs) {
    Tensor view{in.rows.shape, count, {}};
    view.view = in.rows.values() + first * in.rows.shape.size();
    chunk.push_back({in.name, std::move(view)});
  }
  return chunk;
}

// The names of the inputs that `node` reaches.
std::vector<std::string> inputs_of(const Graph& g, NodeId node) {
  std::vector<std::string> names;
  for (NodeId v : g.variables_of({node}))
    if (g[v].var_kind == VarKind::input) names.push_back(g[v].name);
  return names;
}

}  // namespace

Prediction predict_rows(TrainedRun& run, const std::vector<std::string>& sources,
                        const std::string& model) {
  if (run.config.model.empty())
    throw input_error("the run's config has no [model] expression to predict with");
  Prediction out;
  out.model = model.empty() ? run.config.model.back().name : model;
  const NodeId node = lower_model_expression(run.config, run.program, out.model);
  const std::vector<std::string> needed = inputs_of(run.program.graph, node);
  const NewRows rows =
      read_new_rows(run, sources, needed, "the model expression '" + out.model + "'");
  // A value that uses no input is the same for every row: one row.
  out.rows = needed.empty() ? 1 : rows.rows;
  out.shape = run.program.graph[node].shape;
  out.values.reserve(static_cast<std::size_t>(out.rows * out.shape.size()));
  for (std::int64_t first = 0; first < out.rows; first += kRowsPerChunk) {
    const std::int64_t count = std::min(kRowsPerChunk, out.rows - first);
    const std::vector<Tensor> values =
        evaluate_program_nodes(run.program, run.params, chunk_of(rows, first, count), {node});
    const double* begin = values.at(0).values();
    out.values.insert(out.values.end(), begin, begin + count * out.shape.size());
  }
  return out;
}

// As the Program computes its reported loss, batch_mean(loss) + ((p1 + p2) + ...): the per-row
// losses summed in row order and divided by the row count, then the penalties added.
CostOnRows evaluate_cost(TrainedRun& run, const std::vector<std::string>& sources) {
  const Program& program = run.program;
  const NewRows rows =
      read_new_rows(run, sources, inputs_of(program.graph, program.reported), "the cost");
  CostOnRows out;
  out.rows = rows.rows;
  double sum = 0.0;
  for (std::int64_t first = 0; first < rows.rows; first += kRowsPerChunk) {
    const std::int64_t count = std::min(kRowsPerChunk, rows.rows - first);
    const std::vector<Tensor> loss =
        evaluate_program_nodes(program, run.params, chunk_of(rows, first, count), {program.loss});
    for (std::int64_t r = 0; r < count; ++r) sum += *loss.at(0).sample(r);
  }
  out.cost = sum / static_cast<double>(rows.rows);
  if (!program.penalties.empty()) {
    const std::vector<Tensor> penalties =
        evaluate_program_nodes(program, run.params, {}, program.penalties);
    double total = penalties[0].values()[0];
    for (std::size_t k = 1; k < penalties.size(); ++k) total += penalties[k].values()[0];
    out.cost += total;
  }
  return out;
}

std::string prediction_csv(const Prediction& prediction) {
  const Shape& shape = prediction.shape;
  std::string out;
  if (shape.rank == 0) out += prediction.model;
  for (std::int64_t i = 0; shape.rank > 0 && i < shape.size(); ++i) {
    out += i == 0 ? "" : ",";
    out += prediction.model + "[" + std::to_string(shape.rank == 1 ? i : i / shape.cols()) + "]";
    if (shape.rank == 2) out += "[" + std::to_string(i % shape.cols()) + "]";
  }
  out += '\n';
  const auto size = static_cast<std::size_t>(shape.size());
  for (std::size_t k = 0; k < prediction.values.size(); ++k) {
    out += format_shortest(prediction.values[k]);
    out += (k + 1) % size == 0 ? '\n' : ',';
  }
  return out;
}

void write_prediction(const Prediction& prediction, const std::string& path) {
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".npy") == 0) {
    std::vector<std::size_t> shape{static_cast<std::size_t>(prediction.rows)};
    for (int a = 0; a < prediction.shape.rank; ++a)
      shape.push_back(static_cast<std::size_t>(prediction.shape.dims[a]));
    write_npy(path, shape, prediction.values);
    return;
  }
  write_file_atomically(path, prediction_csv(prediction));
}

}  // namespace descent
