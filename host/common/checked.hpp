// Checked size arithmetic: products and sums of counts (elements, rows, starts, steps) that
// report overflow instead of wrapping. A count that wraps is worse than a crash: 2^32 * 2^32
// elements wraps to 0 and trains on an empty tensor. Callers turn a nullopt into an error
// that names the setting responsible; these functions know nothing about configs.
//
// Does not: decide limits (the config readers do, e.g. kMaxParamElements), or allocate.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>

namespace descent {

// a * b, or nullopt when either is negative or the product does not fit an int64.
inline std::optional<std::int64_t> checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// a + b, or nullopt when either is negative or the sum does not fit an int64.
inline std::optional<std::int64_t> checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &out)) return std::nullopt;
  return out;
}

// The product of `factors` (1 for none), or nullopt on overflow or a negative factor.
inline std::optional<std::int64_t> checked_product(std::initializer_list<std::int64_t> factors) {
  std::optional<std::int64_t> out = 1;
  for (const std::int64_t f : factors) {
    out = checked_mul(*out, f);
    if (!out) return std::nullopt;
  }
  return out;
}

// a * b when it is at most `limit`, else nullopt (overflow counts as over the limit).
inline std::optional<std::int64_t> checked_mul_within(std::int64_t a, std::int64_t b,
                                                      std::int64_t limit) {
  const std::optional<std::int64_t> out = checked_mul(a, b);
  if (!out || *out > limit) return std::nullopt;
  return out;
}

}  // namespace descent
