// The epoch order (see batches.hpp).
#include "train/epoch_order.hpp"

#include <numeric>

namespace descent {

void epoch_order(Rng& rng, bool shuffle, std::vector<std::int64_t>& order) {
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) rng.shuffle(order);
}

}  // namespace descent
