// `descent config CONFIG [--resolved] [--set key=value ...]`: checks a config and prints the
// effective settings with every default filled in.
#include <iostream>

#include "cli/commands.hpp"
#include "config/experiment.hpp"

namespace descent::cli {

namespace {
struct ConfigOptions {
  std::string config;
  std::vector<std::string> overrides;
  bool resolved = false;
};
}  // namespace

Run add_config_command(CLI::App& app) {
  auto options = std::make_shared<ConfigOptions>();
  CLI::App* cmd = app.add_subcommand("config", "Check a config and print its effective settings");
  cmd->add_option("config", options->config, "The experiment's TOML config")->required();
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  cmd->add_flag("--resolved", options->resolved,
                "Print the config with every default filled in (the default output)");
  return [options, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    const ExperimentConfig config = load_experiment(options->config, options->overrides);
    std::cout << resolved_config_toml(config);
    return 0;
  };
}

}  // namespace descent::cli
