// Portable draws over std::mt19937_64 (see random.hpp).
#include "common/random.hpp"

#include <cmath>
#include <numbers>
#include <sstream>

#include "common/error.hpp"

namespace descent {

double Rng::normal() {
  // 1 - u is in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::string Rng::save() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Rng::restore(const std::string& state) {
  std::istringstream in(state);
  in >> engine_;
  if (!in) throw Error(ExitCode::io_error, "the checkpoint's random-number state is damaged");
}

}  // namespace descent
