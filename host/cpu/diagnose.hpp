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
// are (order is the epoch order when batch.shuffled); `f32`: the step ran in f32, whose range
// ends where f64's goes on, so the first node whose f64 value is beyond f32's largest finite
// value is the one that overflowed there. Returns e.g.
// "cfg.toml:12:9: the first non-finite value is in 'log(w - 10)'", and for an f32 overflow
// "cfg.toml:13:9: the first non-finite value is in '(p - y)^2' (in f32: its value, 4.1e+39 in
// f64, is beyond f32's largest, 3.4e+38)". Throws what the Interpreter throws on the batch (an
// input error: a onehot class index out of range, which the GPU's kernels turn into NaN).
std::string describe_first_non_finite(const Program& program, const std::vector<ParamState>& params,
                                      const SplitRows& split, const BatchRows& batch,
                                      const std::vector<std::int64_t>& order, bool f32);

}  // namespace descent
