// Projection into a parameter's bounds (see bounds.hpp).
#include "program/bounds.hpp"

#include <algorithm>

#include "optim/update_rules.hpp"

namespace descent {

void project_into_bounds(const ParamSpec& spec, std::span<double> values) {
  if (!spec.bounds.present) return;
  const auto size = static_cast<std::size_t>(spec.shape.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto element = static_cast<std::int64_t>(i % size);
    values[i] = project_into(values[i], spec.lower_bound(element), spec.upper_bound(element));
  }
}

bool has_bounds(const Program& program) {
  return std::any_of(program.params.begin(), program.params.end(),
                     [](const ProgramParam& p) { return p.spec->bounds.present; });
}

}  // namespace descent
