// descent's command line: the composition root. Registers the subcommands, runs the one the
// user named, and turns every descent::Error into its message and documented exit code here,
// in one place (README, "Exit codes").
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "common/error.hpp"

// Only the setup before the first try can throw (out of memory, or a duplicate option: a bug).
// NOLINTNEXTLINE(bugprone-exception-escape)
int main(int argc, char** argv) {
  auto logger = spdlog::stderr_color_mt("descent");
  logger->set_pattern("%v");
  spdlog::set_default_logger(logger);

  CLI::App app{
      "descent: gradient descent on models written as math, with exact symbolic "
      "gradients, a CUDA backend and a double-precision CPU twin"};
  app.set_version_flag("--version", std::string("descent ") + DESCENT_VERSION);
  app.require_subcommand(1);
  std::vector<descent::cli::Run> commands;
  commands.push_back(descent::cli::add_train_command(app));
  commands.push_back(descent::cli::add_derive_command(app));
  commands.push_back(descent::cli::add_gradcheck_command(app));
  commands.push_back(descent::cli::add_config_command(app));
  commands.push_back(descent::cli::add_emit_command(app));
  commands.push_back(descent::cli::add_check_command(app));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(descent::ExitCode::bad_input);
  }

  try {
    for (const auto& run : commands) {
      const int code = run();
      if (code >= 0) return code;
    }
    return 0;
  } catch (const descent::Error& e) {
    spdlog::error("{}", e.render());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    spdlog::error("error: internal: {}", e.what());
    return static_cast<int>(descent::ExitCode::failure);
  }
}
