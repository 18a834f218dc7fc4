// Bounded parameters (ParamSpec::bounds, `bounds = [low, high]` in the config): the projection
// of projected gradient descent on the host, for the CPU backend's update and for the initial
// values drawn by a random init. The emitted update projects with the same function
// (optim/update_rules.hpp, project_into) from bounds packed like the parameters.
//
// Does not: read bounds (host/config/load_bounds.cpp) or update parameters (optim/).
#pragma once

#include <span>

#include "config/experiment.hpp"
#include "program/program.hpp"

namespace descent {

// Projects `values`, copies of the parameter `spec` back to back (minimize mode: one a start),
// into its box element by element. Does nothing for a parameter without bounds.
void project_into_bounds(const ParamSpec& spec, std::span<double> values);

// Whether some parameter of `program` has bounds.
bool has_bounds(const Program& program);

}  // namespace descent
