// `descent gradcheck CONFIG [--points N] [--set key=value ...]`: the symbolic gradient of the
// objective against central finite differences in f64, at the initial parameters and at
// random points near them; prints the worst relative error per parameter and exits 1 when
// any exceeds its tolerance.
// The algorithm and its error model live in host/check/gradcheck.hpp; this is the command.
#include <cstdio>

#include "backend/data_splits.hpp"
#include "check/gradcheck.hpp"
#include "cli/commands.hpp"
#include "cli/experiment_setup.hpp"
#include "common/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "program/init.hpp"

namespace descent::cli {

namespace {

struct GradcheckCommandOptions {
  std::string config;
  std::vector<std::string> overrides;
  int points = 3;
};

int run_gradcheck(const GradcheckCommandOptions& options) {
  const Experiment e = set_up_experiment(options.config, options.overrides);
  auto backend = make_cpu_backend(*e.program, e.plan);
  if (e.dataset) backend->attach(data_splits(*e.program, *e.dataset));
  GradcheckOptions check;
  check.points = options.points;
  check.seed = e.config.train.seed + 1;
  const GradcheckReport report =
      gradcheck(*e.program, *backend, gradcheck_batch(*e.program, e.data()),
                initial_values(e.config, *e.program), check);
  std::printf("%-16s %8s %8s %14s %14s  %s\n", "parameter", "checked", "skipped", "worst rel err",
              "tolerance", "result");
  for (const GradcheckParamReport& r : report.params)
    std::printf("%-16s %8ld %8ld %14.3e %14.3e  %s\n", r.name.c_str(), r.checked, r.skipped,
                r.worst, r.tolerance_at_worst, r.ok ? "ok" : "FAILED");
  std::printf("gradcheck %s: %zu parameters at %d points\n", report.ok() ? "passed" : "FAILED",
              report.params.size(), report.points);
  return report.ok() ? 0 : static_cast<int>(ExitCode::failure);
}

}  // namespace

Run add_gradcheck_command(CLI::App& app) {
  auto options = std::make_shared<GradcheckCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "gradcheck", "Check the symbolic gradient against central finite differences (f64)");
  cmd->add_option("config", options->config, "The experiment's TOML config")->required();
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  cmd->add_option("--points", options->points, "Random points besides the initial one")
      ->check(CLI::Range(0, 1000));
  return [options, cmd]() -> int { return cmd->parsed() ? run_gradcheck(*options) : -1; };
}

}  // namespace descent::cli
