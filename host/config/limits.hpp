// The size limits of a config (README, "Config files"), chosen so that no count descent
// derives from them can overflow a 64-bit integer and no allocation is attempted that could
// never fit: a parameter's elements (times starts), starts, epochs, steps and data rows. Each
// is far above any real experiment; going over one is an error that names the key.
#pragma once

#include <bit>
#include <cstdint>
#include <string>

namespace descent {

// Elements of one parameter, of all parameters together, and in minimize mode times starts
// (every start has its own copy): 2^31 doubles are 16 GiB.
inline constexpr std::int64_t kMaxParamElements = std::int64_t{1} << 31;
// train.starts.
inline constexpr std::int64_t kMaxStarts = std::int64_t{1} << 24;
// train.epochs. Times batches per epoch (at most kMaxDataRows) this stays below 2^62, so the
// trainer's step count cannot overflow.
inline constexpr std::int64_t kMaxEpochs = std::int64_t{1} << 31;
// train.steps.
inline constexpr std::int64_t kMaxSteps = std::int64_t{1} << 40;
// train.threads (and --threads): CPU threads of the CPU backend.
inline constexpr std::int64_t kMaxThreads = 64;
// Rows of a data set (host/data checks it once the files are read).
inline constexpr std::int64_t kMaxDataRows = std::int64_t{1} << 31;

// "2147483648 (2^31)": a limit as messages show it.
inline std::string limit_text(std::int64_t limit) {
  const auto bits = static_cast<std::uint64_t>(limit);
  std::string out = std::to_string(limit);
  if (std::has_single_bit(bits)) out += " (2^" + std::to_string(std::countr_zero(bits)) + ")";
  return out;
}

}  // namespace descent
