// `descent predict RUN --data FILE [--out FILE] [--model NAME]` and `descent eval RUN --data
// FILE`: a finished run applied to new rows, with the standardization and class labels that
// training saved (host/predict). predict writes the model expression's value per row as CSV
// (stdout, or --out FILE; .npy when FILE ends so); eval prints the cost on the rows.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.hpp"
#include "common/json.hpp"
#include "predict/predict.hpp"

namespace descent::cli {

namespace {

struct PredictOptions {
  std::string run;
  std::vector<std::string> data;
  std::string out;
  std::string model;
};

int run_predict(const PredictOptions& options) {
  TrainedRun run = open_trained_run(options.run);
  const Prediction prediction = predict_rows(run, options.data, options.model);
  if (options.out.empty()) {
    std::cout << prediction_csv(prediction) << std::flush;
  } else {
    write_prediction(prediction, options.out);
  }
  return 0;
}

int run_eval(const PredictOptions& options) {
  TrainedRun run = open_trained_run(options.run);
  const CostOnRows cost = evaluate_cost(run, options.data);
  std::cout << fmt::format("cost {} on {} rows\n", format_shortest(cost.cost), cost.rows)
            << std::flush;
  return 0;
}

void add_data_options(CLI::App* cmd, PredictOptions& options) {
  cmd->add_option("run", options.run, "A run directory that descent train wrote")->required();
  cmd->add_option("--data", options.data,
                  "The rows: a CSV file with the training file's columns (a label column may be "
                  "absent for predict), or NAME=FILE.npy per input of a run trained from .npy")
      ->required()
      ->allow_extra_args(false);
}

}  // namespace

Run add_predict_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand(
      "predict", "Evaluate a trained run's model expression on new rows (saved standardization)");
  add_data_options(cmd, *options);
  cmd->add_option("--out", options->out,
                  "Write here (.npy when it ends so, else CSV); default: "
                  "CSV on stdout");
  cmd->add_option("--model", options->model,
                  "The [model] expression to evaluate (default: the last one)");
  return [options, cmd]() -> int { return cmd->parsed() ? run_predict(*options) : -1; };
}

Run add_eval_command(CLI::App& app) {
  auto options = std::make_shared<PredictOptions>();
  CLI::App* cmd =
      app.add_subcommand("eval", "Print a trained run's cost (mean loss + penalties) on new rows");
  add_data_options(cmd, *options);
  return [options, cmd]() -> int { return cmd->parsed() ? run_eval(*options) : -1; };
}

}  // namespace descent::cli
