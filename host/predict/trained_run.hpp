// A finished fit-mode run opened for use on new rows (descent predict, descent eval): its
// effective config (config.resolved.toml), how its data became inputs (data.json: columns,
// class labels, standardization), its final parameters (params/NAME.npy) and the Program built
// from them.
//
// Does not: read new rows or evaluate anything (new_rows.hpp, predict.hpp), or change the run.
#pragma once

#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "program/program.hpp"
#include "run/data_json.hpp"

namespace descent {

struct TrainedRun {
  std::string dir;
  ExperimentConfig config;
  SavedData data;
  Program program;
  std::vector<std::vector<double>> params;  // Program order, row-major
};

// Opens the run directory `dir`. Errors: a path that is not a run directory, or a run without
// final parameters (it did not finish) or without data.json: Error(io_error) naming what is
// missing; a minimize-mode run (it has no data): an input_error; parameter files that do not
// match the config's shapes: an input_error naming the file.
TrainedRun open_trained_run(const std::string& dir);

}  // namespace descent
