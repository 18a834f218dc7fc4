// The backend-agnostic training loop (DESIGN §2): batches, learning-rate schedule, evaluation,
// early stopping, metrics, checkpoints, divergence guard and interruption. The backend does the
// math; this file decides what runs when, and the run directory (host/run) keeps the files.
#pragma once

#include <atomic>
#include <optional>
#include <string>

#include "backend/backend.hpp"
#include "config/experiment.hpp"
#include "data/dataset.hpp"
#include "program/program.hpp"
#include "train/best_start.hpp"
#include "train/state.hpp"

namespace descent {

struct TrainOptions {
  std::string out_dir;                                // the run directory
  bool resume = false;                                // continue from out_dir/checkpoint.bin
  bool quiet = false;                                 // no progress output
  const std::atomic<bool>* stop_requested = nullptr;  // set by SIGINT/SIGTERM
  std::string device = "cpu";
  std::string precision = "f64";
  std::string plan = "fused";   // describe_plan of the step plan
  int threads = 0;              // the CPU backend's threads; 0: not the CPU
  std::string resolved_config;  // written to config.resolved.toml
};

struct TrainSummary {
  long steps = 0;
  double loss = 0.0;
  std::optional<double> val_loss;
  bool stopped_early = false;
  std::string out_dir;
  std::optional<BestStart> best;  // minimize mode: the start that ended lowest
};

// `dataset` is null in minimize mode. Throws Error(diverged) on a non-finite loss or
// gradient and Error(interrupted) after writing a checkpoint when a stop was requested.
TrainSummary run_training(const ExperimentConfig& config, const Program& program,
                          const Dataset* dataset, Backend& backend, const TrainOptions& options);

// The parameters as they start (seeded), with zeroed optimizer state.
TrainState initial_state(const ExperimentConfig& config, const Program& program);

// Rows per step out of `n`: batch_size, or all of them (full batch, and minimize mode's starts:
// `fit` false).
std::int64_t batch_rows(const ExperimentConfig& config, std::int64_t n, bool fit);

// The total number of optimizer steps of a run.
long total_steps(const ExperimentConfig& config, const Dataset* dataset);

}  // namespace descent
