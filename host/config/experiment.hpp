// The experiment a config file describes, as plain data (DESIGN §1): the data set and how its
// columns become named inputs, the parameters and their initializers, the model's named
// expressions, the cost, and the training settings. host/config/load.cpp fills it from TOML;
// host/train turns it into a Program and runs it. Expressions stay text here, each with a
// Source whose positions are the expression's place in the config file, so that errors found
// later (unknown names, shape mismatches, non-finite values) point into the config.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/source.hpp"
#include "graph/shape.hpp"
#include "optim/schedule.hpp"
#include "optim/update_rules.hpp"

namespace descent {

// An expression written in the config, e.g. loss = "-(y*log(p) + (1-y)*log(1-p))".
struct ExpressionText {
  std::shared_ptr<const Source> source;  // name = config path, first_line/col = the string's start
  Span where;                            // the whole value in the config (for messages)
};

// A named input of the model built from data columns.
struct InputSpec {
  std::string name;                  // the name used in expressions, e.g. "x"
  std::vector<std::string> columns;  // CSV columns, in order; "x1..x3" is a range of columns,
                                     // kept as written (the trainer expands it by header order)
  bool is_vector = false;            // true when written as a list or a range: shape (columns)
  bool classes = false;              // the column holds class labels → indices 0..K-1 (sorted)
  bool standardize = false;          // subtract the training split's mean, divide by its std
  std::string npy_file;              // .npy source instead of CSV columns (rows = samples)
  std::string npy_file_as_written;   // npy_file as the config wrote it (resolved_config_toml)
  Span where;                        // the value: the column(s) or the .npy path
};

struct DataConfig {
  bool present = false;         // no [data] section: minimize mode
  std::string file;             // CSV path, resolved against the config's folder ("" for npy-only)
  std::string file_as_written;  // `file` as the config wrote it (resolved_config_toml)
  std::vector<InputSpec> inputs;
  double validation = 0.0;  // fraction of rows held out, in [0, 1)
  bool shuffle = true;      // reshuffle the training rows every epoch
  std::uint64_t seed = 0;   // for the split and the shuffles
  Span where;               // the [data] section
  Span file_where;          // the value of `file`, for errors about the file itself
  Span validation_where;    // the value of `validation`, when written
};

// How a parameter starts: zeros, constant (value), uniform (low, high), normal (mean, std),
// xavier, he, or literal (the numbers written in the config).
enum class InitKind { zeros, constant, uniform, normal, xavier, he, literal };

// "zeros", "constant", ..., as the config writes them.
std::string_view init_kind_name(InitKind kind);

struct ParamSpec {
  std::string name;
  Shape shape;  // scalar unless `shape = [n]` or `[rows, cols]`
  InitKind init = InitKind::zeros;
  double value = 0.0;
  double low = -1.0, high = 1.0;
  double mean = 0.0, std = 1.0;
  // The same settings written per element (low = [-1.5, -3]): shape.size() numbers, row-major,
  // used instead of the number above; empty where the setting is one number for every element.
  struct PerElement {
    std::vector<double> value, low, high, mean, std;
  } each;
  std::vector<double> literal;  // InitKind::literal: row-major values
  Span where;

  // bounds = [low, high]: after every update the parameter is projected into the box
  // low <= p <= high, element by element (projected gradient descent). A side written as
  // -inf / inf is open; `each_low` / `each_high` hold a side written per element (row-major).
  struct Bounds {
    bool present = false;
    double low = -std::numeric_limits<double>::infinity();
    double high = std::numeric_limits<double>::infinity();
    std::vector<double> each_low, each_high;
    Span where;  // the bounds value
  } bounds;

  // Element i of a setting: its per-element number when written so, else the scalar.
  static double element(double scalar, const std::vector<double>& each, std::int64_t i) {
    return each.empty() ? scalar : each[static_cast<std::size_t>(i)];
  }
  // Element i's bounds (open sides are -inf / inf; without bounds both are open).
  double lower_bound(std::int64_t i) const { return element(bounds.low, bounds.each_low, i); }
  double upper_bound(std::int64_t i) const { return element(bounds.high, bounds.each_high, i); }
};

// A value of [constants]: used by expressions like a parameter, never trained (no gradient, no
// optimizer state, not in params.json). Written as a number, an array (rows for a matrix), or
// { file = "shift.npy" } / { file = "shift.csv" } relative to the config's folder.
struct ConstantSpec {
  std::string name;
  Shape shape;                 // a file's: known once read_constant_files (host/data) has run
  std::vector<double> values;  // row-major; a file's: filled by read_constant_files
  std::string file;            // the file, resolved against the config's folder; "" if inline
  std::string file_as_written;
  bool file_read = false;  // a file constant's values and shape are in place
  Span where;              // the value (for a file: the file's name)

  bool from_file() const { return !file.empty(); }
};

struct NamedExpression {
  std::string name;
  ExpressionText text;
};

struct EarlyStopping {
  long patience = 0;       // evaluations without improvement before stopping; 0 = off
  double min_delta = 0.0;  // an improvement must lower val_loss by more than this
};

// The precision a run computes in: automatic is f32 on the GPU and f64 on the CPU.
enum class RunPrecision { automatic, f32, f64 };
inline constexpr std::string_view kRunPrecisionNames[] = {"auto", "f32", "f64"};

// How the step plan evaluates products of a shared matrix with per-sample vectors (DESIGN §5):
// automatic lets the plan's cost model choose per product; fused keeps every product per
// sample; batched makes every such product a matrix-matrix product over a tile of the batch.
enum class PlanChoice { automatic, fused, batched };
inline constexpr std::string_view kPlanChoiceNames[] = {"auto", "fused", "batched"};

struct TrainConfig {
  OptimizerConfig optimizer;  // kind + hyperparameters (defaults per kind)
  ScheduleConfig schedule;    // its lr mirrors optimizer.lr
  long epochs = 0;            // exactly one of epochs/steps is > 0 after loading
  long steps = 0;
  long batch_size = 0;     // 0 = full batch
  std::uint64_t seed = 0;  // parameter initialization (and data, unless data.seed is set)
  double clip_norm = 0.0;  // clip the global gradient norm to this; 0 = off
  long eval_every = 0;     // steps between validation evaluations; 0 = once per epoch
  EarlyStopping early_stopping;
  long starts = 1;            // minimize mode: independent starting points
  long log_every = 0;         // steps between log lines / metric rows; 0 = automatic
  long checkpoint_every = 0;  // steps between checkpoints; 0 = automatic
  RunPrecision precision = RunPrecision::automatic;
  PlanChoice plan = PlanChoice::automatic;
  long threads = 0;  // CPU threads; 0 = automatic (the machine's cores, at most kMaxThreads)
};

struct ExperimentConfig {
  std::string path;  // the config file as given
  std::string dir;   // its folder: relative paths in the config are resolved against it
  std::string name;  // [experiment] name, default: the file's stem
  DataConfig data;
  std::vector<ParamSpec> params;          // in the order written
  std::vector<ConstantSpec> constants;    // [constants], in the order written
  std::vector<NamedExpression> model;     // in the order written
  ExpressionText loss;                    // [cost] loss: per sample (fit) or the whole cost
  std::vector<ExpressionText> penalties;  // [cost] penalty: of parameters alone
  // [metrics]: per-sample scalars averaged over each logged batch and the validation split,
  // never differentiated (fit mode only), in the order written.
  std::vector<NamedExpression> metrics;
  TrainConfig train;

  bool minimize() const { return !data.present; }
};

// Reads and validates a config file. `overrides` are "dotted.key=value" strings from
// --set that replace values before validation (the value is parsed as TOML: 0.1, "adam",
// [3, 4], true). Every problem is an Error with exit code 2 naming file:line:col; an unknown
// key gets a did-you-mean; a missing file is ExitCode::io_error.
ExperimentConfig load_experiment(const std::string& path,
                                 const std::vector<std::string>& overrides = {});

// The same for a config held in memory: `text` is the content of the file `path`, which is not
// read (it names the config in messages, and its folder anchors relative data paths).
ExperimentConfig load_experiment_from_text(const std::string& path, std::string text,
                                           const std::vector<std::string>& overrides = {});

// The effective config with every default filled in, as TOML (descent config --resolved,
// and the run directory's config.resolved.toml). Loading it again gives the same experiment.
// With absolute_paths, data paths are written absolute, so that the text still loads from
// another folder (the run directory's copy).
std::string resolved_config_toml(const ExperimentConfig& config, bool absolute_paths = false);

}  // namespace descent
