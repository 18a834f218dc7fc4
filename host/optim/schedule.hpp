// Learning-rate schedules: the rate of every step as a pure function of the step number, so
// that a resumed run gets exactly the rates of an uninterrupted one.
//
// Kinds: constant, step (times gamma every step_size steps), exponential (times gamma every
// step), cosine (half a cosine from lr down to min_lr over the run). Any of them may start with
// a linear warmup. Does not: apply the rate (optim/optimizer.hpp), react to the loss (no
// reduce-on-plateau), or read config files (host/config fills a ScheduleConfig).
#pragma once

#include <string>
#include <string_view>

#include "common/source.hpp"

namespace descent {

struct ScheduleConfig {
  enum class Kind { constant, step, exponential, cosine };

  Kind kind = Kind::constant;
  double lr = 0.01;           // the peak rate: the optimizer's lr, copied here by the config
  double gamma = 0.1;         // step: factor every step_size steps; exponential: every step
  long step_size = 1000;      // step: steps between two decays
  double min_lr = 0.0;        // cosine: the rate at the end of the run
  long warmup_steps = 0;      // 0: no warmup
  double warmup_start = 0.0;  // the warmup's first rate, as a fraction of lr
};

// The learning rate of 0-based step `step` in a run of `total_steps` steps.
//
// Warmup, for step < warmup_steps:  lr * (s + (1 - s) * step / warmup_steps), s = warmup_start,
// so step 0 runs at s*lr and step warmup_steps is the first at the full rate.
// After it the decay runs on t = step - warmup_steps, over T = total_steps - warmup_steps:
//   constant     lr
//   step         lr * gamma^floor(t / step_size)
//   exponential  lr * gamma^t
//   cosine       min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2, and min_lr once t >= T
// total_steps matters only to cosine. A negative step is an internal error.
double learning_rate_at(const ScheduleConfig& config, long step, long total_steps);

// "constant", "step", "exponential", "cosine".
std::string_view schedule_kind_name(ScheduleConfig::Kind kind);

// The inverse of schedule_kind_name; an unknown name is a user error at `where` listing the
// valid choices with a suggestion.
ScheduleConfig::Kind parse_schedule_kind(std::string_view name, const Span& where = {});

// Throws a user error at `where` for a setting out of range: lr not finite and > 0, gamma
// outside (0, 1], step_size < 1, min_lr outside [0, lr], warmup_steps < 0, warmup_start
// outside [0, 1]. Settings the kind ignores are not checked.
void validate_schedule_config(const ScheduleConfig& config, const Span& where = {});

// The effective settings, for logs and the manifest: "cosine(lr=0.1, min_lr=0, warmup_steps=100)".
std::string describe_schedule(const ScheduleConfig& config);

}  // namespace descent
