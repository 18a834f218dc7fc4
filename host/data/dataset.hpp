// The data of a fit experiment in memory: every named input as a dense row-major array,
// split into training and validation rows, with class labels mapped to indices and the
// chosen inputs standardized by the training split's statistics.
// Reads CSV and .npy (csv.hpp, npy.hpp); does not batch or shuffle per epoch (host/train).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/large_buffer.hpp"
#include "config/experiment.hpp"
#include "graph/shape.hpp"

namespace descent {

struct DatasetInput {
  std::string name;
  Shape shape;                       // of one sample
  LargeBuffer train;                 // train_rows * shape.size()
  LargeBuffer validation;            // validation_rows * shape.size()
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
};

// Reads, checks, splits and standardizes. `seed` orders the split.
Dataset load_dataset(const DataConfig& data, std::uint64_t seed);

}  // namespace descent
