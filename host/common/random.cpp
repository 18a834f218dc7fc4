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

std::uint64_t Rng::below(std::uint64_t n) {
  if (n <= 1) return 0;
  // Reject draws in the incomplete last block of size (2^64 mod n).
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                              (std::numeric_limits<std::uint64_t>::max() % n + 1) % n;
  std::uint64_t x;
  do {
    x = engine_();
  } while (x > limit);
  return x % n;
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
