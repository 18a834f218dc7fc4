// A Program's nodes evaluated at given parameter values on given rows, by the Interpreter (the
// f64 oracle): what a finished run reports about itself (minimize mode's cost of every start)
// and what a trained run computes on new rows (descent predict, descent eval).
//
// Does not: train, read files, or standardize rows (the caller hands them ready).
#pragma once

#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "cpu/interpreter.hpp"
#include "cpu/tensor.hpp"
#include "program/program.hpp"

namespace descent {

// The rows of one input, by name: a batched Tensor of the input's shape.
struct NamedRows {
  std::string name;
  Tensor rows;
};

// The values of `outputs`. `params` are in Program order (minimize mode: every start's copy
// back to back); `inputs` must hold every input variable that `outputs` reach (an input that
// they do not reach may be missing). A batched output has one value per row (minimize mode:
// per start).
std::vector<Tensor> evaluate_program_nodes(const Program& program,
                                           const std::vector<std::vector<double>>& params,
                                           const std::vector<NamedRows>& inputs,
                                           const std::vector<NodeId>& outputs);

// The mean of every [metrics] expression (Program::metrics) over the rows `batch` selects from
// `split` (through `order` when shuffled), at `params`: each metric's values summed in row
// order and divided by the row count, the Interpreter taking a chunk of rows (about 4 MiB of
// node values, at most 8192 rows) at a time.
std::vector<double> metric_means(const Program& program, const std::vector<ParamState>& params,
                                 const SplitRows& split, const BatchRows& batch,
                                 const std::vector<std::int64_t>& order);

// Binds the tensor constants of `program` (ProgramConstant) that its graph uses to their values,
// the same for every sample.
void bind_constants(const Program& program, Interpreter& interpreter);

// Minimize mode: the cost of every start at `params`, its loss plus its penalties (the
// per-start objective whose mean over starts is the reported loss).
std::vector<double> start_costs(const Program& program,
                                const std::vector<std::vector<double>>& params);

}  // namespace descent
