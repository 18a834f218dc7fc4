// Initializers. For a matrix (rows, cols) used as W @ x, fan_in = cols and fan_out = rows;
// a vector of n has fan_in = n, fan_out = 1; a scalar has both 1.
//   xavier (Glorot uniform): U(-a, a), a = sqrt(6 / (fan_in + fan_out))
//   he (Kaiming normal):     N(0, 2 / fan_in)
#include "train/init.hpp"

#include <cmath>

#include "common/error.hpp"

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
      if (spec.init == "zeros") {
        v = 0.0;
      } else if (spec.init == "constant") {
        v = spec.value;
      } else if (spec.init == "uniform") {
        v = rng.uniform(spec.low, spec.high);
      } else if (spec.init == "normal") {
        v = spec.mean + spec.std * rng.normal();
      } else if (spec.init == "xavier") {
        const double a = std::sqrt(6.0 / (fan_in + fan_out));
        v = rng.uniform(-a, a);
      } else if (spec.init == "he") {
        v = std::sqrt(2.0 / fan_in) * rng.normal();
      } else if (spec.init == "literal") {
        v = spec.literal.at(static_cast<std::size_t>(i));
      } else {
        throw input_error("unknown initializer '" + spec.init + "'", spec.where);
      }
      values.push_back(v);
    }
  }
  return values;
}

}  // namespace descent
