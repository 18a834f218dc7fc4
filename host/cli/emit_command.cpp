// `descent emit CONFIG [--precision f32|f64] [--set key=value ...]`: prints the CUDA C++ that
// the emitter (host/codegen/emit.hpp) makes of a config's training step and evaluation, the text
// NVRTC compiles (with the headers of codegen/kernel_headers.hpp); it compiles as host C++ too,
// with host/ on the include path.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/experiment_setup.hpp"
#include "codegen/emit.hpp"

namespace descent::cli {

namespace {

struct EmitCommandOptions {
  std::string config;
  std::vector<std::string> overrides;
  std::string precision = "f32";
};
}  // namespace

Run add_emit_command(CLI::App& app) {
  auto options = std::make_shared<EmitCommandOptions>();
  CLI::App* cmd =
      app.add_subcommand("emit", "Print the CUDA C++ emitted for a config's training step");
  cmd->add_option("config", options->config, "The experiment's TOML config")->required();
  cmd->add_option("--precision", options->precision, "The emitted code's floating-point type")
      ->check(CLI::IsMember({"f32", "f64"}));
  cmd->add_option("--set", options->overrides, "Override a config value, e.g. --set train.lr=0.1")
      ->allow_extra_args(false);
  return [options, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    const Experiment e = set_up_experiment(options->config, options->overrides);
    const codegen::Precision precision =
        options->precision == "f64" ? codegen::Precision::f64 : codegen::Precision::f32;
    codegen::EmitOptions emit;
    emit.name = codegen::c_identifier(e.config.name);
    emit.precision = precision;
    std::cout << codegen::emit_program(*e.program, e.plan, emit).source();
    return 0;
  };
}

}  // namespace descent::cli
