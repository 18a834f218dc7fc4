// Everything a training run needs to continue exactly where it stopped: parameters,
// optimizer moments, the step/epoch/data cursor, the shuffle RNG and the early-stopping
// record. A checkpoint is this struct on disk (checkpoint.hpp).
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "backend/backend.hpp"

namespace descent {

struct TrainState {
  long step = 0;          // completed optimizer steps
  long epoch = 0;         // the epoch in progress (0-based)
  long cursor = 0;        // training rows of this epoch already consumed
  std::string epoch_rng;  // the shuffle RNG's state at the start of this epoch
  std::vector<ParamState> params;

  // Early stopping: the best validation loss seen and the parameters that gave it.
  double best_val = std::numeric_limits<double>::infinity();
  long best_step = -1;
  long evals_since_best = 0;
  std::vector<std::vector<double>> best_params;
  bool stopped_early = false;

  double wall_seconds = 0.0;  // training time so far, across resumes
};

}  // namespace descent
