// The epoch order (see epoch_order.hpp).
#include "train/epoch_order.hpp"

#include <numeric>

namespace descent {

void epoch_order(Rng& rng, bool shuffle, std::vector<std::int64_t>& order) {
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) rng.shuffle(order);
}

bool shuffles_epochs(bool setting, std::int64_t rows, std::int64_t batch) {
  return setting && batch < rows;
}

}  // namespace descent
