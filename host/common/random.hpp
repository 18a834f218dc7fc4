// The one random-number generator of descent: std::mt19937_64 (whose output the C++ standard
// fixes) with our own uniform, normal and bounded-integer draws, because the standard library's
// distributions differ between implementations. Same seed, same numbers, on every machine;
// its state can be saved and restored exactly (checkpoints).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace descent {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  std::uint64_t next() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  // Standard normal by the Box-Muller transform (one value per call, no cached second value,
  // so the state alone determines the stream).
  double normal();
  // Uniform integer in [0, n), unbiased (rejection of the short tail).
  std::uint64_t below(std::uint64_t n);
  // Fisher-Yates shuffle of `items`.
  template <class T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }

  std::string save() const;
  void restore(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

}  // namespace descent
