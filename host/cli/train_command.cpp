// `descent train CONFIG [--set key=value ...] [--out DIR] [--device auto|cpu|gpu]
//  [--precision f32|f64] [--quiet]` and `descent train --resume RUN_DIR`.
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>

#include "cli/backend_factory.hpp"
#include "cli/commands.hpp"
#include "cli/experiment_setup.hpp"
#include "cli/run_options.hpp"
#include "common/error.hpp"
#include "run/run_directory.hpp"
#include "train/trainer.hpp"

namespace descent::cli {

namespace {

std::atomic<bool> g_stop_requested{false};

extern "C" void request_stop(int) { g_stop_requested.store(true); }

struct TrainCommandOptions {
  std::string config;
  std::vector<std::string> overrides;
  RunOptions run;  // --plan, --threads
  std::string out;
  std::string resume;
  std::string device = "auto";
  std::string precision;  // "": the config's train.precision
  bool quiet = false;
};

std::string default_run_dir(const std::string& name) {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return "runs/" + name + "-" + stamp;
}

int run_train(const TrainCommandOptions& options) {
  TrainOptions train;
  std::string config_path = options.config;
  if (!options.resume.empty()) {
    if (!options.config.empty() || !options.overrides.empty() || options.run.any())
      throw input_error(
          "--resume continues a run with its own saved config; drop CONFIG, --set, --plan and "
          "--threads");
    train.out_dir = options.resume;
    train.resume = true;
    config_path =
        (std::filesystem::path(options.resume) / RunDirectory::kResolvedConfigFile).string();
    if (!std::filesystem::exists(config_path))
      throw Error(ExitCode::io_error, "--resume: '" + options.resume +
                                          "' is not a run directory (no " +
                                          RunDirectory::kResolvedConfigFile + ")");
  } else if (options.config.empty()) {
    throw input_error("train: a CONFIG file (or --resume RUN_DIR) is required");
  }
  if (options.quiet) spdlog::set_level(spdlog::level::warn);

  std::vector<std::string> overrides = options.overrides;
  for (std::string& o : options.run.overrides()) overrides.push_back(std::move(o));
  Experiment e = set_up_experiment(config_path, overrides);
  BackendChoice choice =
      choose_backend(options.device, options.precision, e.config.train.precision);
  auto backend = make_backend(choice, e);
  // The GPU's kernels run every product per sample whatever the plan batches.
  const std::string plan = choice.device == "gpu" ? "fused" : describe_plan(e.plan.step);
  spdlog::info("device: {}, precision {}, plan {}{}", choice.why, choice.precision, plan,
               choice.device == "cpu" ? fmt::format(", {} threads", choice.threads) : "");
  // The run directory keeps the precision and threads that ran, so that a resumed run
  // continues with them (the same bits).
  e.config.train.precision = choice.precision == "f32" ? RunPrecision::f32 : RunPrecision::f64;
  e.config.train.threads = choice.threads;
  if (!train.resume)
    train.out_dir = options.out.empty() ? default_run_dir(e.config.name) : options.out;
  train.resolved_config = resolved_config_toml(e.config, /*absolute_paths=*/true);
  train.device = choice.device;
  train.precision = choice.precision;
  train.plan = plan;
  train.threads = choice.device == "cpu" ? choice.threads : 0;
  train.quiet = options.quiet;
  train.stop_requested = &g_stop_requested;
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);

  const TrainSummary summary = run_training(e.config, *e.program, e.data(), *backend, train);
  if (!options.quiet) {
    std::string line = fmt::format("trained {} steps: loss {:.6g}", summary.steps, summary.loss);
    if (summary.val_loss) line += fmt::format(", best val_loss {:.6g}", *summary.val_loss);
    if (summary.stopped_early) line += " (stopped early)";
    if (const auto& best = summary.best) {
      if (best->starts > 1) line += fmt::format(" (the mean over {} starts)", best->starts);
      line += fmt::format("; best start {}: cost {:.10g}", best->start, best->cost);
      if (best->starts > 1)
        line += fmt::format(", {} of {} starts within {:.3g} of it", best->at_best, best->starts,
                            best->tolerance);
    }
    spdlog::info("{}; outputs in {}", line, summary.out_dir);
  }
  return 0;
}

}  // namespace

Run add_train_command(CLI::App& app) {
  auto options = std::make_shared<TrainCommandOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Train an experiment described by a config file");
  cmd->add_option("config", options->config, "The experiment's TOML config");
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  add_run_options(*cmd, options->run);
  cmd->add_option("--out", options->out, "Run directory (default: runs/NAME-TIMESTAMP)");
  cmd->add_option("--resume", options->resume,
                  "Continue an interrupted run from its directory's checkpoint");
  cmd->add_option("--device", options->device, "Where to train")
      ->check(CLI::IsMember({"auto", "cpu", "gpu"}));
  cmd->add_option("--precision", options->precision,
                  "auto (f32 on the GPU, f64 on the CPU), f32 or f64; overrides train.precision")
      ->check(CLI::IsMember({"auto", "f32", "f64"}));
  cmd->add_flag("--quiet", options->quiet, "No progress output");
  return [options, cmd]() -> int { return cmd->parsed() ? run_train(*options) : -1; };
}

}  // namespace descent::cli
