// Covers host/predict (trained_run, new_rows, predict), host/run/data_json and the predict and
// eval commands (host/cli/predict_command.cpp), through the descent binary:
//   1. data.json keeps each standardized input's mean and population std, computed here from
//      the raw training rows;
//   2. `descent predict` on a run trained with standardization reproduces, from the raw CSV,
//      the model's values on the run's own training rows (the Interpreter on the run's
//      standardized data set, with the run's final parameters) to 1e-12, and on its validation
//      rows too (where statistics recomputed from the new rows would differ); so does a class
//      input with string labels, and a file without the label column;
//   3. `descent eval` prints the cost (mean loss + penalties) that the Interpreter gives on the
//      same rows;
//   4. a run trained from .npy files predicts from --data NAME=FILE.npy with its saved
//      standardization;
//   5. the errors: a missing column, a RUN that is not a run directory, an unknown model name,
//      an unseen class label, a minimize-mode run, each with its exit code and message.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "cli/experiment_setup.hpp"
#include "common/json.hpp"
#include "cpu/interpreter.hpp"
#include "data/npy.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

// The lines of a text file.
std::vector<std::string> lines_of(const fs::path& path) {
  std::vector<std::string> lines;
  std::istringstream in(read_file(path));
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A CSV of the header and the given data rows (0-based, header not counted) of `lines`, with
// the column at index `drop` (if any) taken out.
std::string csv_of_rows(const std::vector<std::string>& lines,
                        const std::vector<std::int64_t>& rows, int drop = -1) {
  auto without = [&](const std::string& line) {
    if (drop < 0) return line + "\n";
    std::vector<std::string> cells;
    std::istringstream in(line);
    for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
    cells.erase(cells.begin() + drop);
    std::string out;
    for (const std::string& c : cells) out += (out.empty() ? "" : ",") + c;
    return out + "\n";
  };
  std::string text = without(lines.at(0));
  for (std::int64_t r : rows) text += without(lines.at(static_cast<std::size_t>(r + 1)));
  return text;
}

// A run trained by the binary on the CPU, and the same experiment set up in this process (the
// same config and seed: the same split and standardized rows).
struct TrainedExample {
  Experiment experiment;
  std::vector<std::vector<double>> params;  // the run's final parameters, Program order
  std::vector<std::string> raw_lines;       // the data file as written
};

TrainedExample train_example(const std::string& config, const fs::path& run_dir,
                             const TempDir& scratch) {
  const CliResult trained = run_descent({"train", config_path(config).string(), "--device", "cpu",
                                         "--quiet", "--out", run_dir.string()},
                                        scratch.path());
  EXPECT_EQ(trained.exit_code, 0) << trained.err;
  TrainedExample t;
  t.experiment = set_up_experiment(config_path(config).string(), {});
  for (const ProgramParam& p : t.experiment.program->params)
    t.params.push_back(read_npy_f8(run_dir / "params" / (p.name + ".npy")).values);
  t.raw_lines = lines_of(t.experiment.config.data.file);
  return t;
}

// A node's values on the rows of a split (one value when it is the same for every row).
struct RowValues {
  std::int64_t rows = 0;  // 0: one value for all rows
  std::vector<double> values;
};

// The Interpreter's values of `nodes` on a split of the run's own (standardized) data set.
std::vector<RowValues> interpret_on_split(const TrainedExample& t, const std::vector<NodeId>& nodes,
                                          bool validation) {
  const Program& program = *t.experiment.program;
  const Dataset& data = *t.experiment.dataset;
  Interpreter interpreter(program.graph, nodes);
  const std::int64_t rows = validation ? data.validation_rows : data.train_rows;
  for (const DatasetInput& in : data.inputs) {
    const NodeId v = program.graph.find_variable(in.name);
    if (v == kNoNode) continue;
    const std::span<const double> values = validation ? data.validation(in) : data.train(in);
    interpreter.set(v, Tensor{in.shape, rows, std::vector<double>(values.begin(), values.end())});
  }
  for (std::size_t i = 0; i < program.params.size(); ++i)
    interpreter.set(program.params[i].node, Tensor{program.params[i].shape, 0, t.params[i]});
  interpreter.run();
  std::vector<RowValues> out;
  for (NodeId id : nodes) {
    const Tensor& value = interpreter.value(id);
    out.push_back({value.batch, {value.values(), value.values() + value.count()}});
  }
  return out;
}

// The file rows of a split.
std::vector<std::int64_t> split_rows(const Dataset& data, bool validation) {
  const auto begin = data.file_rows.begin() + (validation ? data.train_rows : 0);
  return {begin, begin + (validation ? data.validation_rows : data.train_rows)};
}

// `descent predict RUN --data FILE --model NAME --out OUT.npy` compared with the Interpreter's
// value of that model expression on the split, element by element, to 1e-12.
void expect_predict_reproduces(TrainedExample& t, const fs::path& run_dir, const TempDir& dir,
                               const std::string& model, bool validation) {
  const fs::path csv = dir / (model + (validation ? "_val.csv" : "_train.csv"));
  write_file(csv, csv_of_rows(t.raw_lines, split_rows(*t.experiment.dataset, validation)));
  const fs::path out = dir / (model + (validation ? "_val.npy" : "_train.npy"));
  const CliResult predicted = run_descent({"predict", run_dir.string(), "--data", csv.string(),
                                           "--model", model, "--out", out.string()},
                                          dir.path());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const NodeId node = lower_model_expression(t.experiment.config, *t.experiment.program, model);
  const RowValues expected = interpret_on_split(t, {node}, validation)[0];
  const NpyF8 got = read_npy_f8(out);
  ASSERT_EQ(got.values.size(), expected.values.size());
  EXPECT_EQ(got.shape.at(0), static_cast<std::size_t>(expected.rows));
  for (std::size_t k = 0; k < got.values.size(); ++k)
    ASSERT_NEAR(got.values[k], expected.values[k], 1e-12) << model << " element " << k;
}

// The cells of a metrics.csv column, by step.
std::map<long, std::string> metrics_column(const fs::path& run, const std::string& column) {
  const std::vector<std::string> lines = lines_of(run / "metrics.csv");
  std::vector<std::string> header;
  std::istringstream head(lines.at(0));
  for (std::string cell; std::getline(head, cell, ',');) header.push_back(cell);
  const auto at = std::find(header.begin(), header.end(), column);
  EXPECT_NE(at, header.end()) << column << " is not a column of metrics.csv: " << lines.at(0);
  const auto index = static_cast<std::size_t>(at - header.begin());
  std::map<long, std::string> cells;
  for (std::size_t k = 1; k < lines.size(); ++k) {
    std::vector<std::string> row;
    std::istringstream in(lines[k]);
    for (std::string cell; std::getline(in, cell, ',');) row.push_back(cell);
    row.resize(header.size());
    cells[std::stol(row[0])] = row[index];
  }
  return cells;
}

// The classifiers' logged validation accuracy ([metrics] accuracy) is the share of validation
// rows that `descent predict` classifies right, exactly: the count over the row count, at the
// parameters params.json holds (the best step's with early stopping, else the last step's).
TEST(Predict, LoggedValidationAccuracyIsACountOfPredictions) {
  for (const std::string config : {"softmax.toml", "mlp.toml"}) {
    TempDir dir("descent_accuracy");
    const fs::path run = dir / "run";
    TrainedExample t = train_example(config, run, dir);
    const std::map<long, std::string> accuracy = metrics_column(run, "val_accuracy");
    ASSERT_FALSE(accuracy.empty()) << config;
    long step = accuracy.rbegin()->first;
    if (t.experiment.config.train.early_stopping.patience > 0) {
      const Json manifest = Json::parse(read_file(run / "manifest.json"), "manifest.json");
      step = static_cast<long>(manifest.find("best_step")->as_integer());
    }
    ASSERT_TRUE(accuracy.count(step) && !accuracy.at(step).empty()) << config << " step " << step;
    const double logged = std::stod(accuracy.at(step));

    const Dataset& data = *t.experiment.dataset;
    const fs::path csv = dir / "validation.csv";
    write_file(csv, csv_of_rows(t.raw_lines, split_rows(data, true)));
    const fs::path out = dir / "predicted.npy";
    const CliResult predicted = run_descent(
        {"predict", run.string(), "--data", csv.string(), "--out", out.string()}, dir.path());
    ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
    const NpyF8 values = read_npy_f8(out);
    std::vector<double> labels;
    for (const DatasetInput& in : data.inputs)
      if (in.name == "y") {
        const std::span<const double> rows = data.validation(in);
        labels.assign(rows.begin(), rows.end());
      }
    ASSERT_EQ(labels.size(), static_cast<std::size_t>(data.validation_rows)) << config;
    const std::size_t width = values.values.size() / labels.size();
    long right = 0;
    for (std::size_t r = 0; r < labels.size(); ++r) {
      const double* row = values.values.data() + r * width;
      // softmax.toml: the largest of the logits; mlp.toml: z > 0.
      const double chosen = width > 1
                                ? static_cast<double>(std::max_element(row, row + width) - row)
                                : (row[0] > 0 ? 1.0 : 0.0);
      right += chosen == labels[r];
    }
    EXPECT_EQ(logged, static_cast<double>(right) / static_cast<double>(labels.size()))
        << config << ": " << right << " of " << labels.size() << " right, logged " << logged;
    EXPECT_GT(right, 0) << config;
    // The metric's chart: its own axis name, both series.
    const std::string svg = read_file(run / "accuracy.svg");
    EXPECT_NE(svg.find(">accuracy</text>"), std::string::npos) << config;
    EXPECT_NE(svg.find(": accuracy</title>"), std::string::npos) << config;
    EXPECT_NE(svg.find("validation"), std::string::npos) << config;
    EXPECT_NE(svg.find("<polyline"), std::string::npos) << config;
  }
}

TEST(Predict, DataJsonKeepsTheTrainingSplitsMeanAndPopulationStd) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("logistic.toml", run, dir);
  const Json data = Json::parse(read_file(run / "data.json"), "data.json");
  const Json& x = data.find("inputs")->at(0);
  ASSERT_EQ(x.find("name")->as_string(), "x");
  const Json& stats = *x.find("standardize");
  // x1 and x2 are the first two columns of the raw file.
  const std::vector<std::int64_t> rows = split_rows(*t.experiment.dataset, false);
  for (std::size_t c = 0; c < 2; ++c) {
    std::vector<double> column;
    for (std::int64_t r : rows) {
      std::istringstream line(t.raw_lines.at(static_cast<std::size_t>(r + 1)));
      std::string cell;
      for (std::size_t k = 0; k <= c; ++k) std::getline(line, cell, ',');
      column.push_back(std::stod(cell));
    }
    double mean = 0, sq = 0;
    for (double v : column) mean += v;
    mean /= static_cast<double>(column.size());
    for (double v : column) sq += (v - mean) * (v - mean);
    const double population_std = std::sqrt(sq / static_cast<double>(column.size()));
    EXPECT_NEAR(stats.find("mean")->at(c).as_double(), mean, 1e-12);
    EXPECT_NEAR(stats.find("scale")->at(c).as_double(), population_std, 1e-12);
  }
  EXPECT_EQ(data.find("train_rows")->as_integer(), t.experiment.dataset->train_rows);
  EXPECT_EQ(x.find("columns")->at(1).as_string(), "x2");
}

TEST(Predict, ReproducesTheRunsOwnPredictionsFromTheRawCsv) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("logistic.toml", run, dir);
  ASSERT_TRUE(t.experiment.config.data.inputs[0].standardize);
  expect_predict_reproduces(t, run, dir, "z", /*validation=*/false);
  expect_predict_reproduces(t, run, dir, "z", /*validation=*/true);

  // Without the label column, and on stdout as CSV: the same numbers, shortest round-trip form.
  const fs::path unlabelled = dir / "unlabelled.csv";
  write_file(unlabelled, csv_of_rows(t.raw_lines, split_rows(*t.experiment.dataset, true), 2));
  const CliResult printed =
      run_descent({"predict", run.string(), "--data", unlabelled.string()}, dir.path());
  ASSERT_EQ(printed.exit_code, 0) << printed.err;
  const std::vector<std::string> lines = [&] {
    std::vector<std::string> out;
    std::istringstream in(printed.out);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }();
  const NodeId z = lower_model_expression(t.experiment.config, *t.experiment.program, "z");
  const RowValues expected = interpret_on_split(t, {z}, true)[0];
  ASSERT_EQ(lines.size(), expected.values.size() + 1);
  EXPECT_EQ(lines[0], "z");
  for (std::size_t r = 0; r < expected.values.size(); ++r)
    EXPECT_NEAR(std::stod(lines[r + 1]), expected.values[r], 1e-12);
}

TEST(Predict, AFileLargerThanAChunkGivesTheSameValues) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("logistic.toml", run, dir);
  // The training rows 30 times over: 9600 rows, more than the 8192 evaluated at once.
  const std::vector<std::int64_t> once = split_rows(*t.experiment.dataset, false);
  std::vector<std::int64_t> repeated;
  for (int k = 0; k < 30; ++k) repeated.insert(repeated.end(), once.begin(), once.end());
  const fs::path csv = dir / "large.csv";
  write_file(csv, csv_of_rows(t.raw_lines, repeated));
  const fs::path out = dir / "large.npy";
  const CliResult predicted = run_descent(
      {"predict", run.string(), "--data", csv.string(), "--out", out.string()}, dir.path());
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  const NodeId z = lower_model_expression(t.experiment.config, *t.experiment.program, "z");
  const RowValues expected = interpret_on_split(t, {z}, false)[0];
  const NpyF8 got = read_npy_f8(out);
  ASSERT_EQ(got.values.size(), repeated.size());
  for (std::size_t r = 0; r < got.values.size(); ++r)
    ASSERT_NEAR(got.values[r], expected.values[r % once.size()], 1e-12) << "row " << r;
  // eval: the mean over the repeated rows is the training rows' cost, up to rounding.
  const CliResult evaluated =
      run_descent({"eval", run.string(), "--data", csv.string()}, dir.path());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const double cost =
      interpret_on_split(t, {t.experiment.program->reported}, false)[0].values.at(0);
  EXPECT_NE(evaluated.out.find(" on 9600 rows"), std::string::npos) << evaluated.out;
  EXPECT_NEAR(std::stod(evaluated.out.substr(5)), cost, 1e-12 * std::max(1.0, cost));
}

TEST(Predict, ClassLabelsAndVectorValuesFollowTheRun) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("softmax.toml", run, dir);
  expect_predict_reproduces(t, run, dir, "logits", /*validation=*/true);

  // eval: the reported cost of the validation rows, as the Interpreter computes it.
  const fs::path val = dir / "val.csv";
  write_file(val, csv_of_rows(t.raw_lines, split_rows(*t.experiment.dataset, true)));
  const CliResult evaluated =
      run_descent({"eval", run.string(), "--data", val.string()}, dir.path());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const double expected =
      interpret_on_split(t, {t.experiment.program->reported}, true)[0].values.at(0);
  std::istringstream words(evaluated.out);
  std::string word, on, rows_word;
  double cost = 0;
  long rows = 0;
  words >> word >> cost >> on >> rows >> rows_word;
  EXPECT_EQ(word, "cost");
  EXPECT_NEAR(cost, expected, 1e-12 * std::max(1.0, std::fabs(expected)));
  EXPECT_EQ(rows, t.experiment.dataset->validation_rows);

  // A label that training never saw.
  write_file(val, "x1,x2,colour\n0.5,0.5,purple\n");
  const CliResult unseen = run_descent({"eval", run.string(), "--data", val.string()}, dir.path());
  EXPECT_EQ(unseen.exit_code, 2);
  EXPECT_NE(unseen.err.find("the label 'purple'"), std::string::npos) << unseen.err;
  EXPECT_NE(unseen.err.find("blue, green, red"), std::string::npos) << unseen.err;
}

TEST(Predict, EvalWithPenaltiesMatchesTheInterpreterOnTheTrainingRows) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("mlp.toml", run, dir);
  ASSERT_FALSE(t.experiment.program->penalties.empty());
  const fs::path train = dir / "train.csv";
  write_file(train, csv_of_rows(t.raw_lines, split_rows(*t.experiment.dataset, false)));
  const CliResult evaluated =
      run_descent({"eval", run.string(), "--data", train.string()}, dir.path());
  ASSERT_EQ(evaluated.exit_code, 0) << evaluated.err;
  const double expected =
      interpret_on_split(t, {t.experiment.program->reported}, false)[0].values.at(0);
  std::istringstream words(evaluated.out);
  std::string word;
  double cost = 0;
  words >> word >> cost;
  EXPECT_NEAR(cost, expected, 1e-12 * std::max(1.0, std::fabs(expected)));
  // A model expression that is not the last one ("hidden", a vector per row).
  expect_predict_reproduces(t, run, dir, "hidden", /*validation=*/false);
}

TEST(Predict, ARunTrainedFromNpyFilesTakesNameEqualsFileNpy) {
  TempDir dir("descent_predict");
  // 40 rows of 3 features, y a linear function of them; x standardized.
  std::vector<double> x, y;
  for (int r = 0; r < 40; ++r) {
    const double a = r * 0.5, b = std::sin(r) * 3 + 10, c = (r % 7) - 2.0;
    x.insert(x.end(), {a, b, c});
    y.push_back(0.3 * a - 2 * b + c + 1);
  }
  write_npy((dir / "X.npy").string(), {40, 3}, x);
  write_npy((dir / "y.npy").string(), {40}, y);
  write_file(dir / "npy.toml",
             "[data]\nnpy = { x = \"X.npy\", y = \"y.npy\" }\nstandardize = [\"x\"]\n"
             "[params]\nw = { shape = [3] }\nb = 0.0\n[model]\nz = \"dot(w, x) + b\"\n"
             "[cost]\nloss = \"(z - y)^2\"\n[train]\nlr = 0.1\nepochs = 50\n");
  const fs::path run = dir / "run";
  CliResult r = run_descent(
      {"train", (dir / "npy.toml").string(), "--device", "cpu", "--quiet", "--out", run.string()},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // New rows: the first 5, as their own file.
  write_npy((dir / "new.npy").string(), {5, 3}, std::vector<double>(x.begin(), x.begin() + 15));
  const fs::path out = dir / "z.npy";
  r = run_descent(
      {"predict", run.string(), "--data", "x=" + (dir / "new.npy").string(), "--out", out.string()},
      dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Expected: w . ((x - mean) / population std) + b, the statistics of all 40 training rows.
  const std::vector<double> w = read_npy_f8(run / "params" / "w.npy").values;
  const double b = read_npy_f8(run / "params" / "b.npy").values.at(0);
  double mean[3] = {0, 0, 0}, sd[3] = {0, 0, 0};
  for (int r2 = 0; r2 < 40; ++r2)
    for (int c = 0; c < 3; ++c) mean[c] += x[static_cast<std::size_t>(r2 * 3 + c)] / 40;
  for (int r2 = 0; r2 < 40; ++r2)
    for (int c = 0; c < 3; ++c) {
      const double d = x[static_cast<std::size_t>(r2 * 3 + c)] - mean[c];
      sd[c] += d * d / 40;
    }
  const NpyF8 got = read_npy_f8(out);
  ASSERT_EQ(got.shape, (std::vector<std::size_t>{5}));
  for (int r2 = 0; r2 < 5; ++r2) {
    double z = b;
    for (int c = 0; c < 3; ++c)
      z += w[static_cast<std::size_t>(c)] * (x[static_cast<std::size_t>(r2 * 3 + c)] - mean[c]) /
           std::sqrt(sd[c]);
    EXPECT_NEAR(got.values[static_cast<std::size_t>(r2)], z, 1e-12 * std::max(1.0, std::fabs(z)));
  }
  // Without the input: a message saying how to give it.
  r = run_descent({"predict", run.string(), "--data", (dir / "new.npy").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("give --data x=FILE.npy"), std::string::npos) << r.err;
  // An array of the wrong shape.
  r = run_descent({"predict", run.string(), "--data", "x=" + (dir / "y.npy").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("its array has shape (40)"), std::string::npos) << r.err;
}

TEST(Predict, ErrorsNameWhatIsWrongWithTheirExitCodes) {
  TempDir dir("descent_predict");
  const fs::path run = dir / "run";
  TrainedExample t = train_example("logistic.toml", run, dir);
  const fs::path rows = dir / "rows.csv";

  // A needed column is missing: exit 2, naming the column and the input.
  write_file(rows, "x1,y\n1,0\n");
  CliResult r = run_descent({"predict", run.string(), "--data", rows.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no column 'x2', which the input 'x' needs"), std::string::npos)
      << r.err;
  // eval needs the label too.
  write_file(rows, "x1,x2\n1,0\n");
  r = run_descent({"eval", run.string(), "--data", rows.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("has no column 'y', which the input 'y' needs for the cost"),
            std::string::npos)
      << r.err;

  // Not a run directory: exit 4.
  r = run_descent({"predict", dir.path().string(), "--data", rows.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_NE(r.err.find("is not a run directory"), std::string::npos) << r.err;

  // An unknown model expression: exit 2, listing the model's names.
  r = run_descent({"predict", run.string(), "--data", rows.string(), "--model", "p"}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no expression named 'p'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("its expressions: z"), std::string::npos) << r.err;

  // A missing data file: exit 4.
  r = run_descent({"predict", run.string(), "--data", (dir / "none.csv").string()}, dir.path());
  EXPECT_EQ(r.exit_code, 4) << r.err;

  // A minimize-mode run has no rows to predict on: exit 2.
  const fs::path minimize = dir / "minimize";
  r = run_descent({"train", config_path("himmelblau.toml").string(), "--device", "cpu", "--quiet",
                   "--set", "train.steps=5", "--out", minimize.string()},
                  dir.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_descent({"predict", minimize.string(), "--data", rows.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("minimize-mode run"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace descent::test
