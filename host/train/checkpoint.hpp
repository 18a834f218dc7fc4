// Checkpoints: a TrainState on disk, exact to the bit (doubles are stored as their bytes),
// written atomically (temporary file, fsync, rename), so that a run killed at any moment
// leaves the last good checkpoint intact and a resumed run continues bit-identically.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/state.hpp"

namespace descent {

// Format: "DESCENT-CHECKPOINT 3\n", then records "key\n" + 8-byte little-endian length + bytes,
// the last one "checksum": a 64-bit FNV-1a hash of every byte before it.
void write_checkpoint(const std::string& path, const TrainState& state,
                      const std::vector<std::string>& param_names);
// Throws Error(io_error) for a missing or damaged file (the checksum sees a change of any byte),
// and Error(bad_input) for another format version or when the parameters do not match
// `param_names`.
TrainState read_checkpoint(const std::string& path, const std::vector<std::string>& param_names);
// read_checkpoint on the file's bytes (`path` names it in messages).
TrainState parse_checkpoint(const std::string& bytes, const std::string& path,
                            const std::vector<std::string>& param_names);

// What a checkpoint must agree with to belong to a run: its length and batching, and the sizes
// of its parameters and optimizer state.
struct CheckpointShape {
  long total_steps = 0;
  std::int64_t rows = 0;   // training rows (fit) or starts (minimize)
  std::int64_t batch = 0;  // rows a step
  long epoch_batches = 1;  // steps an epoch
  bool minimize = false;
  std::vector<std::size_t> param_values;  // each parameter's values, every copy
  int state_slots = 0;                    // optimizer state arrays a parameter has
};

// Throws Error(bad_input), naming the file and the field, when `state` cannot be a state of the
// run `shape` describes: a step beyond the run, a cursor or epoch that does not follow from the
// step, an early-stopping record from the future, sizes that differ, an unreadable RNG state.
void validate_checkpoint(const std::string& path, const TrainState& state,
                         const CheckpointShape& shape);

}  // namespace descent
