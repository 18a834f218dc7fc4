// The backend-agnostic training loop (DESIGN §2): batches, learning-rate schedule,
// evaluation, early stopping, metrics, checkpoints, divergence guard, interruption, and the
// run directory's outputs. The backend does the math; this file decides what runs when.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "config/experiment.hpp"
#include "train/backend.hpp"
#include "train/dataset.hpp"
#include "train/program.hpp"

namespace descent {

struct TrainOptions {
  std::string out_dir;                                // the run directory
  bool resume = false;                                // continue from out_dir/checkpoint.bin
  bool quiet = false;                                 // no progress output
  const std::atomic<bool>* stop_requested = nullptr;  // set by SIGINT/SIGTERM
  std::string device = "cpu";
  std::string precision = "f64";
  std::string resolved_config;  // written to config.resolved.toml
};

struct TrainSummary {
  long steps = 0;
  double loss = 0.0;
  std::optional<double> val_loss;
  bool stopped_early = false;
  std::string out_dir;
};

// Files of a run directory.
inline constexpr const char* kCheckpointFile = "checkpoint.bin";
inline constexpr const char* kResolvedConfigFile = "config.resolved.toml";

// `dataset` is null in minimize mode. Throws Error(diverged) on a non-finite loss or
// gradient and Error(interrupted) after writing a checkpoint when a stop was requested.
TrainSummary run_training(const ExperimentConfig& config, const Program& program,
                          const Dataset* dataset, Backend& backend, const TrainOptions& options);

// The parameters as they start (seeded), with zeroed optimizer state.
TrainState initial_state(const ExperimentConfig& config, const Program& program);

// The total number of optimizer steps of a run.
long total_steps(const ExperimentConfig& config, const Dataset* dataset);

}  // namespace descent
