// Naming where a step went non-finite (DESIGN §5: the trainer, not a backend, names the node):
// the Interpreter evaluates the step's outputs on the batch, and the first node in evaluation
// order holding a non-finite value is reported with its expression and its place in the config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "program/program.hpp"

namespace descent {

// `params`: the values the failed step started from; `split` and `order`: where the batch's rows
// are (order is the epoch order when batch.shuffled). Returns e.g.
// "cfg.toml:12:9: the first non-finite value is in 'log(w - 10)'".
std::string describe_first_non_finite(const Program& program, const std::vector<ParamState>& params,
                                      const SplitRows& split, const BatchRows& batch,
                                      const std::vector<std::int64_t>& order);

}  // namespace descent
