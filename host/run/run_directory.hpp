// A training run's directory (README "Run directories"): where a run's files live, how a new
// one is started, and the outputs a finished run leaves:
//   config.resolved.toml          the effective config (written when the run starts)
//   checkpoint.bin                (written by host/train/checkpoint.hpp; its path is here)
//   metrics.csv, metrics.jsonl    (metrics_log.hpp)
//   params.json, params/NAME.npy  the final parameters
//   data.json                     fit mode: the inputs' columns, class labels and
//                                 standardization (data_json.hpp)
//   starts_cost.npy               minimize mode: each start's final cost
//   loss.svg                      the loss chart, drawn from metrics.csv
//   manifest.json                 what ran: settings, versions, outcome
//   run.lock                      held (flock) while a process owns the run
// Whole-file writes are atomic (temporary file, fsync, rename); the temporaries a killed process
// leaves behind ("*.tmp-<pid>") are removed when the run is opened again. A directory that a run
// left before its first checkpoint (its config, maybe empty metrics, nothing else of value) is
// "stranded": a new run may take it over, and --resume starts it from the beginning.
//
// Does not: decide what a run does or when (host/train), or read a checkpoint.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "program/program.hpp"
#include "run/data_json.hpp"
#include "run/metrics_log.hpp"

namespace descent {

// One copy of a parameter (row-major `values` of `shape`) as params.json writes it: a number,
// an array, or an array of rows.
Json parameter_json(const std::vector<double>& values, const Shape& shape);

class RunDirectory {
 public:
  static constexpr const char* kCheckpointFile = "checkpoint.bin";
  static constexpr const char* kResolvedConfigFile = "config.resolved.toml";
  static constexpr const char* kLockFile = "run.lock";
  static constexpr const char* kDataFile = "data.json";
  static constexpr const char* kParamsFile = "params.json";
  static constexpr const char* kParamsDir = "params";
  static constexpr const char* kStartsCostFile = "starts_cost.npy";

  // A new run: the directory must be missing, empty or stranded (else a user error naming it);
  // it is created (a stranded one emptied), locked, and the resolved config written into it.
  static RunDirectory create(const std::filesystem::path& dir, const std::string& resolved_config);
  // An existing run's directory, to resume: locked, its stale temporaries removed.
  static RunDirectory open(const std::filesystem::path& dir);

  RunDirectory(RunDirectory&& other) noexcept;
  RunDirectory& operator=(RunDirectory&&) = delete;
  ~RunDirectory();

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path checkpoint_path() const { return dir_ / kCheckpointFile; }
  // True for a directory that open() found stranded: --resume then starts the run again.
  bool stranded() const { return stranded_; }

  // params.json and params/NAME.npy: `values` in Program order (minimize mode: every start's
  // copy, with a leading axis of starts).
  void write_parameters(const Program& program,
                        const std::vector<std::vector<double>>& values) const;
  // Minimize mode: params.json with the best start beside every start's values (`best` is a
  // JSON object), and starts_cost.npy, each start's final cost.
  void write_parameters(const Program& program, const std::vector<std::vector<double>>& values,
                        const Json& best, const std::vector<double>& starts_cost) const;
  // data.json (fit mode): how the data file became the inputs.
  void write_data_description(const SavedData& data) const;
  // loss.svg from every row of metrics.csv (across resumes).
  void write_loss_plot(const std::string& title) const;
  // <name>.svg for each [metrics] name: the metric over the logged batches and the validation
  // split, from metrics.csv, titled "<experiment>: <name>".
  void write_metric_plots(const std::vector<std::string>& names,
                          const std::string& experiment) const;
  // manifest.json: `fields` must be a Json object.
  void write_manifest(const Json& fields) const;

 private:
  // params/NAME.npy written; the parameters as params.json's object.
  Json write_parameter_arrays(const Program& program,
                              const std::vector<std::vector<double>>& values) const;

  RunDirectory(std::filesystem::path dir, int lock) : dir_(std::move(dir)), lock_(lock) {}
  std::filesystem::path dir_;
  int lock_ = -1;  // the flock'ed descriptor of run.lock
  bool stranded_ = false;
};

}  // namespace descent
