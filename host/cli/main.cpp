// descent's command line: the composition root. Registers the subcommands, runs the one the
// user named, and turns every descent::Error into its message and documented exit code here,
// in one place (README, "Exit codes").
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <new>

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
  commands.push_back(descent::cli::add_predict_command(app));
  commands.push_back(descent::cli::add_eval_command(app));

  std::vector<std::string> args(argv + 1, argv + argc);
  args = descent::cli::rewrite_derive_expressions(std::move(args));
  std::reverse(args.begin(), args.end());  // CLI11 takes the arguments last first
  try {
    app.parse(args);
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
  } catch (const std::filesystem::filesystem_error& e) {
    // A path that cannot be created, read or written (a file where a folder should be, a
    // dangling link, a read-only file system): exit 4, naming the path.
    std::string paths = e.path1().string();
    if (!e.path2().empty()) paths += "' and '" + e.path2().string();
    spdlog::error("error: cannot use '{}': {}", paths, e.code().message());
    return static_cast<int>(descent::ExitCode::io_error);
  } catch (const std::bad_alloc&) {
    spdlog::error(
        "error: out of memory: this run needs more memory than the machine gives it (the data "
        "set, the parameters and their optimizer state are held in memory); try a smaller "
        "batch, fewer starts or a smaller model");
    return static_cast<int>(descent::ExitCode::failure);
  } catch (const std::exception& e) {
    spdlog::error("error: internal: {}", e.what());
    return static_cast<int>(descent::ExitCode::failure);
  }
}
