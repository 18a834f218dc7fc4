// Limits with estimates (issue "Hostile input", item 2): before descent allocates a run's memory,
// it estimates what the run needs on the host (the data set as it is read, the parameters with
// their gradients, optimizer state and the copies the loop keeps, the evaluation's workspace)
// and refuses a run that cannot fit the memory this machine makes available (exit 2), with the
// estimate and the config key that contributes most, at its position.
//
// The estimates are upper-leaning, not exact: a run that passes them may still be refused by
// the operating system (then the error says "out of memory"); one they refuse would not fit.
#pragma once

#include <cstdint>

#include "config/experiment.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent::cli {

// Bytes of memory this process may still use: the smaller of MemAvailable (/proc/meminfo) and
// what its cgroup's memory.max leaves; a very large number when neither can be read.
std::int64_t available_memory();

// Refuses the data set when reading it would not fit in `available` bytes (estimated from the
// files' sizes, before they are read).
void check_data_fits(const ExperimentConfig& config, std::int64_t available);

// Refuses the run when its parameters, optimizer state and workspace would not fit in
// `available` bytes (what is left once the data set is read).
void check_run_fits(const ExperimentConfig& config, const Program& program, const ProgramPlan& plan,
                    std::int64_t available);

}  // namespace descent::cli
