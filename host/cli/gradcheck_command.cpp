// `descent gradcheck CONFIG [--points N] [--set key=value ...]`: the symbolic gradient of the
// objective against central finite differences in f64, at the initial parameters and at
// random points near them; prints the worst relative error per parameter and exits 1 when
// any exceeds its tolerance.
//
// Error model for one element (central difference with step h = cbrt(eps)*max(1, |x|)):
//   truncation  ~ h^2 |f'''| / 6       (≈ 4e-11 for |f'''| ~ 1)
//   rounding    ~ eps |f| / h          (the two evaluations each carry ~eps|f| of error)
// and the relative error is measured as |a - n| / max(|a|, |n|, 1), so the tolerance is
//   1e-6 + 8 eps (|f| + 1) / h / max(|a|, |n|, 1),
// with 1e-6 a margin of 10^4 over the truncation term for curvature up to ~100.
// Points where halving h changes the difference by more than the tolerance sit on a kink
// (abs, relu, max ...) and are skipped and counted.
#include <cmath>
#include <cstdio>
#include <limits>

#include "cli/commands.hpp"
#include "common/error.hpp"
#include "common/random.hpp"
#include "train/backend.hpp"
#include "train/experiment_setup.hpp"
#include "train/trainer.hpp"

namespace descent::cli {

namespace {

struct GradcheckOptions {
  std::string config;
  std::vector<std::string> overrides;
  int points = 3;
  std::string corrupt;  // test-only hook: make one parameter's gradient wrong on purpose
};

struct ParamReport {
  std::string name;
  long checked = 0;
  long skipped = 0;
  double worst = 0.0;
  double tolerance_at_worst = 0.0;
  bool ok = true;
};

Batch check_batch(const Experiment& e) {
  Batch batch;
  const Dataset* data = e.data();
  if (!data) {
    batch.rows = e.program->starts;
    return batch;
  }
  // A fixed slice of the training rows keeps the check cheap and deterministic.
  batch.rows = std::min<std::int64_t>(data->train_rows, 256);
  for (const ProgramInput& in : e.program->inputs)
    for (const DatasetInput& d : data->inputs)
      if (d.name == in.name) batch.inputs.push_back(d.train.data());
  return batch;
}

int run_gradcheck(const GradcheckOptions& options) {
  Experiment e = set_up_experiment(options.config, options.overrides);
  if (!options.corrupt.empty()) corrupt_gradient_for_testing(*e.program, options.corrupt);
  auto backend = make_cpu_backend(*e.program);
  const Batch batch = check_batch(e);
  const double eps = std::numeric_limits<double>::epsilon();

  std::vector<ParamReport> reports(e.program->params.size());
  for (std::size_t i = 0; i < reports.size(); ++i) reports[i].name = e.program->params[i].name;

  Rng rng(e.config.train.seed + 1);
  const TrainState initial = initial_state(e.config, *e.program);
  for (int point = 0; point <= options.points; ++point) {
    TrainState state = initial;
    if (point > 0)  // a random point near the start: x + N(0, 0.5^2 max(1, |x|)^2)
      for (ParamState& p : state.params)
        for (double& v : p.value) v += 0.5 * std::max(1.0, std::fabs(v)) * rng.normal();
    backend->load(state);
    std::vector<std::vector<double>> analytic;
    const double f = backend->objective_and_gradients(batch, analytic);
    std::vector<std::vector<double>> unused;
    // Moves one element, evaluates, and puts it back.
    auto objective_at = [&](std::size_t param, std::size_t k, double x) {
      double& element = state.params[param].value[k];
      const double kept = element;
      element = x;
      backend->load(state);
      const double value = backend->objective_and_gradients(batch, unused);
      element = kept;
      return value;
    };
    for (std::size_t i = 0; i < state.params.size(); ++i) {
      const std::vector<double>& values = state.params[i].value;
      // At most 64 elements per parameter and point, evenly spread.
      const std::size_t stride = std::max<std::size_t>(1, values.size() / 64);
      for (std::size_t k = 0; k < values.size(); k += stride) {
        const double x = values[k];
        const double h = std::cbrt(eps) * std::max(1.0, std::fabs(x));
        const double numeric = (objective_at(i, k, x + h) - objective_at(i, k, x - h)) / (2 * h);
        const double numeric_half =
            (objective_at(i, k, x + h / 2) - objective_at(i, k, x - h / 2)) / h;
        const double a = analytic[i][k];
        const double scale = std::max({std::fabs(a), std::fabs(numeric), 1.0});
        const double tolerance = 1e-6 + 8 * eps * (std::fabs(f) + 1) / h / scale;
        ParamReport& r = reports[i];
        if (!std::isfinite(numeric) || std::fabs(numeric - numeric_half) / scale > tolerance) {
          ++r.skipped;
          continue;
        }
        const double error = std::isfinite(a) ? std::fabs(a - numeric) / scale
                                              : std::numeric_limits<double>::infinity();
        ++r.checked;
        if (error > r.worst) {
          r.worst = error;
          r.tolerance_at_worst = tolerance;
        }
        if (error > tolerance) r.ok = false;
      }
    }
  }
  bool ok = true;
  std::printf("%-16s %8s %8s %14s %14s  %s\n", "parameter", "checked", "skipped", "worst rel err",
              "tolerance", "result");
  for (const ParamReport& r : reports) {
    ok = ok && r.ok;
    std::printf("%-16s %8ld %8ld %14.3e %14.3e  %s\n", r.name.c_str(), r.checked, r.skipped,
                r.worst, r.tolerance_at_worst, r.ok ? "ok" : "FAILED");
  }
  std::printf("gradcheck %s: %zu parameters at %d points\n", ok ? "passed" : "FAILED",
              reports.size(), options.points + 1);
  return ok ? 0 : static_cast<int>(ExitCode::failure);
}

}  // namespace

Run add_gradcheck_command(CLI::App& app) {
  auto options = std::make_shared<GradcheckOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gradcheck", "Check the symbolic gradient against central finite differences (f64)");
  cmd->add_option("config", options->config, "The experiment's TOML config")->required();
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  cmd->add_option("--points", options->points, "Random points besides the initial one")
      ->check(CLI::Range(0, 1000));
  // Test-only: multiplies one parameter's gradient by 1.001 so that the check must fail.
  cmd->add_option("--corrupt-gradient", options->corrupt)->group("");
  return [options, cmd]() -> int { return cmd->parsed() ? run_gradcheck(*options) : -1; };
}

}  // namespace descent::cli
