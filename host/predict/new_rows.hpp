// New rows for a trained run (descent predict, descent eval), read the way training read its
// data and transformed the way training transformed it: CSV columns found by name (the columns
// that data.json lists for each input, so their order in the new file does not matter), class
// labels mapped to the run's own indices, and standardized inputs transformed with the mean and
// scale saved from the training split — never with statistics of the new rows.
//
// Does not: evaluate anything (predict.hpp), or split, shuffle or batch rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu/evaluate.hpp"
#include "predict/trained_run.hpp"

namespace descent {

struct NewRows {
  std::int64_t rows = 0;
  std::vector<NamedRows> inputs;  // the needed inputs, each rows x shape
};

// `sources`: a CSV file (plain path) and/or NAME=FILE.npy for single inputs (the form for a run
// trained from .npy files; rows on the first axis, the input's shape after it). Only the inputs
// in `needed` are read; a column that only other inputs use (a label) may be absent. `purpose`
// names what needs them in messages ("the model expression 'p'", "the cost").
// Errors (input_error, exit code 2): a needed column or input that is missing, a label that
// training never saw, a .npy array of the wrong shape, row counts that differ, no rows at all.
NewRows read_new_rows(const TrainedRun& run, const std::vector<std::string>& sources,
                      const std::vector<std::string>& needed, const std::string& purpose);

}  // namespace descent
