// The data of a fit experiment in memory: every named input as one dense row-major array, its
// training rows then its validation rows, with class labels mapped to indices and the chosen
// inputs standardized by the training split's statistics.
// One copy of the data is kept, and no more is made while it is read: the files are read a
// block at a time straight into the arrays (csv.hpp, npy.hpp), the split reorders the rows in
// place, and standardization rewrites them in place.
// Does not batch or shuffle per epoch (host/train).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/large_buffer.hpp"
#include "config/experiment.hpp"
#include "graph/shape.hpp"

namespace descent {

struct DatasetInput {
  std::string name;
  Shape shape;                       // of one sample
  LargeBuffer values;                // (train_rows + validation_rows) * shape.size(): the
                                     // training rows, then the validation rows
  std::vector<std::string> labels;   // classes: label of each index
  std::vector<double> mean, scale;   // standardize: per element (x - mean) / scale, where scale
                                     // is the population std (1 for a constant element)
  std::vector<std::string> columns;  // CSV: the column of each element, "a..b" expanded
};

struct Dataset {
  std::vector<DatasetInput> inputs;
  std::int64_t train_rows = 0;
  std::int64_t validation_rows = 0;
  // The file row (0-based, header not counted) of each training row, then of each validation
  // row: the split's permutation.
  std::vector<std::int64_t> file_rows;

  // An input's training rows and validation rows (parts of its values).
  std::span<const double> train(const DatasetInput& input) const {
    return {input.values.data(), static_cast<std::size_t>(train_rows * input.shape.size())};
  }
  std::span<const double> validation(const DatasetInput& input) const {
    return {input.values.data() + train_rows * input.shape.size(),
            static_cast<std::size_t>(validation_rows * input.shape.size())};
  }
};

// Reads, checks, splits and standardizes. `seed` orders the split.
Dataset load_dataset(const DataConfig& data, std::uint64_t seed);

}  // namespace descent
