// The row order of an epoch: a pure function of the shuffle RNG's state at the epoch's start, so
// that a resumed run sees the same batches.
#pragma once

#include <cstdint>
#include <vector>

#include "common/random.hpp"

namespace descent {

// The row order of an epoch: 0..rows-1, shuffled by `rng` when `shuffle` (Fisher-Yates).
void epoch_order(Rng& rng, bool shuffle, std::vector<std::int64_t>& order);

}  // namespace descent
