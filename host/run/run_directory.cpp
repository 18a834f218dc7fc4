// The run directory's layout and its final outputs (see run_directory.hpp).
#include "run/run_directory.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "data/npy.hpp"
#include "run/loss_plot.hpp"

namespace fs = std::filesystem;

namespace descent {

namespace {

// One copy of a parameter (at `offset`) as nested JSON arrays of its shape.
Json copy_json(const std::vector<double>& v, const Shape& shape, std::int64_t offset) {
  const auto at = [&](std::int64_t i) { return v[static_cast<std::size_t>(offset + i)]; };
  if (shape.rank == 0) return Json(at(0));
  Json outer = Json::array();
  if (shape.rank == 1) {
    for (std::int64_t i = 0; i < shape.size(); ++i) outer.push(at(i));
    return outer;
  }
  for (std::int64_t r = 0; r < shape.rows(); ++r) {
    Json row = Json::array();
    for (std::int64_t c = 0; c < shape.cols(); ++c) row.push(at(r * shape.cols() + c));
    outer.push(std::move(row));
  }
  return outer;
}

// A parameter's values as JSON: one copy, or an array of `copies` copies.
Json values_json(const std::vector<double>& v, const Shape& shape, std::int64_t copies) {
  if (copies <= 1) return copy_json(v, shape, 0);
  Json all = Json::array();
  for (std::int64_t c = 0; c < copies; ++c) all.push(copy_json(v, shape, c * shape.size()));
  return all;
}

// A run that stopped before its first checkpoint: no checkpoint, and no file but the ones such
// a run writes (its config, its metrics, its lock, temporaries of atomic writes).
bool is_stranded(const fs::path& dir) {
  if (fs::exists(dir / RunDirectory::kCheckpointFile)) return false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const bool ours = name == RunDirectory::kResolvedConfigFile ||
                      name == RunDirectory::kLockFile || name == "metrics.csv" ||
                      name == "metrics.jsonl" || name.find(".tmp-") != std::string::npos;
    if (!ours || !entry.is_regular_file()) return false;
  }
  return true;
}

// Takes run.lock (flock, exclusive, without waiting); another process holding it is an error.
int lock_run(const fs::path& dir) {
  const fs::path path = dir / RunDirectory::kLockFile;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0)
    throw Error(ExitCode::io_error, "cannot open '" + path.string() + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK)
      throw Error(ExitCode::io_error, "the run directory '" + dir.string() +
                                          "' is in use by another descent process; wait for "
                                          "it to finish, or stop it first");
    throw Error(ExitCode::io_error, "cannot lock '" + path.string() + "': " + std::strerror(error));
  }
  return fd;
}

// The temporaries ("NAME.tmp-<pid>") that an atomic write of a killed process left in `dir`.
void remove_temporaries(const fs::path& dir) {
  if (!fs::is_directory(dir)) return;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos)
      fs::remove(entry.path());
}

}  // namespace

RunDirectory RunDirectory::create(const fs::path& dir, const std::string& resolved_config) {
  if (fs::exists(dir) && !fs::is_empty(dir) && !is_stranded(dir))
    throw input_error("the run directory '" + dir.string() +
                      "' already holds files; pass another --out, or --resume it");
  fs::create_directories(dir);
  RunDirectory run(dir, lock_run(dir));
  for (const fs::directory_entry& entry : fs::directory_iterator(dir))
    if (entry.path().filename() != kLockFile) fs::remove(entry.path());
  write_file_atomically((dir / kResolvedConfigFile).string(), resolved_config);
  return run;
}

RunDirectory RunDirectory::open(const fs::path& dir) {
  RunDirectory run(dir, lock_run(dir));
  run.stranded_ = is_stranded(dir);
  remove_temporaries(dir);
  remove_temporaries(dir / "params");
  return run;
}

RunDirectory::RunDirectory(RunDirectory&& other) noexcept
    : dir_(std::move(other.dir_)),
      lock_(std::exchange(other.lock_, -1)),
      stranded_(other.stranded_) {}

RunDirectory::~RunDirectory() {
  if (lock_ >= 0) ::close(lock_);  // closing the descriptor releases the flock
}

void RunDirectory::write_parameters(const Program& program,
                                    const std::vector<std::vector<double>>& values) const {
  write_file_atomically((dir_ / kParamsFile).string(),
                        write_parameter_arrays(program, values).dump(2) + "\n");
}

void RunDirectory::write_parameters(const Program& program,
                                    const std::vector<std::vector<double>>& values,
                                    const Json& best,
                                    const std::vector<double>& starts_cost) const {
  Json params = write_parameter_arrays(program, values);
  params.set("best", best);
  write_npy((dir_ / kStartsCostFile).string(), {starts_cost.size()}, starts_cost);
  write_file_atomically((dir_ / kParamsFile).string(), params.dump(2) + "\n");
}

Json RunDirectory::write_parameter_arrays(const Program& program,
                                          const std::vector<std::vector<double>>& values) const {
  Json params = Json::object();
  fs::create_directories(dir_ / kParamsDir);
  const std::int64_t copies = program.minimize ? program.starts : 1;
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    params.set(p.name, values_json(values[i], p.shape, copies));
    std::vector<std::size_t> shape;
    if (program.minimize && copies > 1) shape.push_back(static_cast<std::size_t>(copies));
    for (int a = 0; a < p.shape.rank; ++a)
      shape.push_back(static_cast<std::size_t>(p.shape.dims[a]));
    write_npy((dir_ / kParamsDir / (p.name + ".npy")).string(), shape, values[i]);
  }
  return params;
}

Json parameter_json(const std::vector<double>& values, const Shape& shape) {
  return copy_json(values, shape, 0);
}

void RunDirectory::write_data_description(const SavedData& data) const {
  write_file_atomically((dir_ / kDataFile).string(), saved_data_json(data).dump(2) + "\n");
}

void RunDirectory::write_loss_plot(const std::string& title) const {
  std::vector<LossPoint> train, val;
  read_loss_points(dir_, train, val);
  write_loss_svg(dir_ / "loss.svg", train, val, title);
}

void RunDirectory::write_metric_plots(const std::vector<std::string>& names,
                                      const std::string& experiment) const {
  for (const std::string& name : names) {
    std::vector<LossPoint> train, val;
    read_metric_points(dir_, name, train, val);
    write_loss_svg(dir_ / (name + ".svg"), train, val, experiment + ": " + name, name);
  }
}

void RunDirectory::write_manifest(const Json& fields) const {
  if (fields.type() != Json::Type::object)
    throw Error(ExitCode::failure, "write_manifest: the manifest must be a JSON object");
  write_file_atomically((dir_ / "manifest.json").string(), fields.dump(2) + "\n");
}

}  // namespace descent
