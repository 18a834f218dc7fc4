// The vocabulary of a config file in one place: the sections and their keys (with the other
// spellings people try, for did-you-mean), the optimizer and schedule settings with the kinds
// that use each, and the parameter initializers with the settings each takes. The loader reads
// these tables to accept, reject and suggest keys; the resolved-config writer reads them to
// print exactly the settings that apply; so the two cannot drift apart.
//
// Does not: read or write anything, or validate ranges (optim/optimizer.hpp, optim/schedule.hpp
// and the section readers do).
#pragma once

#include <array>
#include <string_view>
#include <vector>

#include "config/experiment.hpp"
#include "config/table_reader.hpp"
#include "graph/graph.hpp"

namespace descent::config {

inline constexpr std::string_view kSections[] = {"experiment", "data", "params",  "constants",
                                                 "model",      "cost", "metrics", "train"};
// metrics.csv's own columns: a metric may not take one of these names, nor start with "val_"
// (its validation column is val_<name>).
inline constexpr std::string_view kMetricsColumns[] = {"step",      "epoch",         "loss",  "lr",
                                                       "grad_norm", "samples_per_s", "wall_s"};
inline constexpr KeyAlias kSectionAliases[] = {
    {"training", "train"},    {"optimizer", "train"},    {"optim", "train"},
    {"parameters", "params"}, {"param", "params"},       {"loss", "cost"},
    {"objective", "cost"},    {"dataset", "data"},       {"models", "model"},
    {"meta", "experiment"},   {"constant", "constants"}, {"consts", "constants"},
    {"fixed", "constants"}};

inline constexpr std::string_view kExperimentKeys[] = {"name"};

inline constexpr std::string_view kDataKeys[] = {"file", "inputs",     "classes", "standardize",
                                                 "npy",  "validation", "shuffle", "seed"};
inline constexpr KeyAlias kDataAliases[] = {{"path", "file"},
                                            {"csv", "file"},
                                            {"columns", "inputs"},
                                            {"input", "inputs"},
                                            {"categorical", "classes"},
                                            {"labels", "classes"},
                                            {"normalize", "standardize"},
                                            {"val", "validation"},
                                            {"validation_split", "validation"},
                                            {"val_split", "validation"},
                                            {"random_seed", "seed"}};

inline constexpr std::string_view kCostKeys[] = {"loss", "penalty"};
inline constexpr KeyAlias kCostAliases[] = {{"objective", "loss"},
                                            {"regularization", "penalty"},
                                            {"regularizer", "penalty"},
                                            {"reg", "penalty"}};

// A parameter written as a table: `shape`, `init`, the settings of the initializers, and
// `bounds`.
inline constexpr std::string_view kParamKeys[] = {"shape", "init", "value", "low",
                                                  "high",  "mean", "std",   "bounds"};
inline constexpr KeyAlias kParamAliases[] = {
    {"dims", "shape"},     {"size", "shape"},   {"initializer", "init"}, {"stddev", "std"},
    {"sigma", "std"},      {"scale", "std"},    {"min", "low"},          {"max", "high"},
    {"constant", "value"}, {"bound", "bounds"}, {"box", "bounds"},       {"limits", "bounds"},
    {"range", "bounds"},   {"clamp", "bounds"}};

// A constant written as a table: the file that holds its values.
inline constexpr std::string_view kConstantKeys[] = {"file"};
inline constexpr KeyAlias kConstantAliases[] = {
    {"path", "file"}, {"npy", "file"}, {"csv", "file"}, {"filename", "file"}};

inline constexpr std::string_view kTrainKeys[] = {
    "optimizer",    "lr",           "momentum",       "beta1",  "beta2",      "eps",
    "weight_decay", "alpha",        "schedule",       "gamma",  "step_size",  "min_lr",
    "warmup_steps", "warmup_start", "epochs",         "steps",  "batch_size", "seed",
    "clip_norm",    "eval_every",   "early_stopping", "starts", "log_every",  "checkpoint_every",
    "precision",    "plan",         "threads"};
inline constexpr KeyAlias kTrainAliases[] = {{"num_threads", "threads"},
                                             {"nthreads", "threads"},
                                             {"jobs", "threads"},
                                             {"learning_rate", "lr"},
                                             {"rate", "lr"},
                                             {"optim", "optimizer"},
                                             {"scheduler", "schedule"},
                                             {"lr_schedule", "schedule"},
                                             {"epsilon", "eps"},
                                             {"wd", "weight_decay"},
                                             {"mu", "momentum"},
                                             {"rho", "alpha"},
                                             {"max_steps", "steps"},
                                             {"num_steps", "steps"},
                                             {"iterations", "steps"},
                                             {"num_epochs", "epochs"},
                                             {"batch", "batch_size"},
                                             {"random_seed", "seed"},
                                             {"clip", "clip_norm"},
                                             {"dtype", "precision"},
                                             {"grad_clip", "clip_norm"},
                                             {"max_grad_norm", "clip_norm"},
                                             {"patience", "early_stopping"},
                                             {"restarts", "starts"},
                                             {"num_starts", "starts"},
                                             {"warmup", "warmup_steps"}};
// Keys that need a data set (fit mode), and those that only minimize mode takes.
inline constexpr std::string_view kFitOnlyTrainKeys[] = {"epochs", "batch_size", "eval_every",
                                                         "early_stopping"};
inline constexpr std::string_view kMinimizeOnlyTrainKeys[] = {"starts"};

inline constexpr std::string_view kEarlyStoppingKeys[] = {"patience", "min_delta"};

// One bit per kind of an enum, for "which kinds use this setting".
template <class Kind>
constexpr unsigned kind_bit(Kind kind) {
  return 1u << static_cast<unsigned>(kind);
}

// The optimizer's settings, in the order the resolved config prints them.
struct OptimizerField {
  std::string_view key;
  double OptimizerConfig::*member;
  unsigned kinds;  // kind_bit of every optimizer that uses it
};
namespace fields_detail {
using OK = OptimizerConfig::Kind;
inline constexpr unsigned kAllOptimizers = (1u << (static_cast<unsigned>(OK::rmsprop) + 1)) - 1;
}  // namespace fields_detail
inline constexpr OptimizerField kOptimizerFields[] = {
    {"lr", &OptimizerConfig::lr, fields_detail::kAllOptimizers},
    {"momentum", &OptimizerConfig::momentum,
     kind_bit(fields_detail::OK::momentum) | kind_bit(fields_detail::OK::nesterov) |
         kind_bit(fields_detail::OK::rmsprop)},
    {"beta1", &OptimizerConfig::beta1,
     kind_bit(fields_detail::OK::adam) | kind_bit(fields_detail::OK::adamw)},
    {"beta2", &OptimizerConfig::beta2,
     kind_bit(fields_detail::OK::adam) | kind_bit(fields_detail::OK::adamw)},
    {"eps", &OptimizerConfig::eps,
     kind_bit(fields_detail::OK::adam) | kind_bit(fields_detail::OK::adamw) |
         kind_bit(fields_detail::OK::rmsprop)},
    {"alpha", &OptimizerConfig::alpha, kind_bit(fields_detail::OK::rmsprop)},
    {"weight_decay", &OptimizerConfig::weight_decay, fields_detail::kAllOptimizers},
};

// The schedule's settings (its lr is the optimizer's), in print order. Exactly one of `real`
// and `integer` is set.
struct ScheduleField {
  std::string_view key;
  double ScheduleConfig::*real;
  long ScheduleConfig::*integer;
  unsigned kinds;  // kind_bit of every schedule that uses it
};
namespace fields_detail {
using SK = ScheduleConfig::Kind;
inline constexpr unsigned kAllSchedules = (1u << (static_cast<unsigned>(SK::cosine) + 1)) - 1;
}  // namespace fields_detail
inline constexpr ScheduleField kScheduleFields[] = {
    {"gamma", &ScheduleConfig::gamma, nullptr,
     kind_bit(fields_detail::SK::step) | kind_bit(fields_detail::SK::exponential)},
    {"step_size", nullptr, &ScheduleConfig::step_size, kind_bit(fields_detail::SK::step)},
    {"min_lr", &ScheduleConfig::min_lr, nullptr, kind_bit(fields_detail::SK::cosine)},
    {"warmup_steps", nullptr, &ScheduleConfig::warmup_steps, fields_detail::kAllSchedules},
    {"warmup_start", &ScheduleConfig::warmup_start, nullptr, fields_detail::kAllSchedules},
};

// The initializers of a parameter written as a table, with the settings each takes.
// A setting is a number, or an array of numbers shaped like the parameter (one per element).
struct InitSetting {
  std::string_view key;
  double ParamSpec::*member;
  std::vector<double> ParamSpec::PerElement::*each;
};
inline constexpr InitSetting kInitSettings[] = {
    {"value", &ParamSpec::value, &ParamSpec::PerElement::value},
    {"low", &ParamSpec::low, &ParamSpec::PerElement::low},
    {"high", &ParamSpec::high, &ParamSpec::PerElement::high},
    {"mean", &ParamSpec::mean, &ParamSpec::PerElement::mean},
    {"std", &ParamSpec::std, &ParamSpec::PerElement::std}};
struct InitChoice {
  InitKind kind;
  std::string_view name;
  std::array<std::string_view, 2> settings;  // "" where there is none
};
// The kinds a config may name; a parameter written as a number or an array of numbers is
// InitKind::literal, which no config names.
inline constexpr InitChoice kInitChoices[] = {{InitKind::zeros, "zeros", {}},
                                              {InitKind::constant, "constant", {"value", ""}},
                                              {InitKind::uniform, "uniform", {"low", "high"}},
                                              {InitKind::normal, "normal", {"mean", "std"}},
                                              {InitKind::xavier, "xavier", {}},
                                              {InitKind::he, "he", {}}};

// Names no expression may declare: the batch size that the trainer binds during training.
inline constexpr std::string_view kReservedNames[] = {kBatchSizeName};

}  // namespace descent::config
