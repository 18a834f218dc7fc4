// Checkpoints: a TrainState on disk, exact to the bit (doubles are stored as their bytes),
// written atomically (temporary file, fsync, rename), so that a run killed at any moment
// leaves the last good checkpoint intact and a resumed run continues bit-identically.
#pragma once

#include <string>

#include "train/state.hpp"

namespace descent {

// Format: "DESCENT-CHECKPOINT 1\n", then records "key\n" + 8-byte little-endian length + bytes.
void write_checkpoint(const std::string& path, const TrainState& state,
                      const std::vector<std::string>& param_names);
// Throws Error(io_error) for a missing or damaged file, and Error(bad_input) when the
// parameters do not match `param_names`.
TrainState read_checkpoint(const std::string& path, const std::vector<std::string>& param_names);

}  // namespace descent
