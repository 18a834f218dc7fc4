// Batches as views into the data set (see batches.hpp).
#include "train/batches.hpp"

#include <numeric>

namespace descent {

namespace {

bool consecutive(const std::int64_t* rows, std::int64_t count) {
  for (std::int64_t r = 1; r < count; ++r)
    if (rows[r] != rows[r - 1] + 1) return false;
  return true;
}

}  // namespace

BatchSource::BatchSource(const Program& program, const Dataset* dataset) : dataset_(dataset) {
  if (!dataset) return;
  for (const ProgramInput& in : program.inputs) {
    const DatasetInput* found = nullptr;
    for (const DatasetInput& d : dataset->inputs)
      if (d.name == in.name) found = &d;
    sources_.push_back(found);
  }
}

Batch BatchSource::of(const std::vector<std::int64_t>& order, std::int64_t from,
                      std::int64_t to) const {
  Batch batch;
  batch.rows = to - from;
  const std::int64_t* rows = order.data() + from;
  const bool in_place = consecutive(rows, batch.rows);
  for (const DatasetInput* d : sources_)
    batch.inputs.push_back(d->train.data() + (in_place ? rows[0] * d->shape.size() : 0));
  if (!in_place) batch.index = rows;
  return batch;
}

Batch BatchSource::validation() const {
  Batch batch;
  batch.rows = dataset_->validation_rows;
  for (const DatasetInput* d : sources_) batch.inputs.push_back(d->validation.data());
  return batch;
}

Batch BatchSource::starts(std::int64_t n) const {
  Batch batch;
  batch.rows = n;
  return batch;
}

void epoch_order(Rng& rng, bool shuffle, std::vector<std::int64_t>& order) {
  std::iota(order.begin(), order.end(), 0);
  if (shuffle) rng.shuffle(order);
}

}  // namespace descent
