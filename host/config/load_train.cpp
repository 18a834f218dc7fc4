// [train]: the optimizer and its settings, the learning-rate schedule, the length of the run,
// batching, seeds, clipping, evaluation, early stopping, starts and logging cadence.
//
// Does not: choose the optimizers' defaults or decide their valid ranges; optim/optimizer.hpp
// and optim/schedule.hpp do, and this file only points their verdict at the setting to blame.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <vector>

#include "common/suggest.hpp"
#include "config/config_fields.hpp"
#include "config/limits.hpp"
#include "config/load_sections.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace descent::config {

namespace {

using OptimizerKind = OptimizerConfig::Kind;
using ScheduleKind = ScheduleConfig::Kind;

// An optimizer or schedule setting as written (exactly one of the two pointers is set).
struct WrittenRate {
  Span at;
  const OptimizerField* optimizer;
  const ScheduleField* schedule;
};

// The verdict of train/optimizer and train/schedule on a whole configuration: "" when valid,
// else the first problem's message.
std::string verdict(const OptimizerConfig& optimizer, const ScheduleConfig& schedule) {
  try {
    validate_optimizer_config(optimizer);
    validate_schedule_config(schedule);
  } catch (const Error& e) {
    return e.message();
  }
  return {};
}

// The validators see the whole configuration, so their error has no position. The setting to
// blame is the first written one that, put back to its default, changes the verdict: for
// lr = 0.1, min_lr = 0.5 (cosine) that is min_lr, and for a bad warmup_start it is
// warmup_start, not the settings written before it.
void validate_rates(const TrainConfig& train, const std::vector<WrittenRate>& written,
                    const Span& fallback) {
  try {
    validate_optimizer_config(train.optimizer);
    validate_schedule_config(train.schedule);
    return;
  } catch (const Error& e) {
    const OptimizerConfig optimizer_defaults = default_optimizer_config(train.optimizer.kind);
    const ScheduleConfig schedule_defaults;
    for (const WrittenRate& w : written) {
      OptimizerConfig optimizer = train.optimizer;
      ScheduleConfig schedule = train.schedule;
      if (w.optimizer != nullptr) {
        optimizer.*(w.optimizer->member) = optimizer_defaults.*(w.optimizer->member);
      } else if (w.schedule->real != nullptr) {
        schedule.*(w.schedule->real) = schedule_defaults.*(w.schedule->real);
      } else {
        schedule.*(w.schedule->integer) = schedule_defaults.*(w.schedule->integer);
      }
      schedule.lr = optimizer.lr;
      if (verdict(optimizer, schedule) != e.message())
        throw input_error(e.message(), w.at, e.note());
    }
    throw input_error(e.message(), fallback, e.note());
  }
}

// "'beta1' does not apply to optimizer = "sgd"", with the settings the kind does take.
Error not_applicable(const TableReader& train, std::string_view key, std::string_view what,
                     std::string_view kind, const std::vector<std::string_view>& takes) {
  const bool defaulted = !train.has(what);
  return input_error(fmt::format("'{}' does not apply to {} = \"{}\"{}", key, what, kind,
                                 defaulted ? " (the default)" : ""),
                     train.key_span(key),
                     fmt::format("{} = \"{}\" takes {}", what, kind, fmt::join(takes, ", ")));
}

// optimizer, schedule and their settings.
void read_rates(const TableReader& train, TrainConfig& out) {
  const std::optional<std::string> optimizer_name = train.string("optimizer");
  const OptimizerKind optimizer_kind =
      optimizer_name ? parse_optimizer_kind(*optimizer_name, train.value_span("optimizer"))
                     : OptimizerKind::sgd;
  const std::optional<std::string> schedule_name = train.string("schedule");
  const ScheduleKind schedule_kind =
      schedule_name ? parse_schedule_kind(*schedule_name, train.value_span("schedule"))
                    : ScheduleKind::constant;
  out.optimizer = default_optimizer_config(optimizer_kind);
  out.schedule = ScheduleConfig{};
  out.schedule.kind = schedule_kind;

  std::vector<std::string_view> optimizer_takes, schedule_takes;
  for (const OptimizerField& f : kOptimizerFields) {
    if (f.kinds & kind_bit(optimizer_kind)) optimizer_takes.push_back(f.key);
  }
  for (const ScheduleField& f : kScheduleFields) {
    if (f.kinds & kind_bit(schedule_kind)) schedule_takes.push_back(f.key);
  }

  const TomlDocument& doc = train.doc();
  std::vector<WrittenRate> written;
  for (const TomlEntry& entry : train.entries()) {
    const std::string_view key = entry.key->str();
    const std::string label = train.label(key);
    for (const OptimizerField& f : kOptimizerFields) {
      if (f.key != key) continue;
      if (!(f.kinds & kind_bit(optimizer_kind))) {
        throw not_applicable(train, key, "optimizer", optimizer_kind_name(optimizer_kind),
                             optimizer_takes);
      }
      out.optimizer.*(f.member) = number_value(doc, *entry.value, label);
      written.push_back({doc.span_of(*entry.value), &f, nullptr});
    }
    for (const ScheduleField& f : kScheduleFields) {
      if (f.key != key) continue;
      if (!(f.kinds & kind_bit(schedule_kind))) {
        throw not_applicable(train, key, "schedule", schedule_kind_name(schedule_kind),
                             schedule_takes);
      }
      if (f.real != nullptr) {
        out.schedule.*(f.real) = number_value(doc, *entry.value, label);
      } else {
        out.schedule.*(f.integer) = integer_value(doc, *entry.value, label);
      }
      written.push_back({doc.span_of(*entry.value), nullptr, &f});
    }
  }
  out.schedule.lr = out.optimizer.lr;
  const Span fallback = train.has("optimizer") ? train.value_span("optimizer") : train.span();
  validate_rates(out, written, fallback);
}

// epochs / steps: exactly one, with a default per mode.
void read_length(const TableReader& train, bool minimize, TrainConfig& out) {
  const std::optional<long> epochs = train.integer_in_range("epochs", 1, kMaxEpochs);
  const std::optional<long> steps = train.integer_in_range("steps", 1, kMaxSteps);
  if (epochs && steps) {
    bool seen_one = false;
    for (const TomlEntry& entry : train.entries()) {
      const std::string_view key = entry.key->str();
      if (key != "epochs" && key != "steps") continue;
      if (seen_one) {
        throw input_error("train.epochs and train.steps are alternatives; give one of them",
                          train.doc().span_of(*entry.key));
      }
      seen_one = true;
    }
  }
  if (minimize) {
    out.steps = steps.value_or(1000);
  } else if (steps) {
    out.steps = *steps;
  } else {
    out.epochs = epochs.value_or(10);
  }
}

// batch_size: an integer >= 0 (0 = the whole data set) or "full".
long read_batch_size(const TableReader& train) {
  const toml::node* node = train.find("batch_size");
  if (node == nullptr) return 0;
  if (const auto* text = node->as_string()) {
    if (text->get() == "full") return 0;
    throw input_error(fmt::format("train.batch_size = \"{}\" but it must be an integer >= 0 or "
                                  "\"full\"",
                                  text->get()),
                      train.doc().span_of(*node));
  }
  if (!node->is_integer()) {
    throw type_error(train.doc(), *node, "an integer or \"full\"", "train.batch_size");
  }
  return *train.integer_at_least("batch_size", 0);
}

EarlyStopping read_early_stopping(const TableReader& train, const DataConfig& data) {
  EarlyStopping out;
  const toml::table* table = train.table_at("early_stopping");
  if (table == nullptr) return out;
  const TableReader stopping(train.doc(), *table, train.label("early_stopping"));
  stopping.reject_unknown_keys(kEarlyStoppingKeys);
  out.patience = stopping.integer_at_least("patience", 0).value_or(0);
  out.min_delta = stopping.number_at_least("min_delta", 0.0).value_or(0.0);
  if (out.patience > 0 && data.validation == 0) {
    throw input_error(
        "early stopping watches the validation loss, but data.validation = 0 holds "
        "no rows out",
        train.value_span("early_stopping"),
        "set data.validation to the fraction of rows to hold out, e.g. 0.2");
  }
  return out;
}

}  // namespace

TrainConfig read_train(const TableReader& train, const DataConfig& data) {
  train.reject_unknown_keys(kTrainKeys, kTrainAliases);
  const bool minimize = !data.present;
  for (const std::string_view key : kFitOnlyTrainKeys) {
    if (!minimize || !train.has(key)) continue;
    throw input_error(fmt::format("'{}' needs a data set, but this config has no [data] section "
                                  "(minimize mode)",
                                  key),
                      train.key_span(key),
                      key == "epochs" ? "in minimize mode the run's length is steps = N" : "");
  }
  for (const std::string_view key : kMinimizeOnlyTrainKeys) {
    if (minimize || !train.has(key)) continue;
    throw input_error(fmt::format("'{}' applies only to minimize mode, but this config has a "
                                  "[data] section (fit mode)",
                                  key),
                      train.key_span(key));
  }

  TrainConfig out;
  read_rates(train, out);
  read_length(train, minimize, out);
  out.batch_size = read_batch_size(train);
  out.seed = static_cast<std::uint64_t>(train.integer_at_least("seed", 0).value_or(0));
  out.clip_norm = train.number_at_least("clip_norm", 0.0).value_or(0.0);
  out.eval_every = train.integer_at_least("eval_every", 0).value_or(0);
  out.early_stopping = read_early_stopping(train, data);
  out.starts = train.integer_in_range("starts", 1, kMaxStarts).value_or(1);
  out.log_every = train.integer_at_least("log_every", 0).value_or(0);
  out.checkpoint_every = train.integer_at_least("checkpoint_every", 0).value_or(0);
  if (const auto precision = train.string("precision"))
    out.precision = parse_choice<RunPrecision>("precision", *precision, kRunPrecisionNames,
                                               train.value_span("precision"));
  if (const auto plan = train.string("plan"))
    out.plan = parse_choice<PlanChoice>("plan", *plan, kPlanChoiceNames, train.value_span("plan"));
  out.threads = train.integer_in_range("threads", 0, kMaxThreads).value_or(0);
  return out;
}

}  // namespace descent::config
