// Initializers; the settings of constant, uniform and normal are one number for every element
// or one per element (ParamSpec::each), and each start of minimize mode draws from the same
// per-element ranges. A bounded parameter's draws are projected into its box. For a matrix (rows,
// cols) used as W @ x, fan_in = cols and fan_out = rows; a vector of n has fan_in = n, fan_out = 1;
// a scalar has both 1.
//   xavier (Glorot uniform): U(-a, a), a = sqrt(6 / (fan_in + fan_out))
//   he (Kaiming normal):     N(0, 2 / fan_in)
#include "program/init.hpp"

#include <cmath>

#include "common/error.hpp"
#include "program/bounds.hpp"

namespace descent {

std::vector<double> initialize_param(const ParamSpec& spec, std::int64_t copies, Rng& rng) {
  const std::int64_t size = spec.shape.size();
  const double fan_in = static_cast<double>(spec.shape.rank == 0 ? 1 : spec.shape.cols());
  const double fan_out = static_cast<double>(spec.shape.rank == 2 ? spec.shape.rows() : 1);
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(size * copies));
  for (std::int64_t c = 0; c < copies; ++c) {
    for (std::int64_t i = 0; i < size; ++i) {
      double v = 0.0;
      switch (spec.init) {
        case InitKind::zeros:
          v = 0.0;
          break;
        case InitKind::constant:
          v = ParamSpec::element(spec.value, spec.each.value, i);
          break;
        case InitKind::uniform:
          v = rng.uniform(ParamSpec::element(spec.low, spec.each.low, i),
                          ParamSpec::element(spec.high, spec.each.high, i));
          break;
        case InitKind::normal:
          v = ParamSpec::element(spec.mean, spec.each.mean, i) +
              ParamSpec::element(spec.std, spec.each.std, i) * rng.normal();
          break;
        case InitKind::xavier: {
          const double a = std::sqrt(6.0 / (fan_in + fan_out));
          v = rng.uniform(-a, a);
          break;
        }
        case InitKind::he:
          v = std::sqrt(2.0 / fan_in) * rng.normal();
          break;
        case InitKind::literal:
          v = spec.literal.at(static_cast<std::size_t>(i));
          break;
      }
      values.push_back(v);
    }
  }
  // A random draw may fall outside the parameter's bounds: it starts at the nearest point of
  // the box. (Inits known in advance, zeros and constant, the config requires inside it.)
  project_into_bounds(spec, values);
  return values;
}

std::vector<std::vector<double>> initial_values(const ExperimentConfig& config,
                                                const Program& program) {
  Rng rng(config.train.seed);
  const std::int64_t copies = program.minimize ? program.starts : 1;
  std::vector<std::vector<double>> values;
  for (const ProgramParam& p : program.params)
    values.push_back(initialize_param(*p.spec, copies, rng));
  return values;
}

}  // namespace descent
