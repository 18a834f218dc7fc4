// A training run's directory (README "Run directories"): where a run's files live, how a new
// one is started, and the outputs a finished run leaves:
//   config.resolved.toml          the effective config (written when the run starts)
//   checkpoint.bin                (written by host/train/checkpoint.hpp; its path is here)
//   metrics.csv, metrics.jsonl    (metrics_log.hpp)
//   params.json, params/NAME.npy  the final parameters
//   loss.svg                      the loss chart, drawn from metrics.csv
//   manifest.json                 what ran: settings, versions, outcome
// Whole-file writes are atomic (temporary file, fsync, rename).
//
// Does not: decide what a run does or when (host/train), or read a checkpoint.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "program/program.hpp"
#include "run/metrics_log.hpp"

namespace descent {

class RunDirectory {
 public:
  static constexpr const char* kCheckpointFile = "checkpoint.bin";
  static constexpr const char* kResolvedConfigFile = "config.resolved.toml";

  // A new run: the directory must be missing or empty (else a user error naming it); it is
  // created and the resolved config written into it.
  static RunDirectory create(const std::filesystem::path& dir, const std::string& resolved_config);
  // An existing run's directory, to resume.
  static RunDirectory open(const std::filesystem::path& dir);

  const std::filesystem::path& path() const { return dir_; }
  std::filesystem::path checkpoint_path() const { return dir_ / kCheckpointFile; }

  // params.json and params/NAME.npy: `values` in Program order (minimize mode: every start's
  // copy, with a leading axis of starts).
  void write_parameters(const Program& program,
                        const std::vector<std::vector<double>>& values) const;
  // loss.svg from every row of metrics.csv (across resumes).
  void write_loss_plot(const std::string& title) const;
  // manifest.json: `fields` must be a Json object.
  void write_manifest(const Json& fields) const;

 private:
  explicit RunDirectory(std::filesystem::path dir) : dir_(std::move(dir)) {}
  std::filesystem::path dir_;
};

}  // namespace descent
