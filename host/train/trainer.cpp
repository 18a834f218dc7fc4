// The training loop and the run directory's outputs (see trainer.hpp).
#include "train/trainer.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/random.hpp"
#include "data/npy.hpp"
#include "train/checkpoint.hpp"
#include "train/init.hpp"
#include "train/optimizer.hpp"
#include "train/run_files.hpp"
#include "train/schedule.hpp"

namespace fs = std::filesystem;

namespace descent {

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t rows_of(const Dataset* dataset, const Program& program) {
  return dataset ? dataset->train_rows : program.starts;
}

// Rows per step out of `n`: batch_size, or all of them (full batch, and minimize mode's starts).
std::int64_t batch_rows(const ExperimentConfig& config, std::int64_t n, bool fit) {
  if (!fit || config.train.batch_size <= 0) return n;
  return std::min<std::int64_t>(config.train.batch_size, n);
}

long batches_per_epoch(std::int64_t n, std::int64_t b) {
  return static_cast<long>((n + b - 1) / b);
}

std::vector<std::string> param_names(const Program& program) {
  std::vector<std::string> names;
  for (const ProgramParam& p : program.params) names.push_back(p.name);
  return names;
}

// Describes the batches of the training split: shuffled rows as indices into the split (the
// backend gathers them as it reads them), rows that follow each other (no shuffling, or a full
// batch in order) as a pointer to the first.
class BatchSource {
 public:
  BatchSource(const Program& program, const Dataset* dataset) : dataset_(dataset) {
    if (!dataset) return;
    for (const ProgramInput& in : program.inputs) {
      const DatasetInput* found = nullptr;
      for (const DatasetInput& d : dataset->inputs)
        if (d.name == in.name) found = &d;
      sources_.push_back(found);
    }
  }

  Batch of(const std::vector<std::int64_t>& order, std::int64_t from, std::int64_t to) const {
    Batch batch;
    batch.rows = to - from;
    const std::int64_t* rows = order.data() + from;
    const bool in_place = consecutive(rows, batch.rows);
    for (const DatasetInput* d : sources_)
      batch.inputs.push_back(d->train.data() + (in_place ? rows[0] * d->shape.size() : 0));
    if (!in_place) batch.index = rows;
    return batch;
  }

  Batch validation() const {
    Batch batch;
    batch.rows = dataset_->validation_rows;
    for (const DatasetInput* d : sources_) batch.inputs.push_back(d->validation.data());
    return batch;
  }

  Batch starts(std::int64_t n) const {
    Batch batch;
    batch.rows = n;
    return batch;
  }

 private:
  static bool consecutive(const std::int64_t* rows, std::int64_t count) {
    for (std::int64_t r = 1; r < count; ++r)
      if (rows[r] != rows[r - 1] + 1) return false;
    return true;
  }

  const Dataset* dataset_;
  std::vector<const DatasetInput*> sources_;
};

// One line that rewrites itself on a terminal; periodic log lines otherwise.
class Progress {
 public:
  Progress(bool quiet, long total)
      : quiet_(quiet), total_(total), tty_(isatty(STDERR_FILENO) != 0) {}

  void update(const MetricsRow& row, long epochs, bool force) {
    if (quiet_) return;
    const auto now = Clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(tty_ ? 100 : 2000)) return;
    last_ = now;
    const double fraction =
        static_cast<double>(row.step) / static_cast<double>(std::max(1L, total_));
    const double eta = fraction > 0 ? row.wall_s * (1 - fraction) / fraction : 0;
    std::string line = fmt::format("step {}/{}", row.step, total_);
    if (epochs > 0) line += fmt::format("  epoch {}/{}", std::min(row.epoch + 1, epochs), epochs);
    line += fmt::format("  loss {:.6g}", row.loss);
    if (row.val_loss) line += fmt::format("  val {:.6g}", *row.val_loss);
    line +=
        fmt::format("  lr {:.3g}  {:.3g} samples/s  ETA {:.0f}s", row.lr, row.samples_per_s, eta);
    if (tty_) {
      fmt::print(stderr, "\r{:<100}", line);
      std::fflush(stderr);
    } else {
      spdlog::info("{}", line);
    }
  }

  void finish() {
    if (!quiet_ && tty_) fmt::print(stderr, "\n");
  }

 private:
  bool quiet_;
  long total_;
  bool tty_;
  Clock::time_point last_{};
};

Json values_json(const std::vector<double>& v, const Shape& shape, std::int64_t copies) {
  const std::int64_t size = shape.size();
  auto one = [&](std::int64_t offset) -> Json {
    if (shape.rank == 0) return Json(v[static_cast<std::size_t>(offset)]);
    Json outer = Json::array();
    if (shape.rank == 1) {
      for (std::int64_t i = 0; i < size; ++i) outer.push(v[static_cast<std::size_t>(offset + i)]);
      return outer;
    }
    for (std::int64_t r = 0; r < shape.rows(); ++r) {
      Json row = Json::array();
      for (std::int64_t c = 0; c < shape.cols(); ++c)
        row.push(v[static_cast<std::size_t>(offset + r * shape.cols() + c)]);
      outer.push(std::move(row));
    }
    return outer;
  };
  if (copies <= 1) return one(0);
  Json all = Json::array();
  for (std::int64_t c = 0; c < copies; ++c) all.push(one(c * size));
  return all;
}

void write_parameters(const fs::path& dir, const Program& program, const TrainState& state) {
  Json params = Json::object();
  fs::create_directories(dir / "params");
  const std::int64_t copies = program.minimize ? program.starts : 1;
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    params.set(p.name, values_json(state.params[i].value, p.shape, copies));
    std::vector<std::size_t> shape;
    if (program.minimize && copies > 1) shape.push_back(static_cast<std::size_t>(copies));
    for (int a = 0; a < p.shape.rank; ++a)
      shape.push_back(static_cast<std::size_t>(p.shape.dims[a]));
    write_npy((dir / "params" / (p.name + ".npy")).string(), shape, state.params[i].value);
  }
  write_file_atomically((dir / "params.json").string(), params.dump(2) + "\n");
}

std::string now_iso8601() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

long total_steps(const ExperimentConfig& config, const Dataset* dataset) {
  if (config.train.steps > 0 || !dataset) return std::max(config.train.steps, 1L);
  const std::int64_t n = dataset->train_rows;
  return config.train.epochs * batches_per_epoch(n, batch_rows(config, n, true));
}

TrainState initial_state(const ExperimentConfig& config, const Program& program) {
  TrainState state;
  Rng rng(config.train.seed);
  const int slots = optimizer_state_slots(config.train.optimizer);
  const std::int64_t copies = program.minimize ? program.starts : 1;
  for (const ProgramParam& p : program.params) {
    ParamState ps;
    ps.value = initialize_param(*p.spec, copies, rng);
    if (slots >= 1) ps.state0.assign(ps.value.size(), 0.0);
    if (slots >= 2) ps.state1.assign(ps.value.size(), 0.0);
    state.params.push_back(std::move(ps));
  }
  state.epoch_rng = Rng(config.data.present ? config.data.seed : config.train.seed).save();
  return state;
}

TrainSummary run_training(const ExperimentConfig& config, const Program& program,
                          const Dataset* dataset, Backend& backend, const TrainOptions& options) {
  const fs::path dir(options.out_dir);
  const std::vector<std::string> names = param_names(program);
  const fs::path checkpoint = dir / kCheckpointFile;
  const std::string started_at = now_iso8601();

  TrainState state;
  std::optional<MetricsLog> metrics;
  if (options.resume) {
    state = read_checkpoint(checkpoint.string(), names);
    metrics.emplace(MetricsLog::resume(dir, state.step));
  } else {
    if (fs::exists(dir) && !fs::is_empty(dir))
      throw input_error("the run directory '" + dir.string() +
                        "' already holds files; pass another --out, or --resume it");
    fs::create_directories(dir);
    write_file_atomically((dir / kResolvedConfigFile).string(), options.resolved_config);
    state = initial_state(config, program);
    metrics.emplace(MetricsLog::create(dir));
    write_checkpoint(checkpoint.string(), state, names);
  }

  const long total = total_steps(config, dataset);
  const std::int64_t n = rows_of(dataset, program);
  const std::int64_t b = batch_rows(config, n, dataset != nullptr);
  const long epoch_batches = batches_per_epoch(n, b);
  const long epochs = dataset && config.train.steps == 0 ? config.train.epochs : 0;
  const long log_every =
      config.train.log_every > 0 ? config.train.log_every : std::max(1L, total / 500);
  const long checkpoint_every = config.train.checkpoint_every > 0
                                    ? config.train.checkpoint_every
                                    // every epoch, but no more than ~20 times a run (a
                                    // full-batch run would otherwise fsync every step)
                                    : std::max({epoch_batches, total / 20, 1L});
  const bool validating = dataset && dataset->validation_rows > 0;
  const long eval_every = config.train.eval_every > 0 ? config.train.eval_every : epoch_batches;

  BatchSource batches(program, dataset);
  backend.load(state);

  // The epoch's row order is a pure function of the RNG state saved at its start.
  Rng shuffler;
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  auto start_epoch = [&]() {
    shuffler.restore(state.epoch_rng);
    std::iota(order.begin(), order.end(), 0);
    if (dataset && config.data.shuffle) shuffler.shuffle(order);
  };
  start_epoch();

  Progress progress(options.quiet, total);
  MetricsRow row;
  std::optional<double> last_val;
  const auto run_started = Clock::now();
  const double wall_before = state.wall_seconds;
  long samples_since = 0;
  auto window_started = Clock::now();

  auto save = [&]() {
    backend.store(state);
    state.wall_seconds =
        wall_before + std::chrono::duration<double>(Clock::now() - run_started).count();
    write_checkpoint(checkpoint.string(), state, names);
  };

  while (state.step < total && !state.stopped_early) {
    const std::int64_t from = state.cursor;
    const std::int64_t to = std::min<std::int64_t>(from + b, n);
    const Batch batch = dataset ? batches.of(order, from, to) : batches.starts(n);
    UpdateSettings update;
    update.optimizer = config.train.optimizer;
    update.step = state.step + 1;
    update.lr = learning_rate_at(config.train.schedule, state.step, total);
    update.clip_norm = config.train.clip_norm;
    const StepResult result = backend.step(batch, update);
    if (!result.finite) {
      // The backend left the parameters as they were before this step: save that good state.
      save();
      progress.finish();
      throw Error(ExitCode::diverged,
                  "training diverged at step " + std::to_string(state.step + 1) +
                      (dataset ? " (epoch " + std::to_string(state.epoch + 1) + ", batch " +
                                     std::to_string(from / std::max<std::int64_t>(b, 1) + 1) + ")"
                               : std::string()) +
                      ": " + result.problem + ". The last good checkpoint is kept in '" +
                      checkpoint.string() + "'");
    }
    ++state.step;
    samples_since += batch.rows;
    state.cursor = to;
    bool epoch_end = false;
    if (state.cursor >= n) {
      epoch_end = true;
      ++state.epoch;
      state.cursor = 0;
      state.epoch_rng = shuffler.save();
      start_epoch();
    }

    // A step with a validation pass is always logged: a val_loss held over to a later row
    // would not be in the checkpoint, and a resumed run would log that row without it.
    const bool evaluated = validating && (state.step % eval_every == 0 || state.step == total);
    if (evaluated) {
      backend.store(state);
      const double val = backend.evaluate(batches.validation());
      last_val = val;
      const EarlyStopping& es = config.train.early_stopping;
      if (val < state.best_val - es.min_delta) {
        state.best_val = val;
        state.best_step = state.step;
        state.evals_since_best = 0;
        state.best_params.clear();
        for (const ParamState& p : state.params) state.best_params.push_back(p.value);
      } else {
        ++state.evals_since_best;
        if (es.patience > 0 && state.evals_since_best >= es.patience) state.stopped_early = true;
      }
    }

    const bool last = state.step == total || state.stopped_early;
    if (state.step % log_every == 0 || epoch_end || last || evaluated) {
      const auto now = Clock::now();
      const double window = std::chrono::duration<double>(now - window_started).count();
      row.step = state.step;
      row.epoch = state.epoch;
      row.loss = result.loss;
      row.val_loss = last_val;
      row.lr = update.lr;
      row.grad_norm = result.grad_norm;
      row.samples_per_s = window > 0 ? static_cast<double>(samples_since) / window : 0.0;
      row.wall_s = wall_before + std::chrono::duration<double>(now - run_started).count();
      metrics->append(row);
      samples_since = 0;
      window_started = now;
      last_val.reset();
      progress.update(row, epochs, last);
    }
    const bool stop = options.stop_requested && options.stop_requested->load();
    if (state.step % checkpoint_every == 0 || last || stop) save();
    if (stop && !last) {
      progress.finish();
      throw Error(ExitCode::interrupted,
                  "interrupted after step " + std::to_string(state.step) +
                      "; checkpoint written. Continue with: descent train --resume " +
                      dir.string());
    }
  }
  progress.finish();
  backend.store(state);

  // Early stopping keeps the best parameters seen.
  TrainState final_state = state;
  if (config.train.early_stopping.patience > 0 && !state.best_params.empty())
    for (std::size_t i = 0; i < final_state.params.size(); ++i)
      final_state.params[i].value = state.best_params[i];
  write_parameters(dir, program, final_state);

  std::vector<LossPoint> train_points, val_points;
  read_loss_points(dir, train_points, val_points);
  write_loss_svg(dir / "loss.svg", train_points, val_points, config.name + ": loss");

  Json manifest = Json::object();
  manifest.set("descent_version", DESCENT_VERSION_STRING)
      .set("git_revision", DESCENT_GIT_REVISION)
      .set("experiment", config.name)
      .set("config", config.path)
      .set("device", options.device)
      .set("backend", backend.name())
      .set("precision", options.precision)
      .set("seed", static_cast<std::int64_t>(config.train.seed))
      .set("optimizer", describe_optimizer(config.train.optimizer))
      .set("schedule", describe_schedule(config.train.schedule))
      .set("steps", state.step)
      .set("total_steps", total)
      .set("stopped_early", state.stopped_early)
      .set("resumed", options.resume)
      .set("started_at", started_at)
      .set("finished_at", now_iso8601());
  if (state.best_step >= 0)
    manifest.set("best_val_loss", state.best_val).set("best_step", state.best_step);
  write_manifest(dir / "manifest.json", manifest);

  TrainSummary summary;
  summary.steps = state.step;
  summary.loss = row.loss;
  if (state.best_step >= 0) summary.val_loss = state.best_val;
  summary.stopped_early = state.stopped_early;
  summary.out_dir = dir.string();
  return summary;
}

}  // namespace descent
