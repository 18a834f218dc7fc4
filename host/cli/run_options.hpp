// The options that `train` and `check` share about how a step runs: --plan and --threads, each
// a shorthand for the config key it overrides (train.plan, train.threads), so that the run
// directory's resolved config records what ran and a resumed run continues with it.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace descent::cli {

struct RunOptions {
  std::string plan;     // "": the config's train.plan
  std::string threads;  // "": the config's train.threads

  // The "train.KEY=VALUE" overrides (applied like --set) of the options given.
  std::vector<std::string> overrides() const;
  bool any() const { return !plan.empty() || !threads.empty(); }
};

// Adds --plan auto|fused|batched and --threads N to `cmd`, stored in `options`.
void add_run_options(CLI::App& cmd, RunOptions& options);

}  // namespace descent::cli
