// `descent check CONFIG [--steps N] [--device gpu|cpu] [--precision f32|f64] [--set ...]`: a
// backend (the GPU by default; --device cpu checks the fast CPU backend) against the f64 oracle
// on the run's own first batches, in lockstep (check/lockstep.hpp has the error model). Prints,
// for every step, each tensor's worst error as a percentage of its tolerance; exits 1 naming
// the tensor, the element and the first step that failed.
#include <fmt/format.h>

#include <algorithm>
#include <numeric>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/backend_factory.hpp"
#include "cli/commands.hpp"
#include "cli/experiment_setup.hpp"
#include "cli/run_options.hpp"
#include "common/error.hpp"
#include "optim/schedule.hpp"
#include "train/epoch_order.hpp"
#include "train/trainer.hpp"

namespace descent::cli {

namespace {

struct CheckCommandOptions {
  std::string config;
  std::vector<std::string> overrides;
  RunOptions run;  // --plan, --threads
  long steps = 3;
  std::string device = "gpu";
  std::string precision;
};

// The run's first `count` steps: its batches (epoch 0's order; a check longer than an epoch
// starts the order again) and its updates.
std::vector<CheckStep> run_steps(const Experiment& e, long count,
                                 std::vector<std::int64_t>& order) {
  const TrainConfig& t = e.config.train;
  const std::int64_t rows = e.dataset ? e.dataset->train_rows : e.program->starts;
  const std::int64_t batch = batch_rows(e.config, rows, e.dataset.has_value());
  const bool shuffled = e.dataset && shuffles_epochs(e.config.data.shuffle, rows, batch);
  if (shuffled) {
    order.resize(static_cast<std::size_t>(rows));
    Rng rng(e.config.data.seed);
    epoch_order(rng, true, order);
  }
  const long total = total_steps(e.config, e.data());
  std::vector<CheckStep> steps;
  std::int64_t cursor = 0;
  for (long s = 0; s < count; ++s) {
    CheckStep step;
    step.batch.first = cursor;
    step.batch.rows = std::min(batch, rows - cursor);
    step.batch.shuffled = shuffled;
    step.update.optimizer = t.optimizer;
    step.update.step = s + 1;
    step.update.lr = learning_rate_at(t.schedule, s, total);
    step.update.clip_norm = t.clip_norm;
    steps.push_back(step);
    cursor += step.batch.rows;
    if (cursor >= rows) cursor = 0;
  }
  return steps;
}

void print_report(const CheckReport& report, const std::string& plan) {
  fmt::print("check: {} (plan {}) against the oracle (cpu, f64, reference math), {} step{}\n",
             report.backend, plan, report.steps.size(), report.steps.size() == 1 ? "" : "s");
  for (const StepCheck& s : report.steps) {
    fmt::print("step {} ({} rows):", s.step, s.rows);
    for (const TensorCheck& t : s.tensors) fmt::print(" {} {:.3g}%", t.tensor, 100 * t.fraction());
    fmt::print("\n");
  }
}

int run_check(const CheckCommandOptions& options) {
  std::vector<std::string> overrides = options.overrides;
  for (std::string& o : options.run.overrides()) overrides.push_back(std::move(o));
  Experiment e = set_up_experiment(options.config, overrides);
  BackendChoice choice =
      choose_backend(options.device, options.precision, e.config.train.precision);
  auto backend = make_backend(choice, e);
  std::vector<std::int64_t> order;
  const std::vector<CheckStep> steps = run_steps(e, options.steps, order);
  DataSplits splits;
  if (e.dataset) splits = data_splits(*e.program, *e.dataset);
  const CheckReport report =
      check_backend(*e.program, e.plan, *backend, e.dataset ? &splits : nullptr, order,
                    initial_state(e.config, *e.program).params, steps);
  print_report(report, describe_plan(e.plan.step));
  long step = 0;
  if (const TensorCheck* t = report.first_failure(&step)) {
    fmt::print(
        "check FAILED at step {}: {}[{}] = {:.17g}, the oracle's {:.17g}: error {:.3g} is "
        "{:.3g}% of its tolerance {:.3g}\n",
        step, t->tensor, t->element, t->got, t->want, t->error, 100 * t->fraction(), t->tolerance);
    return static_cast<int>(ExitCode::failure);
  }
  double worst = 0.0;
  for (const StepCheck& s : report.steps)
    for (const TensorCheck& t : s.tensors) worst = std::max(worst, t.fraction());
  fmt::print("check passed: {} in {}, worst error {:.3g}% of its tolerance\n", report.backend,
             report.precision, 100 * worst);
  return 0;
}

}  // namespace

Run add_check_command(CLI::App& app) {
  auto options = std::make_shared<CheckCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "check", "Check a backend against the f64 oracle on the run's first steps, in lockstep");
  cmd->add_option("config", options->config, "The experiment's TOML config")->required();
  cmd->add_option("--steps", options->steps, "Steps to check")->check(CLI::Range(1L, 100000L));
  cmd->add_option("--device", options->device, "The backend to check: gpu (default) or cpu")
      ->check(CLI::IsMember({"cpu", "gpu"}));
  cmd->add_option("--precision", options->precision,
                  "auto (f32 on the GPU, f64 on the CPU), f32 or f64; overrides train.precision")
      ->check(CLI::IsMember({"auto", "f32", "f64"}));
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  add_run_options(*cmd, options->run);
  return [options, cmd]() -> int { return cmd->parsed() ? run_check(*options) : -1; };
}

}  // namespace descent::cli
