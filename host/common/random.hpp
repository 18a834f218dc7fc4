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
  // Uniform integer in [0, n), unbiased: the high half of the 128-bit product of a draw and n,
  // rejecting the draws whose low half falls below 2^64 mod n (Lemire's multiply-shift method:
  // a multiplication where the textbook method divides, and a division only in the rare case
  // that the low half falls below n, probability n/2^64).
  std::uint64_t below(std::uint64_t n) {
    __extension__ using Wide = unsigned __int128;  // GCC and Clang on 64-bit targets
    Wide product = static_cast<Wide>(engine_()) * n;
    if (static_cast<std::uint64_t>(product) < n) {
      const std::uint64_t threshold = (0 - n) % n;
      while (static_cast<std::uint64_t>(product) < threshold)
        product = static_cast<Wide>(engine_()) * n;
    }
    return static_cast<std::uint64_t>(product >> 64);
  }
  // Fisher-Yates shuffle of `items`: swap item i-1 with item below(i), for i = size down to 2.
  // The positions are drawn kAhead swaps early and their items requested from memory then, so
  // that a large vector's random accesses overlap instead of waiting one after another; the
  // draws and swaps are the textbook's, in its order.
  template <class T>
  void shuffle(std::vector<T>& items) {
    constexpr std::size_t kAhead = 16;
    std::size_t ahead[kAhead];
    const std::size_t n = items.size();
    for (std::size_t k = 0; k < kAhead && n > k + 1; ++k) {
      ahead[k] = below(n - k);
      __builtin_prefetch(&items[ahead[k]]);
    }
    for (std::size_t i = n, k = 0; i > 1; --i, k = (k + 1) % kAhead) {
      const std::size_t j = ahead[k];
      if (i > kAhead + 1) {
        ahead[k] = below(i - kAhead);
        __builtin_prefetch(&items[ahead[k]]);
      }
      std::swap(items[i - 1], items[j]);
    }
  }

  std::string save() const;
  void restore(const std::string& state);

 private:
  std::mt19937_64 engine_;
};

}  // namespace descent
