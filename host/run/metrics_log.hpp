// The metrics logs of a run directory: metrics.csv and metrics.jsonl, one row per logged step
// (MetricsLog), flushed as each is written, so a crash loses at most the row being written.
//
// Does not: decide what to log or when (the training loop, host/train), or draw the chart
// (loss_plot.hpp); it reads the CSV back only to truncate a resumed run's rows and for the plot.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "run/loss_plot.hpp"

namespace descent {

// One logged step. val_loss is absent on steps without a validation pass; it is written as an
// empty CSV field and a JSON null. Non-finite values are written as nan/inf in the CSV and as
// null in the JSON (which cannot spell them).
struct MetricsRow {
  long step = 0;
  long epoch = 0;
  double loss = 0;
  std::optional<double> val_loss;
  double lr = 0;
  double grad_norm = 0;
  double samples_per_s = 0;
  double wall_s = 0;
  // The [metrics] of the run, in config order: over the step's batch, and over the validation
  // split on steps with a validation pass (absent otherwise, like val_loss).
  std::vector<std::optional<double>> metrics;
  std::vector<std::optional<double>> val_metrics;
};

// Appends MetricsRows to <run_dir>/metrics.csv and <run_dir>/metrics.jsonl. Each row is
// flushed to the OS as soon as it is appended, so a crash loses at most the row being written.
class MetricsLog {
 public:
  static constexpr std::string_view kCsvName = "metrics.csv";
  static constexpr std::string_view kJsonlName = "metrics.jsonl";
  // The CSV header line (without its newline) of a run without [metrics]; the JSON keys are the
  // same names. A run's metrics follow as two columns each: <name>, val_<name>.
  static constexpr std::string_view kCsvHeader =
      "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s";
  static std::string csv_header(const std::vector<std::string>& metric_names);

  // Starts empty logs in run_dir (created if missing), replacing any that are there.
  static MetricsLog create(const std::filesystem::path& run_dir,
                           const std::vector<std::string>& metric_names = {});

  // Reopens the logs of a run resumed from the checkpoint of step `last_step`: rows with
  // step > last_step (logged after that checkpoint, so about to be logged again) are dropped,
  // as is a torn last line; both files are rewritten atomically, then appended to. A missing
  // file starts empty. A CSV whose header is not kCsvHeader, or a row whose step cannot be
  // read, is an I/O error (ExitCode::io_error): the file is not ours to rewrite.
  static MetricsLog resume(const std::filesystem::path& run_dir, long last_step,
                           const std::vector<std::string>& metric_names = {});

  // Writes the row to both files and flushes them. An I/O error throws (ExitCode::io_error).
  void append(const MetricsRow& row);

  const std::filesystem::path& csv_path() const { return csv_path_; }
  const std::filesystem::path& jsonl_path() const { return jsonl_path_; }

 private:
  MetricsLog(const std::filesystem::path& run_dir, std::vector<std::string> metric_names);
  void open_for_append();

  std::vector<std::string> metric_names_;
  std::filesystem::path csv_path_;
  std::filesystem::path jsonl_path_;
  std::ofstream csv_;
  std::ofstream jsonl_;
};

// The training and validation losses logged in a run directory's metrics.csv (all of them,
// across resumes), for the plot. A missing file gives no points.
void read_loss_points(const std::filesystem::path& run_dir, std::vector<LossPoint>& train,
                      std::vector<LossPoint>& val);
// The values of the [metrics] column `name` and of val_<name> logged in metrics.csv (empty
// cells left out), for the metric's chart. A missing file or column gives no points.
void read_metric_points(const std::filesystem::path& run_dir, const std::string& name,
                        std::vector<LossPoint>& train, std::vector<LossPoint>& val);

}  // namespace descent
