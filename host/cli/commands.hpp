// The subcommands of the descent binary. Each registers its options on the CLI11 app and
// returns the function that runs it once the command line has been parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace descent::cli {

using Run = std::function<int()>;

Run add_derive_command(CLI::App& app);
Run add_train_command(CLI::App& app);
Run add_config_command(CLI::App& app);
Run add_gradcheck_command(CLI::App& app);
Run add_emit_command(CLI::App& app);
Run add_check_command(CLI::App& app);

}  // namespace descent::cli
