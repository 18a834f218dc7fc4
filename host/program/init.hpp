// Parameter initialization from a ParamSpec (zeros, constant, uniform, normal, xavier, he,
// literal), deterministic for a seed. In minimize mode every start draws its own copy.
#pragma once

#include <vector>

#include "common/random.hpp"
#include "config/experiment.hpp"
#include "program/program.hpp"

namespace descent {

// `copies` values of spec.shape back to back, drawn from `rng` in order.
std::vector<double> initialize_param(const ParamSpec& spec, std::int64_t copies, Rng& rng);

// Every parameter of `program` as a run starts: drawn in Program order from one Rng seeded with
// train.seed; in minimize mode one copy per start.
std::vector<std::vector<double>> initial_values(const ExperimentConfig& config,
                                                const Program& program);

}  // namespace descent
