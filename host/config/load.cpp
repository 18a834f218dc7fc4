// load_experiment: a TOML config file (plus --set overrides) into a validated ExperimentConfig.
// This file checks the top level, [experiment], [model] and [cost], and calls the readers of
// [data], [params], [constants] and [train] (load_*.cpp). It does not read data files, parse
// expressions (host/expr does, from each ExpressionText) or print configs (resolved.cpp).
//
// ---------------------------------------------------------------------------------------------
// The config format (README, "Config files")
// ---------------------------------------------------------------------------------------------
//
//   [experiment]
//   name = "logistic"                  # optional; default: the config file's stem
//
//   [data]                             # absent: minimize mode (a cost of the parameters alone)
//   file = "data/logistic.csv"         # a CSV file with a header, relative to the config's folder
//   inputs = { x = "x1..x8", y = "label" }
//                                      # "col": a scalar input from one column
//                                      # "a..b": a vector input, the columns a to b in header order
//                                      # ["c1", "c2"]: a vector input, the columns listed
//   classes = ["y"]                    # inputs whose column holds class labels (→ 0..K-1)
//   standardize = ["x"]                # inputs to standardize with the training split's statistics
//   npy = { x = "X.npy", y = "y.npy" } # instead of file + inputs: one .npy file per input
//   validation = 0.2                   # fraction of rows held out, in [0, 1); default 0
//   shuffle = true                     # reshuffle the training rows every epoch; default true
//   seed = 7                           # for the split and the shuffles; default: train.seed
//
//   [params]                           # in the order written
//   w = { shape = [8], init = "normal", std = 0.1 }
//   b = { init = "zeros" }             # no shape: a scalar
//   W1 = { shape = [16, 2], init = "xavier" }
//   c = 0.5                            # a number: a literal scalar
//   v = [1.0, 2.0]                     # numbers: a literal vector; rows: a literal matrix
//   x = { init = "uniform", low = -5, high = 5 }
//   # init (default "zeros"), with the settings each takes:
//   #   zeros | constant (value, required) | uniform (low = -1, high = 1; low < high)
//   #   normal (mean = 0, std = 1; std > 0) | xavier | he
//   # a setting that the init does not take is an error.
//   r = { init = "uniform", low = 0, high = 1, bounds = [0, inf] }
//   # bounds = [low, high]: kept in the box by projection after every update; a side is a
//   # number, -inf / inf (open), or an array shaped like the parameter (load_bounds.cpp).
//
//   [constants]                        # values used by name, never trained (load_constants.cpp)
//   lambda = 0.01                      # a number, an array, rows of a matrix,
//   shift = { file = "shift.npy" }     # or a .npy / .csv file relative to the config's folder
//
//   [model]                            # named expressions, in any order; they may use each other
//   z = "dot(w, x) + b"
//   p = "sigmoid(z)"
//
//   [cost]
//   loss = "-(y*log(p) + (1-y)*log(1-p))"   # required: per sample (fit) or the whole cost
//   penalty = "0.01*sum(w^2)"               # optional: a string or an array of strings,
//                                           # of the parameters alone
//
//   [train]
//   optimizer = "adam"       # sgd (default) momentum nesterov adam adamw rmsprop
//   lr = 0.001               # default per optimizer: 0.01, adam/adamw 0.001
//   momentum = 0.9           # momentum, nesterov (default 0.9), rmsprop (default 0)
//   beta1 = 0.9              # adam, adamw
//   beta2 = 0.999            # adam, adamw
//   eps = 1e-8               # adam, adamw, rmsprop
//   alpha = 0.99             # rmsprop
//   weight_decay = 0.0       # all (adamw default 0.01, decoupled)
//   schedule = "cosine"      # constant (default) step exponential cosine
//   gamma = 0.1              # step, exponential
//   step_size = 1000         # step
//   min_lr = 0.0             # cosine
//   warmup_steps = 0         # all schedules
//   warmup_start = 0.0       # all schedules: the first warmup rate, as a fraction of lr
//   epochs = 10              # fit mode: one of epochs / steps (default epochs = 10)
//   steps = 1000             # minimize mode: steps only (default 1000)
//   batch_size = 64          # fit mode; 0 or "full" (default): the whole training split
//   seed = 0                 # parameter initialization (and data, unless data.seed is set)
//   clip_norm = 0.0          # clip the global gradient norm; 0 (default): off
//   precision = "auto"       # auto (f32 on the GPU, f64 on the CPU), f32, f64
//   plan = "auto"            # auto (a cost model per product), fused, batched (DESIGN §5)
//   threads = 0              # CPU threads; 0 (default): the machine's cores, at most 64
//   eval_every = 0           # fit mode: steps between evaluations; 0: once per epoch
//   early_stopping = { patience = 10, min_delta = 1e-4 }   # fit mode, needs data.validation > 0
//   starts = 256             # minimize mode: independent starting points (default 1)
//   log_every = 0            # steps between log lines; 0: automatic
//   checkpoint_every = 0     # steps between checkpoints; 0: automatic
//
// Rules. The reader is strict, like a compiler, and every problem is an error at the file,
// line and column of the key or value responsible (exit code 2; an unreadable config is exit
// code 4):
//   - unknown sections and keys are errors, with a did-you-mean ("unknown key 'lerning_rate' in
//     [train]; did you mean 'lr'?"); so are settings that do not apply to the chosen optimizer,
//     schedule or init ("'std' does not apply to init = \"zeros\""), and train settings of the
//     other mode (starts in fit mode; epochs, batch_size, eval_every, early_stopping in
//     minimize mode);
//   - values have types: "expected a number for train.lr, found a string"; numbers must be
//     finite; counts are integers;
//   - values have ranges: validation in [0, 1), epochs and steps >= 1, batch_size >= 0,
//     starts >= 1, the optimizer's and the schedule's own rules;
//   - sizes have limits, far above any real experiment, so that no count overflows:
//     epochs at most 2^31, steps at most 2^40, starts at most 2^24, and at most 2^31
//     elements in a parameter, in all parameters together, and (minimize mode) times
//     starts; a data set holds at most 2^31 rows, and data.validation must hold out at
//     least one row and leave at least one to train on (checked when the data is read);
//   - inputs, parameters, constants and model expressions share one namespace of identifiers
//     [A-Za-z_][A-Za-z0-9_]*, which must not hold a function of the language (exp, sum, ...)
//     or the reserved name batch_size;
//   - model expressions may use each other in any order, never in a cycle (also among
//     entries that the cost does not use; host/program checks this);
//   - expressions are strings; their positions inside the file are kept, so that errors found
//     while parsing them point into the config.
//
// Overrides (--set KEY=VALUE, applied in order before anything is checked): the value is TOML
// (train.lr=0.1, train.optimizer="adam", data.validation=0.3, params.w.shape=[4]); a value
// that is not TOML is a string (train.optimizer=adam). Missing tables are created; setting
// train.epochs removes train.steps and the other way round. Errors about an override point
// into it, in a source named "--set".
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "common/error.hpp"
#include "config/config_fields.hpp"
#include "config/load_sections.hpp"
#include "config/toml_document.hpp"

namespace descent {

namespace {

using config::TableReader;
using config::TomlDocument;
using config::TomlEntry;

// The top level: only the known sections, each a table.
void check_sections(const TomlDocument& doc) {
  for (const TomlEntry& entry : doc.entries(doc.root())) {
    const std::string_view key = entry.key->str();
    const bool known = std::find(std::begin(config::kSections), std::end(config::kSections), key) !=
                       std::end(config::kSections);
    if (known) {
      if (!entry.value->is_table()) {
        throw config::type_error(doc, *entry.value, "a table", fmt::format("[{}]", key));
      }
      continue;
    }
    const Span at = doc.span_of(*entry.key);
    if (entry.value->is_table()) {
      const std::string best = config::suggest_key(key, config::kSections, config::kSectionAliases);
      throw input_error(fmt::format("unknown section [{}]{}", key,
                                    best.empty() ? "" : fmt::format("; did you mean [{}]?", best)),
                        at,
                        best.empty() ? "the sections are [experiment], [data], [params], "
                                       "[constants], [model], [cost], [metrics] and [train]"
                                     : "");
    }
    // A key above the first [section]: say where it belongs when it is a known key.
    std::string home;
    if (std::find(std::begin(config::kTrainKeys), std::end(config::kTrainKeys), key) !=
        std::end(config::kTrainKeys)) {
      home = "train";
    } else if (std::find(std::begin(config::kDataKeys), std::end(config::kDataKeys), key) !=
               std::end(config::kDataKeys)) {
      home = "data";
    } else if (key == "name") {
      home = "experiment";
    } else if (key == "loss" || key == "penalty") {
      home = "cost";
    }
    throw input_error(fmt::format("the key '{}' is outside any section{}", key,
                                  home.empty() ? "" : fmt::format("; it belongs in [{}]", home)),
                      at,
                      home.empty() ? "keys go in sections: [experiment], [data], [params], "
                                     "[constants], [model], [cost], [metrics] and [train]"
                                   : "");
  }
}

// A section's table, or nullptr when the config has none.
const toml::table* section(const TomlDocument& doc, std::string_view name) {
  return doc.root().get_as<toml::table>(name);
}

// A span for "this config lacks X": the start of the file.
Span file_start(const TomlDocument& doc) { return Span{doc.file(), 0, 0}; }

// An expression value: a non-blank string.
ExpressionText read_expression(const TomlDocument& doc, const toml::node& node,
                               const std::string& label) {
  const auto* text = node.as_string();
  if (text == nullptr) throw config::type_error(doc, node, "a string (an expression)", label);
  if (text->get().find_first_not_of(" \t\r\n") == std::string::npos) {
    throw input_error(fmt::format("{} is an empty expression", label), doc.span_of(node));
  }
  return doc.expression(*text);
}

std::string read_name(const TomlDocument& doc, const std::string& path) {
  const std::string stem = std::filesystem::path(path).stem().string();
  const toml::table* table = section(doc, "experiment");
  if (table == nullptr) return stem;
  const TableReader experiment(doc, *table, "experiment");
  experiment.reject_unknown_keys(config::kExperimentKeys);
  const std::optional<std::string> name = experiment.string("name");
  if (!name) return stem;
  if (name->empty() || name->find_first_of("/\\") != std::string::npos) {
    throw input_error(fmt::format("experiment.name = \"{}\" but it must be a non-empty name "
                                  "without '/' or '\\' (it names the run's folder)",
                                  *name),
                      experiment.value_span("name"));
  }
  return *name;
}

std::vector<NamedExpression> read_model(const TomlDocument& doc, config::NameTable& names) {
  std::vector<NamedExpression> out;
  const toml::table* table = section(doc, "model");
  if (table == nullptr) return out;
  const TableReader model(doc, *table, "model");
  for (const TomlEntry& entry : model.entries()) {
    NamedExpression named;
    named.name = std::string(entry.key->str());
    names.declare(named.name, "model expression", doc.span_of(*entry.key));
    named.text = read_expression(doc, *entry.value, model.label(named.name));
    out.push_back(std::move(named));
  }
  return out;
}

// [metrics]: name = "per-sample expression", as [model] entries; fit mode only.
std::vector<NamedExpression> read_metrics(const TomlDocument& doc, config::NameTable& names,
                                          bool fit) {
  std::vector<NamedExpression> out;
  const toml::table* table = section(doc, "metrics");
  if (table == nullptr) return out;
  const TableReader metrics(doc, *table, "metrics");
  if (!fit && !metrics.entries().empty())
    throw input_error(
        "[metrics] needs a [data] section: a metric is averaged over the samples of a batch and "
        "of the validation split, and minimize mode has none",
        metrics.span());
  for (const TomlEntry& entry : metrics.entries()) {
    NamedExpression named;
    named.name = std::string(entry.key->str());
    const Span at = doc.span_of(*entry.key);
    const bool column =
        std::find(std::begin(config::kMetricsColumns), std::end(config::kMetricsColumns),
                  named.name) != std::end(config::kMetricsColumns);
    if (column || named.name.rfind("val_", 0) == 0)
      throw input_error("the metric name '" + named.name + "' " +
                            (column ? "is a column of metrics.csv already"
                                    : "starts with 'val_', which metrics.csv keeps for the "
                                      "validation columns"),
                        at, "rename it, e.g. '" + named.name + "_metric'");
    names.declare(named.name, "metric", at);
    named.text = read_expression(doc, *entry.value, metrics.label(named.name));
    out.push_back(std::move(named));
  }
  return out;
}

void read_cost(const TomlDocument& doc, ExperimentConfig& out) {
  const toml::table* table = section(doc, "cost");
  if (table == nullptr) {
    throw input_error("the config has no [cost] section; add one with loss = \"<expression>\"",
                      file_start(doc));
  }
  const TableReader cost(doc, *table, "cost");
  cost.reject_unknown_keys(config::kCostKeys, config::kCostAliases);
  const toml::node* loss = cost.find("loss");
  if (loss == nullptr) throw input_error("[cost] needs loss = \"<expression>\"", cost.span());
  out.loss = read_expression(doc, *loss, "cost.loss");
  const toml::node* penalty = cost.find("penalty");
  if (penalty == nullptr) return;
  if (const auto* list = penalty->as_array()) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      out.penalties.push_back(read_expression(doc, (*list)[i], fmt::format("cost.penalty[{}]", i)));
    }
  } else if (penalty->is_string()) {
    out.penalties.push_back(read_expression(doc, *penalty, "cost.penalty"));
  } else {
    throw config::type_error(doc, *penalty, "a string or an array of strings", "cost.penalty");
  }
}

ExperimentConfig read_experiment(const TomlDocument& doc, const std::string& path) {
  check_sections(doc);
  ExperimentConfig out;
  out.path = path;
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  out.dir = folder.empty() ? "." : folder.string();
  out.name = read_name(doc, path);

  config::NameTable names;
  std::optional<std::uint64_t> data_seed;
  if (const toml::table* data = section(doc, "data")) {
    out.data = config::read_data(TableReader(doc, *data, "data"), out.dir, names, data_seed);
  }

  const toml::table* params = section(doc, "params");
  if (params == nullptr) {
    throw input_error(
        "the config has no [params] section; declare the parameters to train, "
        "e.g. w = { shape = [3] }",
        file_start(doc));
  }
  out.params = config::read_params(TableReader(doc, *params, "params"), names);
  if (out.params.empty()) {
    throw input_error("[params] declares no parameters",
                      TableReader(doc, *params, "params").span());
  }
  // A minimize run's params.json keeps its best start under "best", beside the parameters.
  for (const ParamSpec& param : out.params)
    if (!out.data.present && param.name == "best")
      throw input_error(
          "the parameter name 'best' is reserved in minimize mode: params.json keeps "
          "the best start under that key",
          param.where);
  if (const toml::table* constants = section(doc, "constants"))
    out.constants =
        config::read_constants(TableReader(doc, *constants, "constants"), out.dir, names);
  out.model = read_model(doc, names);
  read_cost(doc, out);
  out.metrics = read_metrics(doc, names, out.data.present);

  const toml::table no_train;
  const toml::table* train = section(doc, "train");
  const TableReader train_reader(doc, train ? *train : no_train, "train");
  out.train = config::read_train(train_reader, out.data);
  out.data.seed = data_seed.value_or(out.train.seed);
  config::check_param_sizes(out.params, out.minimize() ? out.train.starts : 1,
                            train_reader.value_span("starts"));
  return out;
}

}  // namespace

ExperimentConfig load_experiment(const std::string& path,
                                 const std::vector<std::string>& overrides) {
  TomlDocument doc = TomlDocument::read(path);
  for (const std::string& override_text : overrides) doc.apply_override(override_text);
  return read_experiment(doc, path);
}

ExperimentConfig load_experiment_from_text(const std::string& path, std::string text,
                                           const std::vector<std::string>& overrides) {
  TomlDocument doc = TomlDocument::parse(path, std::move(text));
  for (const std::string& override_text : overrides) doc.apply_override(override_text);
  return read_experiment(doc, path);
}

}  // namespace descent
