// The training loop (see trainer.hpp).
#include "train/trainer.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "backend/data_splits.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/random.hpp"
#include "cpu/diagnose.hpp"
#include "cpu/evaluate.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"
#include "program/init.hpp"
#include "run/metrics_log.hpp"
#include "run/run_directory.hpp"
#include "train/checkpoint.hpp"
#include "train/epoch_order.hpp"
#include "train/progress.hpp"

namespace descent {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

long batches_per_epoch(std::int64_t n, std::int64_t b) {
  return static_cast<long>((n + b - 1) / b);
}

std::vector<std::string> param_names(const Program& program) {
  std::vector<std::string> names;
  for (const ProgramParam& p : program.params) names.push_back(p.name);
  return names;
}

std::vector<std::string> metric_names(const Program& program) {
  std::vector<std::string> names;
  for (const ProgramMetric& m : program.metrics) names.push_back(m.name);
  return names;
}

std::string now_iso8601() {
  const auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

// How often things happen in a run, fixed once from the config and the data.
struct Cadence {
  long total = 0;             // optimizer steps of the whole run
  std::int64_t rows = 0;      // training rows (fit) or starts (minimize)
  std::int64_t batch = 0;     // rows per step
  long epoch_batches = 0;     // steps per epoch
  long epochs = 0;            // for the progress line; 0 when the run counts steps
  long log_every = 0;         // steps between metric rows
  long checkpoint_every = 0;  // steps between checkpoints
  long eval_every = 0;        // steps between validation passes
  bool validating = false;    // there is a validation split
  bool shuffled = false;      // batches follow a shuffled epoch order
};

// Steps between two reports of the backend when nothing else asks for one: the longest that a
// divergence goes unnoticed (the steps after it change nothing).
constexpr std::size_t kReportEvery = 32;

Cadence cadence_of(const ExperimentConfig& config, const Program& program, const Dataset* dataset) {
  const TrainConfig& t = config.train;
  Cadence c;
  c.total = total_steps(config, dataset);
  c.rows = dataset ? dataset->train_rows : program.starts;
  c.batch = batch_rows(config, c.rows, dataset != nullptr);
  c.epoch_batches = batches_per_epoch(c.rows, c.batch);
  c.epochs = dataset && t.steps == 0 ? t.epochs : 0;
  c.log_every = t.log_every > 0 ? t.log_every : std::max(1L, c.total / 500);
  // Every epoch, but no more than ~20 times a run (a full-batch run would otherwise fsync
  // every step).
  c.checkpoint_every =
      t.checkpoint_every > 0 ? t.checkpoint_every : std::max({c.epoch_batches, c.total / 20, 1L});
  c.validating = dataset && dataset->validation_rows > 0;
  c.eval_every = t.eval_every > 0 ? t.eval_every : c.epoch_batches;
  c.shuffled = dataset && shuffles_epochs(config.data.shuffle, c.rows, c.batch);
  return c;
}

class TrainingRun {
 public:
  TrainingRun(const ExperimentConfig& config, const Program& program, const Dataset* dataset,
              Backend& backend, const TrainOptions& options)
      : config_(config),
        program_(program),
        dataset_(dataset),
        backend_(backend),
        options_(options),
        names_(param_names(program)),
        metric_names_(metric_names(program)),
        cadence_(cadence_of(config, program, dataset)),
        order_(static_cast<std::size_t>(cadence_.rows)),
        progress_(options.quiet, cadence_.total, metric_names_) {}

  TrainSummary run() {
    started_at_ = now_iso8601();
    if (dataset_) {
      splits_ = data_splits(program_, *dataset_);
      backend_.attach(splits_);
    }
    if (!options_.resume) try_first_batch();
    run_dir_.emplace(options_.resume
                         ? RunDirectory::open(options_.out_dir)
                         : RunDirectory::create(options_.out_dir, options_.resolved_config));
    open_state();
    backend_.load(state_.params);
    start_epoch();
    run_started_ = window_started_ = Clock::now();
    wall_before_ = state_.wall_seconds;
    while (state_.step < cadence_.total && !state_.stopped_early) step_once();
    progress_.finish();
    backend_.store(state_.params);
    write_outputs();
    return summary();
  }

 private:
  // Where a step starts: what the run returns to when that step diverges.
  struct StepStart {
    long step, epoch, cursor;
    std::string epoch_rng;
  };

  // A new run's first batch, once, before its directory exists: what fails there (a class index
  // out of range, a kernel the device refuses) fails before anything is written. A backend that
  // turns a bad input into NaN (the GPU's kernels do so for a onehot class index) has the
  // Interpreter look at the batch, which throws the input error the CPU would have; a first step
  // that diverges for other reasons diverges in the loop as any other.
  void try_first_batch() {
    state_ = initial_state(config_, program_);
    backend_.load(state_.params);
    start_epoch();
    std::vector<std::vector<double>> gradients;
    const double objective = backend_.objective_and_gradients(batch_at(0), gradients);
    bool finite = std::isfinite(objective);
    for (const std::vector<double>& g : gradients)
      for (double v : g) finite = finite && std::isfinite(v);
    if (!finite) (void)non_finite_node(batch_at(0), order_);
  }

  // A new run starts from the seeded parameters; a resumed one from its checkpoint (a run
  // stopped before its first checkpoint starts again from the beginning).
  void open_state() {
    if (options_.resume && !run_dir_->stranded()) {
      const std::string path = run_dir_->checkpoint_path().string();
      state_ = read_checkpoint(path, names_);
      validate_checkpoint(path, state_, checkpoint_shape());
      metrics_.emplace(MetricsLog::resume(run_dir_->path(), state_.step, metric_names_));
    } else {
      state_ = initial_state(config_, program_);
      metrics_.emplace(MetricsLog::create(run_dir_->path(), metric_names_));
      write_checkpoint(run_dir_->checkpoint_path().string(), state_, names_);
    }
  }

  CheckpointShape checkpoint_shape() const {
    CheckpointShape shape;
    shape.total_steps = cadence_.total;
    shape.rows = cadence_.rows;
    shape.batch = cadence_.batch;
    shape.epoch_batches = cadence_.epoch_batches;
    shape.minimize = program_.minimize;
    for (const ProgramParam& p : program_.params)
      shape.param_values.push_back(
          static_cast<std::size_t>(p.shape.size() * (program_.minimize ? program_.starts : 1)));
    shape.state_slots = optimizer_state_slots(config_.train.optimizer);
    return shape;
  }

  // The epoch's row order is a pure function of the RNG state saved at its start.
  void start_epoch() {
    shuffler_.restore(state_.epoch_rng);
    epoch_order(shuffler_, cadence_.shuffled, order_);
    if (cadence_.shuffled) backend_.set_epoch_order(order_);
  }

  BatchRows batch_at(std::int64_t cursor) const {
    BatchRows batch;
    batch.first = dataset_ ? cursor : 0;
    batch.rows =
        dataset_ ? std::min<std::int64_t>(cadence_.batch, cadence_.rows - cursor) : cadence_.rows;
    batch.shuffled = cadence_.shuffled;
    return batch;
  }

  void step_once() {
    const BatchRows batch = batch_at(state_.cursor);
    UpdateSettings update;
    update.optimizer = config_.train.optimizer;
    update.step = state_.step + 1;
    update.lr = learning_rate_at(config_.train.schedule, state_.step, cadence_.total);
    update.clip_norm = config_.train.clip_norm;
    unreported_.push_back({state_.step, state_.epoch, state_.cursor, state_.epoch_rng});
    const StepEvents events =
        events_after(state_.step + 1, state_.cursor + (dataset_ ? batch.rows : cadence_.rows));
    if (!program_.metrics.empty() && (events.log || events.evaluate)) batch_metrics(batch);
    backend_.step(batch, update);
    ++state_.step;
    samples_since_ += batch.rows;
    state_.cursor += dataset_ ? batch.rows : cadence_.rows;
    if (events.epoch_end) {
      ++state_.epoch;
      state_.cursor = 0;
      state_.epoch_rng = shuffler_.save();
      start_epoch();
    }
    const bool last = events.last, log = events.log, evaluate = events.evaluate;
    const bool stop = options_.stop_requested && options_.stop_requested->load();
    const bool checkpoint = state_.step % cadence_.checkpoint_every == 0 || last || stop;
    if (log || evaluate || checkpoint || unreported_.size() >= kReportEvery) report_steps();
    if (evaluate) evaluate_now();
    const bool finished = last || state_.stopped_early;
    if (log || evaluate || finished) log_row(update.lr, finished);
    if (checkpoint || finished) save();
    if (stop && !finished) {
      progress_.finish();
      throw Error(ExitCode::interrupted,
                  "interrupted after step " + std::to_string(state_.step) +
                      "; checkpoint written. Continue with: descent train --resume " +
                      run_dir_->path().string());
    }
  }

  // What the step that brings the run to `step`, its data cursor to `cursor` (before an epoch's
  // end wraps it), ends with: known before the step runs, so that the [metrics] of a step that
  // will be logged are taken at the parameters it starts from.
  struct StepEvents {
    bool epoch_end, last, log, evaluate;
  };
  StepEvents events_after(long step, std::int64_t cursor) const {
    StepEvents e{};
    e.epoch_end = cursor >= cadence_.rows;
    e.last = step == cadence_.total;
    e.log = step % cadence_.log_every == 0 || e.epoch_end || e.last;
    e.evaluate = cadence_.validating && (step % cadence_.eval_every == 0 || e.last);
    return e;
  }

  // The [metrics] over the batch of the step about to run, at the parameters it starts from
  // (those its logged loss is computed at), by the Interpreter.
  void batch_metrics(const BatchRows& batch) {
    backend_.store(state_.params);
    pending_metrics_.clear();
    for (double v : metric_means(program_, state_.params, splits_.train, batch, order_))
      pending_metrics_.emplace_back(v);
  }

  // Waits for the backend's steps. A divergence among them rolls the run back to the start of
  // the failed step (the backend left the parameters there), keeps that state in the checkpoint
  // and stops, naming the node that went non-finite.
  void report_steps() {
    last_report_ = backend_.report();
    if (last_report_.diverged_step != 0) diverged(last_report_.diverged_step);
    unreported_.clear();
  }

  [[noreturn]] void diverged(long failed_step) {
    const auto start = std::find_if(unreported_.begin(), unreported_.end(),
                                    [&](const StepStart& s) { return s.step + 1 == failed_step; });
    if (start == unreported_.end())
      throw Error(ExitCode::failure, "internal: the backend reports a divergence at step " +
                                         std::to_string(failed_step) + ", which it never ran");
    state_.step = start->step;
    state_.epoch = start->epoch;
    state_.cursor = start->cursor;
    state_.epoch_rng = start->epoch_rng;
    save();
    progress_.finish();
    const std::string where =
        dataset_
            ? " (epoch " + std::to_string(state_.epoch + 1) + ", batch " +
                  std::to_string(state_.cursor / std::max<std::int64_t>(cadence_.batch, 1) + 1) +
                  ")"
            : std::string();
    throw Error(ExitCode::diverged, "training diverged at step " + std::to_string(failed_step) +
                                        where + ": " + failed_node() +
                                        ". The last good checkpoint is kept in '" +
                                        run_dir_->checkpoint_path().string() + "'");
  }

  // The failed step's first non-finite node, from the Interpreter on that step's batch (the
  // run's state is the failed step's start).
  std::string failed_node() const {
    std::vector<std::int64_t> order(order_.size());
    Rng rng;
    rng.restore(state_.epoch_rng);
    epoch_order(rng, cadence_.shuffled, order);
    return non_finite_node(batch_at(state_.cursor), order);
  }

  std::string non_finite_node(const BatchRows& batch,
                              const std::vector<std::int64_t>& order) const {
    return describe_first_non_finite(program_, state_.params, splits_.train, batch, order,
                                     backend_.precision() == "f32");
  }

  // A validation pass; early stopping keeps the best parameters seen. A step with a validation
  // pass is always logged: a val_loss held over to a later row would not be in the checkpoint,
  // and a resumed run would log that row without it.
  void evaluate_now() {
    backend_.store(state_.params);
    BatchRows validation;
    validation.split = BatchRows::Split::validation;
    validation.rows = dataset_->validation_rows;
    const double val = backend_.evaluate(validation);
    last_val_ = val;
    last_val_metrics_.clear();
    for (double v : metric_means(program_, state_.params, splits_.validation, validation, {}))
      last_val_metrics_.emplace_back(v);
    const EarlyStopping& es = config_.train.early_stopping;
    if (val < state_.best_val - es.min_delta) {
      state_.best_val = val;
      state_.best_step = state_.step;
      state_.evals_since_best = 0;
      state_.best_params.clear();
      for (const ParamState& p : state_.params) state_.best_params.push_back(p.value);
    } else {
      ++state_.evals_since_best;
      if (es.patience > 0 && state_.evals_since_best >= es.patience) state_.stopped_early = true;
    }
  }

  void log_row(double lr, bool last) {
    const auto now = Clock::now();
    const double window = seconds_between(window_started_, now);
    row_.step = state_.step;
    row_.epoch = state_.epoch;
    row_.loss = last_report_.loss;
    row_.val_loss = last_val_;
    row_.lr = lr;
    row_.grad_norm = last_report_.grad_norm;
    row_.samples_per_s = window > 0 ? static_cast<double>(samples_since_) / window : 0.0;
    row_.wall_s = wall_before_ + seconds_between(run_started_, now);
    row_.metrics = std::move(pending_metrics_);
    row_.val_metrics = std::move(last_val_metrics_);
    metrics_->append(row_);
    samples_since_ = 0;
    window_started_ = now;
    last_val_.reset();
    pending_metrics_.clear();
    last_val_metrics_.clear();
    progress_.update(row_, cadence_.epochs, last);
  }

  void save() {
    backend_.store(state_.params);
    state_.wall_seconds = wall_before_ + seconds_between(run_started_, Clock::now());
    write_checkpoint(run_dir_->checkpoint_path().string(), state_, names_);
  }

  // params (the best ones when early stopping kept them), data.json (fit mode), each start's
  // cost and the best start (minimize mode), the loss chart and the manifest.
  void write_outputs() {
    std::vector<std::vector<double>> values;
    const bool best = config_.train.early_stopping.patience > 0 && !state_.best_params.empty();
    for (std::size_t i = 0; i < state_.params.size(); ++i)
      values.push_back(best ? state_.best_params[i] : state_.params[i].value);
    if (program_.minimize) {
      const std::vector<double> costs = start_costs(program_, values);
      best_ = best_start(costs);
      run_dir_->write_parameters(program_, values, best_start_json(*best_, program_, values),
                                 costs);
    } else {
      run_dir_->write_parameters(program_, values);
      run_dir_->write_data_description(describe_data(config_.data, *dataset_));
    }
    run_dir_->write_loss_plot(config_.name + ": loss");
    run_dir_->write_metric_plots(metric_names_, config_.name);
    run_dir_->write_manifest(manifest());
  }

  Json manifest() const {
    Json m = Json::object();
    m.set("descent_version", DESCENT_VERSION_STRING)
        .set("git_revision", DESCENT_GIT_REVISION)
        .set("experiment", config_.name)
        .set("config", config_.path)
        .set("device", options_.device)
        .set("backend", backend_.name())
        .set("precision", options_.precision)
        .set("plan", options_.plan)
        .set("seed", static_cast<std::int64_t>(config_.train.seed))
        .set("optimizer", describe_optimizer(config_.train.optimizer))
        .set("schedule", describe_schedule(config_.train.schedule))
        .set("steps", state_.step)
        .set("total_steps", cadence_.total)
        .set("stopped_early", state_.stopped_early)
        .set("resumed", options_.resume)
        .set("started_at", started_at_)
        .set("finished_at", now_iso8601());
    if (options_.threads > 0) m.set("threads", static_cast<std::int64_t>(options_.threads));
    if (state_.best_step >= 0)
      m.set("best_val_loss", state_.best_val).set("best_step", state_.best_step);
    return m;
  }

  TrainSummary summary() const {
    TrainSummary s;
    s.steps = state_.step;
    s.loss = row_.loss;
    if (state_.best_step >= 0) s.val_loss = state_.best_val;
    s.stopped_early = state_.stopped_early;
    s.out_dir = run_dir_->path().string();
    s.best = best_;
    return s;
  }

  const ExperimentConfig& config_;
  const Program& program_;
  const Dataset* dataset_;
  Backend& backend_;
  const TrainOptions& options_;
  const std::vector<std::string> names_;
  const std::vector<std::string> metric_names_;
  const Cadence cadence_;
  DataSplits splits_;                // the data set as the backend was handed it
  std::vector<std::int64_t> order_;  // this epoch's row order
  std::optional<RunDirectory> run_dir_;
  Progress progress_;

  TrainState state_;
  std::optional<MetricsLog> metrics_;
  Rng shuffler_;
  std::vector<StepStart> unreported_;  // steps issued since the backend last reported
  StepReport last_report_;
  MetricsRow row_;                                       // the last row logged
  std::optional<double> last_val_;                       // a validation loss not logged yet
  std::vector<std::optional<double>> pending_metrics_;   // the next row's batch metrics
  std::vector<std::optional<double>> last_val_metrics_;  // with last_val_
  std::string started_at_;
  Clock::time_point run_started_, window_started_;
  std::optional<BestStart> best_;  // minimize mode, once the outputs are written
  double wall_before_ = 0.0;       // training time of the run before this process
  long samples_since_ = 0;         // samples since the last row (for samples_per_s)
};

}  // namespace

std::int64_t batch_rows(const ExperimentConfig& config, std::int64_t n, bool fit) {
  if (!fit || config.train.batch_size <= 0) return n;
  return std::min<std::int64_t>(config.train.batch_size, n);
}

long total_steps(const ExperimentConfig& config, const Dataset* dataset) {
  if (config.train.steps > 0 || !dataset) return std::max(config.train.steps, 1L);
  const std::int64_t n = dataset->train_rows;
  return config.train.epochs * batches_per_epoch(n, batch_rows(config, n, true));
}

TrainState initial_state(const ExperimentConfig& config, const Program& program) {
  TrainState state;
  const int slots = optimizer_state_slots(config.train.optimizer);
  for (std::vector<double>& values : initial_values(config, program)) {
    ParamState ps;
    ps.value = std::move(values);
    if (slots >= 1) ps.state0.assign(ps.value.size(), 0.0);
    if (slots >= 2) ps.state1.assign(ps.value.size(), 0.0);
    state.params.push_back(std::move(ps));
  }
  state.epoch_rng = Rng(config.data.present ? config.data.seed : config.train.seed).save();
  return state;
}

TrainSummary run_training(const ExperimentConfig& config, const Program& program,
                          const Dataset* dataset, Backend& backend, const TrainOptions& options) {
  return TrainingRun(config, program, dataset, backend, options).run();
}

}  // namespace descent
