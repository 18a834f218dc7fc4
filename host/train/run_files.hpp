// The files a training run leaves in its run directory, besides checkpoints:
//   metrics.csv / metrics.jsonl  one row per logged step (MetricsLog), flushed as it is written
//   loss.svg                     a self-contained line chart of the train and validation loss
//   manifest.json                what ran: config, settings, versions, outcome (write_manifest)
// Whole-file writes are atomic (temp file, fsync, rename), so a crash never leaves half a file.
//
// Does not: decide what to log or when (the training loop), write checkpoints, or read any of
// these files back except the metrics logs, which a resumed run truncates to its checkpoint.
#pragma once

#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

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
};

// Appends MetricsRows to <run_dir>/metrics.csv and <run_dir>/metrics.jsonl. Each row is
// flushed to the OS as soon as it is appended, so a crash loses at most the row being written.
class MetricsLog {
 public:
  static constexpr std::string_view kCsvName = "metrics.csv";
  static constexpr std::string_view kJsonlName = "metrics.jsonl";
  // The CSV header line (without its newline); the JSON keys are the same names.
  static constexpr std::string_view kCsvHeader =
      "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s";

  // Starts empty logs in run_dir (created if missing), replacing any that are there.
  static MetricsLog create(const std::filesystem::path& run_dir);

  // Reopens the logs of a run resumed from the checkpoint of step `last_step`: rows with
  // step > last_step (logged after that checkpoint, so about to be logged again) are dropped,
  // as is a torn last line; both files are rewritten atomically, then appended to. A missing
  // file starts empty. A CSV whose header is not kCsvHeader, or a row whose step cannot be
  // read, is an I/O error (ExitCode::io_error): the file is not ours to rewrite.
  static MetricsLog resume(const std::filesystem::path& run_dir, long last_step);

  // Writes the row to both files and flushes them. An I/O error throws (ExitCode::io_error).
  void append(const MetricsRow& row);

  const std::filesystem::path& csv_path() const { return csv_path_; }
  const std::filesystem::path& jsonl_path() const { return jsonl_path_; }

 private:
  explicit MetricsLog(const std::filesystem::path& run_dir);
  void open_for_append();

  std::filesystem::path csv_path_;
  std::filesystem::path jsonl_path_;
  std::ofstream csv_;
  std::ofstream jsonl_;
};

// One point of a loss curve.
struct LossPoint {
  long step = 0;
  double loss = 0;
};

// An SVG line chart of the train loss (solid) and the validation loss (dashed, with markers):
// title, axes with tick labels, axis names, legend. y is on a log scale when the finite losses
// are all positive and span more than two decades. A series longer than 2000 points is
// decimated to at most 2000 by keeping the minimum and maximum of each of 1000 buckets, so
// spikes survive. Non-finite losses (and, on a log scale, non-positive ones) are not drawn.
// Points are drawn in the order given.
std::string render_loss_svg(std::span<const LossPoint> train, std::span<const LossPoint> val,
                            std::string_view title = "loss");

// render_loss_svg, written atomically to `path`. An I/O error throws (ExitCode::io_error).
void write_loss_svg(const std::filesystem::path& path, std::span<const LossPoint> train,
                    std::span<const LossPoint> val, std::string_view title = "loss");

// The training and validation losses logged in a run directory's metrics.csv (all of them,
// across resumes), for the plot. A missing file gives no points.
void read_loss_points(const std::filesystem::path& run_dir, std::vector<LossPoint>& train,
                      std::vector<LossPoint>& val);

// Writes `fields` (a Json object) to `path` as indented JSON with a trailing newline,
// atomically. Not an object: an internal error (ExitCode::failure). I/O errors: io_error.
void write_manifest(const std::filesystem::path& path, const Json& fields);

}  // namespace descent
