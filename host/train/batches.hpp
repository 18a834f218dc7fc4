// The batches of a run: the epoch's row order (a pure function of the shuffle RNG's state at the
// epoch's start, so that a resumed run sees the same batches) and the Batch that describes rows
// [from, to) of it, the validation split, or minimize mode's starts.
//
// Does not: evaluate anything (the backend reads the rows where the Batch points) or copy data.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "common/random.hpp"
#include "data/dataset.hpp"
#include "program/program.hpp"

namespace descent {

class BatchSource {
 public:
  // `dataset` is null in minimize mode.
  BatchSource(const Program& program, const Dataset* dataset);

  // Shuffled rows are passed as indices into the split (the backend gathers them as it reads
  // them); rows that follow each other as a pointer to the first.
  Batch of(const std::vector<std::int64_t>& order, std::int64_t from, std::int64_t to) const;
  Batch validation() const;
  Batch starts(std::int64_t n) const;

 private:
  const Dataset* dataset_;
  std::vector<const DatasetInput*> sources_;  // by Program input
};

// The row order of an epoch: 0..rows-1, shuffled by `rng` when `shuffle` (Fisher-Yates).
void epoch_order(Rng& rng, bool shuffle, std::vector<std::int64_t>& order);

}  // namespace descent
