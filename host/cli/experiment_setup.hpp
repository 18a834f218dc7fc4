// The steps every config-driven command shares: read the config, read the data (fit mode),
// build the Program and plan its steps. Errors point into the config or the data file.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "data/dataset.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent {

struct Experiment {
  ExperimentConfig config;
  std::optional<Dataset> dataset;  // absent in minimize mode
  std::unique_ptr<Program> program;
  ProgramPlan plan;  // of *program, computed once for every backend

  const Dataset* data() const { return dataset ? &*dataset : nullptr; }
};

Experiment set_up_experiment(const std::string& config_path,
                             const std::vector<std::string>& overrides);

}  // namespace descent
