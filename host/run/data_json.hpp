// data.json, a run directory's record of how its data file became the model's inputs, so that
// the trained parameters can be applied to new raw rows (descent predict, descent eval): for
// every input its name, shape, source (the CSV columns of its elements, "a..b" expanded, or its
// .npy file), the class labels of a `classes` input (index i is labels[i]), and the mean and
// scale of a standardized one (x' = (x - mean) / scale per element, both from the training
// split; scale is the population standard deviation, 1 for a constant element). Numbers are
// written in the shortest form that reads back as the same double, so a reader applies exactly
// the standardization that training applied.
//
// Does not: read data files (host/data), or decide when the file is written (host/train).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "config/experiment.hpp"
#include "data/dataset.hpp"

namespace descent {

// An input as data.json records it (the rows are not kept).
struct SavedInput {
  std::string name;
  Shape shape;                       // of one sample
  std::vector<std::string> columns;  // CSV: one column per element; empty for .npy
  std::string npy_file;              // .npy: the file training read
  std::vector<std::string> labels;   // classes: the label of each index; else empty
  std::vector<double> mean, scale;   // standardized: per element; else empty
};

struct SavedData {
  std::string file;  // the CSV file training read ("" for .npy inputs)
  std::int64_t train_rows = 0, validation_rows = 0;
  std::vector<SavedInput> inputs;  // in the config's order
};

// What a data set's inputs are, from the config that read it and the data set itself.
SavedData describe_data(const DataConfig& config, const Dataset& dataset);

// As the JSON object of data.json, and back. read_saved_data throws Error(io_error) when the
// file cannot be read and an input_error naming the file for content that is not such a record.
Json saved_data_json(const SavedData& data);
SavedData read_saved_data(const std::string& path);

}  // namespace descent
