// Memory estimates of a run (see memory_estimate.hpp).
#include "cli/memory_estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "common/error.hpp"
#include "data/npy.hpp"
#include "optim/update_rules.hpp"

namespace descent::cli {

namespace {

constexpr std::int64_t kUnknown = std::numeric_limits<std::int64_t>::max() / 4;

std::string gigabytes(double bytes) { return fmt::format("{:.3g} GB", bytes / 1e9); }

// The first number after `key` in a /proc or cgroup file, in bytes (kB in /proc/meminfo).
std::int64_t number_after(const std::string& path, const std::string& key, std::int64_t unit) {
  std::ifstream in(path);
  std::string word;
  while (in >> word)
    if (word == key) {
      std::string value;
      if (!(in >> value) || value == "max") return kUnknown;
      try {
        return std::stoll(value) * unit;
      } catch (const std::exception&) {
        return kUnknown;
      }
    }
  return kUnknown;
}

std::int64_t file_size(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<std::int64_t>(size);
}

// A CSV file's values, from the separators in its first MiB, scaled to the whole file.
double csv_values(const std::string& path) {
  const std::int64_t size = file_size(path);
  std::ifstream in(path, std::ios::binary);
  std::string head(static_cast<std::size_t>(std::min<std::int64_t>(size, 1 << 20)), '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  const auto separators =
      std::count_if(head.begin(), head.end(), [](char c) { return c == ',' || c == '\n'; });
  if (separators == 0) return 0;
  return static_cast<double>(size) * static_cast<double>(separators) /
         static_cast<double>(head.size());
}

// A .npy file's values in f64, from its header; a file whose header cannot be read is
// estimated as its size in f64 values (load_dataset reports what is wrong with it).
double npy_bytes_as_f64(const std::string& path) {
  try {
    return 8.0 * static_cast<double>(NpyReader(path).count());
  } catch (const Error&) {
    return static_cast<double>(file_size(path));
  }
}

[[noreturn]] void refuse(double needed, std::int64_t available, const std::string& what,
                         const Span& where) {
  throw input_error("this run needs about " + gigabytes(needed) + " of memory (" + what +
                        "), more than the " + gigabytes(static_cast<double>(available)) +
                        " this machine makes available",
                    where);
}

}  // namespace

std::int64_t available_memory() {
  std::int64_t available = number_after("/proc/meminfo", "MemAvailable:", 1024);
  std::ifstream max("/sys/fs/cgroup/memory.max"), current("/sys/fs/cgroup/memory.current");
  std::string max_text, current_text;
  if (max >> max_text && current >> current_text && max_text != "max") {
    try {
      available =
          std::min<std::int64_t>(available, std::stoll(max_text) - std::stoll(current_text));
    } catch (const std::exception&) {
    }
  }
  return available;
}

void check_data_fits(const ExperimentConfig& config, std::int64_t available) {
  if (!config.data.present) return;
  // The data set is read a block at a time straight into its arrays of f64 (dataset.hpp): a
  // CSV file's values, 8 bytes each; a .npy file's, 8 bytes for each element of its shape.
  double needed = 0;
  if (!config.data.file.empty()) needed += 8 * csv_values(config.data.file);
  for (const InputSpec& in : config.data.inputs)
    if (!in.npy_file.empty()) needed += npy_bytes_as_f64(in.npy_file);
  if (needed > static_cast<double>(available))
    refuse(needed, available, "reading the data set", config.data.file_where);
}

void check_run_fits(const ExperimentConfig& config, const Program& program, const ProgramPlan& plan,
                    std::int64_t available) {
  // Every parameter value is held as the value, its gradient, the backend's copy, the
  // checkpoint's serialised copy and the best values (early stopping), plus two copies of each
  // optimizer state array (the loop's and the backend's).
  const int slots = optimizer_state_slots(config.train.optimizer);
  const double per_value = 8.0 * (5 + 2 * slots);
  const std::int64_t copies = program.minimize ? program.starts : 1;
  double params = 0, largest = -1;
  const ProgramParam* widest = nullptr;
  for (const ProgramParam& p : program.params) {
    const double bytes =
        per_value * static_cast<double>(p.shape.size()) * static_cast<double>(copies);
    params += bytes;
    if (bytes > largest) {
      largest = bytes;
      widest = &p;
    }
  }
  // An evaluation that cannot be split into chunks (minimize mode's per-start outputs) holds
  // every per-sample value of every row at once.
  const double workspace =
      plan.step.phased && !plan.step.per_sample_outputs
          ? 2.0 * 512 * 1024
          : 8.0 * static_cast<double>(plan.step.values_per_row) * static_cast<double>(copies);
  const double needed = params + workspace;
  if (needed <= static_cast<double>(available)) return;
  if (workspace > params)
    refuse(needed, available,
           "the evaluation of train.starts = " + std::to_string(program.starts) +
               " starts at once: " + gigabytes(workspace),
           Span{});
  refuse(needed, available,
         "parameters and optimizer state: " + gigabytes(params) + ", mostly '" + widest->name +
             "' (shape " + widest->shape.to_string() + ")" +
             (copies > 1 ? " times " + std::to_string(copies) + " starts" : ""),
         widest->spec->where);
}

}  // namespace descent::cli
