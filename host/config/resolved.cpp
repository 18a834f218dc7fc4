// resolved_config_toml: the effective experiment as a config file, every default filled in
// (descent config --resolved, and config.resolved.toml in each run folder). It lists every
// setting that applies, in a fixed order, with paths as the config wrote them, so it loads
// back to the same experiment and prints the same text again. With absolute_paths the data
// paths (and the files of constants) are absolute instead, so that a copy of the text loads
// from any folder (the run's). [constants] is written only when the config has constants.
//
// Does not: write files, or print settings that do not apply (the loader would reject them:
// adam's betas under sgd, gamma under a constant schedule, starts in fit mode).
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "config/config_fields.hpp"
#include "config/experiment.hpp"
#include "config/toml_document.hpp"
#include "optim/optimizer.hpp"
#include "optim/schedule.hpp"

namespace descent {

namespace {

using config::quote_toml_string;

// The shortest text that reads back as the same double, always a TOML float ("1.0", not "1").
std::string toml_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

std::string toml_string_array(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : ", ") + quote_toml_string(items[i]);
  }
  return out + "]";
}

std::string names_with(const std::vector<InputSpec>& inputs, bool InputSpec::*flag) {
  std::vector<std::string> names;
  for (const InputSpec& spec : inputs) {
    if (spec.*flag) names.push_back(spec.name);
  }
  return toml_string_array(names);
}

// A CSV input as written: "col", "a..b" or ["c1", "c2"].
std::string columns_value(const InputSpec& spec) {
  const bool one_range =
      spec.columns.size() == 1 && spec.columns[0].find("..") != std::string::npos;
  if (!spec.is_vector || one_range) return quote_toml_string(spec.columns.at(0));
  return toml_string_array(spec.columns);
}

// A data path as the config wrote it, or absolute.
std::string data_path(const std::string& resolved, const std::string& as_written, bool absolute) {
  if (!absolute) return as_written;
  return std::filesystem::absolute(resolved).lexically_normal().string();
}

void write_data(const DataConfig& data, bool absolute_paths, std::string& out) {
  out += "[data]\n";
  const bool npy = !data.inputs.empty() && !data.inputs[0].npy_file_as_written.empty();
  std::string table = "{ ";
  for (std::size_t i = 0; i < data.inputs.size(); ++i) {
    const InputSpec& spec = data.inputs[i];
    table +=
        (i == 0 ? "" : ", ") + spec.name + " = " +
        (npy ? quote_toml_string(data_path(spec.npy_file, spec.npy_file_as_written, absolute_paths))
             : columns_value(spec));
  }
  table += " }";
  if (npy) {
    out += "npy = " + table + "\n";
  } else {
    out +=
        "file = " + quote_toml_string(data_path(data.file, data.file_as_written, absolute_paths)) +
        "\n";
    out += "inputs = " + table + "\n";
  }
  out += "classes = " + names_with(data.inputs, &InputSpec::classes) + "\n";
  out += "standardize = " + names_with(data.inputs, &InputSpec::standardize) + "\n";
  out += "validation = " + toml_float(data.validation) + "\n";
  out += fmt::format("shuffle = {}\n", data.shuffle);
  out += fmt::format("seed = {}\n\n", data.seed);
}

// Row-major `values` of `shape` as [numbers] or [[numbers], ...] (a number for a scalar).
std::string shaped_values(const std::vector<double>& values, const Shape& shape) {
  if (shape.is_scalar()) return toml_float(values.at(0));
  auto row = [&](std::size_t begin, std::size_t count) {
    std::string text = "[";
    for (std::size_t i = 0; i < count; ++i) {
      text += (i == 0 ? "" : ", ") + toml_float(values.at(begin + i));
    }
    return text + "]";
  };
  const auto cols = static_cast<std::size_t>(shape.cols());
  if (shape.rank == 1) return row(0, cols);
  std::string text = "[";
  for (std::size_t r = 0; r < static_cast<std::size_t>(shape.rows()); ++r) {
    text += (r == 0 ? "" : ", ") + row(r * cols, cols);
  }
  return text + "]";
}

// A literal as a number, [numbers] or [[numbers], ...]; an initializer as an inline table, its
// per-element settings as arrays shaped like the parameter.
std::string param_value(const ParamSpec& param) {
  if (param.init == InitKind::literal) return shaped_values(param.literal, param.shape);
  std::string text = "{ shape = [";
  for (int i = 0; i < param.shape.rank; ++i) {
    text += fmt::format("{}{}", i == 0 ? "" : ", ", param.shape.dims[i]);
  }
  text += "], init = " + quote_toml_string(std::string(init_kind_name(param.init)));
  for (const config::InitChoice& kind : config::kInitChoices) {
    if (kind.kind != param.init) continue;
    for (const config::InitSetting& setting : config::kInitSettings) {
      if (setting.key == kind.settings[0] || setting.key == kind.settings[1]) {
        const std::vector<double>& each = param.each.*setting.each;
        text += fmt::format(
            ", {} = {}", setting.key,
            each.empty() ? toml_float(param.*setting.member) : shaped_values(each, param.shape));
      }
    }
  }
  if (param.bounds.present) {
    const ParamSpec::Bounds& b = param.bounds;
    const auto side = [&](double scalar, const std::vector<double>& each) {
      return each.empty() ? toml_float(scalar) : shaped_values(each, param.shape);
    };
    text += ", bounds = [" + side(b.low, b.each_low) + ", " + side(b.high, b.each_high) + "]";
  }
  return text + " }";
}

// A constant as written: a number, [numbers], [[numbers], ...] or { file = "path" }.
std::string constant_value(const ConstantSpec& constant, bool absolute_paths) {
  if (!constant.from_file()) return shaped_values(constant.values, constant.shape);
  return "{ file = " +
         quote_toml_string(data_path(constant.file, constant.file_as_written, absolute_paths)) +
         " }";
}

void write_train(const ExperimentConfig& config, std::string& out) {
  const TrainConfig& train = config.train;
  out += "[train]\n";
  out += fmt::format("optimizer = \"{}\"\n", optimizer_kind_name(train.optimizer.kind));
  for (const config::OptimizerField& f : config::kOptimizerFields) {
    if (f.kinds & config::kind_bit(train.optimizer.kind)) {
      out += fmt::format("{} = {}\n", f.key, toml_float(train.optimizer.*(f.member)));
    }
  }
  out += fmt::format("schedule = \"{}\"\n", schedule_kind_name(train.schedule.kind));
  for (const config::ScheduleField& f : config::kScheduleFields) {
    if (!(f.kinds & config::kind_bit(train.schedule.kind))) continue;
    out += f.real != nullptr ? fmt::format("{} = {}\n", f.key, toml_float(train.schedule.*(f.real)))
                             : fmt::format("{} = {}\n", f.key, train.schedule.*(f.integer));
  }
  if (train.epochs > 0) {
    out += fmt::format("epochs = {}\n", train.epochs);
  } else {
    out += fmt::format("steps = {}\n", train.steps);
  }
  if (!config.minimize()) out += fmt::format("batch_size = {}\n", train.batch_size);
  out += fmt::format("seed = {}\n", train.seed);
  out += "clip_norm = " + toml_float(train.clip_norm) + "\n";
  if (!config.minimize()) {
    out += fmt::format("eval_every = {}\n", train.eval_every);
    out += fmt::format("early_stopping = {{ patience = {}, min_delta = {} }}\n",
                       train.early_stopping.patience, toml_float(train.early_stopping.min_delta));
  } else {
    out += fmt::format("starts = {}\n", train.starts);
  }
  out += fmt::format("log_every = {}\n", train.log_every);
  out += fmt::format("checkpoint_every = {}\n", train.checkpoint_every);
  out += fmt::format("precision = \"{}\"\n",
                     kRunPrecisionNames[static_cast<std::size_t>(train.precision)]);
  out += fmt::format("plan = \"{}\"\n", kPlanChoiceNames[static_cast<std::size_t>(train.plan)]);
  out += fmt::format("threads = {}\n", train.threads);
}

}  // namespace

std::string resolved_config_toml(const ExperimentConfig& config, bool absolute_paths) {
  std::string out =
      "# The effective configuration: every setting that applies, defaults filled in.\n\n";
  out += "[experiment]\nname = " + quote_toml_string(config.name) + "\n\n";
  if (config.data.present) write_data(config.data, absolute_paths, out);

  out += "[params]\n";
  for (const ParamSpec& param : config.params)
    out += param.name + " = " + param_value(param) + "\n";
  if (!config.constants.empty()) {
    out += "\n[constants]\n";
    for (const ConstantSpec& constant : config.constants)
      out += constant.name + " = " + constant_value(constant, absolute_paths) + "\n";
  }
  out += "\n[model]\n";
  for (const NamedExpression& named : config.model) {
    out += named.name + " = " + quote_toml_string(named.text.source->text) + "\n";
  }
  out += "\n[cost]\n";
  out += "loss = " + quote_toml_string(config.loss.source->text) + "\n";
  std::vector<std::string> penalties;
  for (const ExpressionText& penalty : config.penalties) penalties.push_back(penalty.source->text);
  out += "penalty = " + toml_string_array(penalties) + "\n\n";
  if (!config.metrics.empty()) {
    out += "[metrics]\n";
    for (const NamedExpression& named : config.metrics)
      out += named.name + " = " + quote_toml_string(named.text.source->text) + "\n";
    out += "\n";
  }
  write_train(config, out);
  return out;
}

}  // namespace descent
