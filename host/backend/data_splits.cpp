// The data splits a backend reads (see data_splits.hpp).
#include "backend/data_splits.hpp"

#include "common/error.hpp"

namespace descent {

DataSplits data_splits(const Program& program, const Dataset& dataset) {
  DataSplits splits;
  splits.train.rows = dataset.train_rows;
  splits.validation.rows = dataset.validation_rows;
  for (const ProgramInput& in : program.inputs) {
    const DatasetInput* found = nullptr;
    for (const DatasetInput& d : dataset.inputs)
      if (d.name == in.name) found = &d;
    if (found == nullptr)
      throw Error(ExitCode::failure, "internal: the data set has no input '" + in.name + "'");
    splits.train.inputs.push_back(dataset.train(*found).data());
    splits.validation.inputs.push_back(dataset.validation(*found).data());
  }
  return splits;
}

}  // namespace descent
