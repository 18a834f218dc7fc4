// The backend interface of the trainer (DESIGN §2): a small table of operations that the CPU
// backend (host/cpu) and the GPU backend (cuda/backend) both provide, so that the training loop
// (host/train) never knows which one runs. Parameters and optimizer state live in the backend
// between load() and store().
//
// Does not: choose a backend (the CLI's composition root does), schedule, batch or checkpoint
// (host/train), or know how a Program was built (host/program).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "optim/update_rules.hpp"
#include "program/program.hpp"

namespace descent {

// One parameter's values and optimizer state, on the host.
struct ParamState {
  std::vector<double> value;   // one copy, or starts copies back to back (minimize)
  std::vector<double> state0;  // optimizer slot 0 (velocity, first moment, mean square), or empty
  std::vector<double> state1;  // optimizer slot 1 (second moment, rmsprop momentum), or empty
};

// One batch: for every program input (in Program::inputs order), where its rows lie, each row
// row-major. Without `index` the batch's `rows` rows lie back to back from inputs[k]; with it,
// inputs[k] is the start of the whole split and row r of the batch is row index[r] there (a
// shuffled mini-batch, which the backend gathers as it reads it instead of the trainer copying
// it first). Minimize mode has no inputs; rows = the number of starts.
struct Batch {
  std::int64_t rows = 0;
  std::vector<const double*> inputs;
  const std::int64_t* index = nullptr;

  // Where row r of input k starts, for an input of `size` values a row.
  const double* row(std::size_t k, std::int64_t r, std::int64_t size) const {
    return inputs[k] + (index != nullptr ? index[r] : r) * size;
  }
};

struct UpdateSettings {
  OptimizerConfig optimizer;
  long step = 1;           // 1-based number of this update (Adam's bias correction)
  double lr = 0.0;         // the scheduled rate for this step
  double clip_norm = 0.0;  // clip the global gradient norm to this; 0 = off
};

struct StepResult {
  double loss = 0.0;       // the reported loss of the batch before the update
  double grad_norm = 0.0;  // the global gradient norm before clipping
  bool finite = true;
  std::string problem;  // when !finite: which node went non-finite, and where in the config
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  virtual void load(const std::vector<ParamState>& params) = 0;
  virtual void store(std::vector<ParamState>& params) const = 0;
  // Forward, backward, divergence guard, clipping and the update, for one batch. When the
  // result is not finite the parameters are left unchanged.
  virtual StepResult step(const Batch& batch, const UpdateSettings& update) = 0;
  // The reported loss of a batch at the current parameters (validation).
  virtual double evaluate(const Batch& batch) = 0;
  // The objective and its gradient at the current parameters, no update (gradcheck).
  virtual double objective_and_gradients(const Batch& batch,
                                         std::vector<std::vector<double>>& gradients) = 0;
};

}  // namespace descent
