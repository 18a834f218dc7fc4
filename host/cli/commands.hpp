// The subcommands of the descent binary. Each registers its options on the CLI11 app and
// returns the function that runs it once the command line has been parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace descent::cli {

using Run = std::function<int()>;

Run add_derive_command(CLI::App& app);
// An expression that starts with '-' ("-x^2") is an argument of `descent derive` anywhere on its
// command line, before or after its options, with or without a "--" in front; an options parser
// would read it as a flag, so the arguments are rewritten first: such an expression becomes
// "--expression=-x^2" (a hidden option that sets the target), a "--" before it goes.
std::vector<std::string> rewrite_derive_expressions(std::vector<std::string> args);
Run add_train_command(CLI::App& app);
Run add_config_command(CLI::App& app);
Run add_gradcheck_command(CLI::App& app);
Run add_emit_command(CLI::App& app);
Run add_check_command(CLI::App& app);
Run add_predict_command(CLI::App& app);
Run add_eval_command(CLI::App& app);

}  // namespace descent::cli
