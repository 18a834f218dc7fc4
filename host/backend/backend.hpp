// The backend interface of the trainer (DESIGN §2, §5): a small table of operations that the
// CPU backend (host/cpu) and the GPU backend (cuda/backend) both provide, so that the training
// loop (host/train) never knows which one runs.
//
// A backend is handed the data set once (attach), then the row order of each epoch
// (set_epoch_order), and runs steps on batches named as rows of a split. Parameters and
// optimizer state live in the backend between load() and store(); a GPU backend keeps them on
// the device. step() may run asynchronously: report() waits for the steps issued so far and
// tells their outcome. Divergence is sticky: the first step whose loss or gradient is not
// finite leaves the parameters as they were, and so does every later step, until load(); the
// trainer learns which step it was from report() and names the node itself (through the CPU
// Interpreter), so a backend never needs to.
//
// Does not: choose a backend (the CLI's composition root does), schedule, batch or checkpoint
// (host/train), or know how a Program was built (host/program).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "optim/update_rules.hpp"

namespace descent {

// One parameter's values and optimizer state, on the host.
struct ParamState {
  std::vector<double> value;   // one copy, or starts copies back to back (minimize)
  std::vector<double> state0;  // optimizer slot 0 (velocity, first moment, mean square), or empty
  std::vector<double> state1;  // optimizer slot 1 (second moment, rmsprop momentum), or empty
};

// The rows of one split: for every program input (Program::inputs order) its values, row-major,
// `rows` rows back to back. The memory stays the caller's and must outlive the backend.
struct SplitRows {
  std::int64_t rows = 0;
  std::vector<const double*> inputs;

  // Where row r of input k starts, for an input of `size` values a row.
  const double* row(std::size_t k, std::int64_t r, std::int64_t size) const {
    return inputs[k] + r * size;
  }
};

// The data set of a fit experiment, handed to a backend once. Minimize mode has none.
struct DataSplits {
  SplitRows train;
  SplitRows validation;
};

// Which rows a step or an evaluation reads: `rows` rows of a split starting at `first`, in the
// split's own order, or (shuffled) the rows order[first], order[first + 1], ... of the epoch
// order last given to set_epoch_order. Minimize mode: rows = the number of starts, first = 0.
struct BatchRows {
  enum class Split : std::uint8_t { train, validation };
  Split split = Split::train;
  std::int64_t first = 0;
  std::int64_t rows = 0;
  bool shuffled = false;

  // The index into the split of the batch's row r.
  std::int64_t row(std::int64_t r, const std::vector<std::int64_t>& order) const {
    return shuffled ? order[static_cast<std::size_t>(first + r)] : first + r;
  }
};

struct UpdateSettings {
  OptimizerConfig optimizer;
  long step = 1;           // 1-based number of this update (Adam's bias correction)
  double lr = 0.0;         // the scheduled rate for this step
  double clip_norm = 0.0;  // clip the global gradient norm to this; 0 = off
};

// The outcome of the steps issued since load().
struct StepReport {
  double loss = 0.0;       // the last step's reported loss (before its update)
  double grad_norm = 0.0;  // the last step's global gradient norm (before clipping)
  long diverged_step = 0;  // the UpdateSettings::step of the first non-finite step; 0: none
};

class Backend {
 public:
  virtual ~Backend() = default;
  // What runs, for logs and the manifest, e.g. "cpu (f64)".
  virtual std::string name() const = 0;
  // "f32" or "f64": the precision the backend computes in.
  virtual std::string precision() const = 0;
  // The longest chain of additions a batch total of `rows` rows goes through: `rows` for a
  // sequential sum, much less for a tree. The error model of `descent check` (check/lockstep.hpp)
  // grows with it.
  virtual std::int64_t summation_depth(std::int64_t rows) const = 0;

  // The data set, once (fit mode), before any step or evaluation.
  virtual void attach(const DataSplits& data) = 0;
  // The training split's row order for the coming shuffled batches (a permutation). The vector
  // stays the caller's and must outlive those batches: a backend may read it where it lies.
  virtual void set_epoch_order(const std::vector<std::int64_t>& order) = 0;

  // Replaces the parameters and optimizer state, and clears a divergence.
  virtual void load(const std::vector<ParamState>& params) = 0;
  // Copies them out (waits for the steps issued so far).
  virtual void store(std::vector<ParamState>& params) = 0;

  // Forward, backward, clipping and the update, for one batch.
  virtual void step(const BatchRows& batch, const UpdateSettings& update) = 0;
  // Waits for the steps issued so far and reports them.
  virtual StepReport report() = 0;

  // The reported loss of a batch at the current parameters (validation).
  virtual double evaluate(const BatchRows& batch) = 0;
  // The objective and its gradient at the current parameters, no update (gradcheck, check).
  virtual double objective_and_gradients(const BatchRows& batch,
                                         std::vector<std::vector<double>>& gradients) = 0;
};

}  // namespace descent
