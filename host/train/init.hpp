// Parameter initialization from a ParamSpec (zeros, constant, uniform, normal, xavier, he,
// literal), deterministic for a seed. In minimize mode every start draws its own copy.
#pragma once

#include <vector>

#include "common/random.hpp"
#include "config/experiment.hpp"

namespace descent {

// `copies` values of spec.shape back to back, drawn from `rng` in order.
std::vector<double> initialize_param(const ParamSpec& spec, std::int64_t copies, Rng& rng);

}  // namespace descent
