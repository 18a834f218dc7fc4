// Learning-rate schedules: closed forms of the step number (see schedule.hpp for the math).
#include "train/schedule.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <numbers>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "train/optimizer.hpp"

namespace descent {

namespace {

using Kind = ScheduleConfig::Kind;

// Indexed by Kind.
constexpr std::array<std::string_view, 4> kKindNames = {"constant", "step", "exponential",
                                                        "cosine"};
static_assert(static_cast<std::size_t>(Kind::cosine) + 1 == kKindNames.size());

// The decayed rate t steps after the warmup, in a decay phase of `decay_steps` steps.
double decayed_rate(const ScheduleConfig& c, long t, long decay_steps) {
  switch (c.kind) {
    case Kind::constant:
      return c.lr;
    case Kind::step:
      return c.lr * std::pow(c.gamma, static_cast<double>(t / c.step_size));
    case Kind::exponential:
      return c.lr * std::pow(c.gamma, static_cast<double>(t));
    case Kind::cosine: {
      if (t >= decay_steps) return c.min_lr;
      const double progress = static_cast<double>(t) / static_cast<double>(decay_steps);
      return c.min_lr + (c.lr - c.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * progress));
    }
  }
  return c.lr;
}

}  // namespace

double learning_rate_at(const ScheduleConfig& config, long step, long total_steps) {
  if (step < 0) {
    throw Error(ExitCode::failure, fmt::format("learning_rate_at: step {} is negative", step));
  }
  if (step < config.warmup_steps) {
    const double s = config.warmup_start;
    const double ramp = static_cast<double>(step) / static_cast<double>(config.warmup_steps);
    return config.lr * (s + (1.0 - s) * ramp);
  }
  const long warmup = config.warmup_steps > 0 ? config.warmup_steps : 0;
  return decayed_rate(config, step - warmup, total_steps - warmup);
}

std::string_view schedule_kind_name(Kind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

Kind parse_schedule_kind(std::string_view name, const Span& where) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i);
  }
  throw unknown_choice_error("schedule", name, kKindNames, where);
}

void validate_schedule_config(const ScheduleConfig& config, const Span& where) {
  auto require = [&](bool ok, std::string_view field, auto value, std::string_view rule) {
    if (ok) return;
    throw input_error(fmt::format("schedule {}: {} = {} but it must be {}",
                                  schedule_kind_name(config.kind), field, value, rule),
                      where);
  };
  const double lr = config.lr;
  require(std::isfinite(lr) && lr > 0, "lr", lr, "a finite number > 0");
  if (config.kind == Kind::step || config.kind == Kind::exponential) {
    require(config.gamma > 0 && config.gamma <= 1, "gamma", config.gamma, "in (0, 1]");
  }
  if (config.kind == Kind::step) {
    require(config.step_size >= 1, "step_size", config.step_size, ">= 1");
  }
  if (config.kind == Kind::cosine) {
    require(config.min_lr >= 0 && config.min_lr <= lr, "min_lr", config.min_lr,
            fmt::format("in [0, lr = {}]", lr));
  }
  require(config.warmup_steps >= 0, "warmup_steps", config.warmup_steps, ">= 0");
  require(config.warmup_start >= 0 && config.warmup_start <= 1, "warmup_start", config.warmup_start,
          "in [0, 1]");
}

std::string describe_schedule(const ScheduleConfig& config) {
  std::string out = fmt::format("{}(lr={}", schedule_kind_name(config.kind), config.lr);
  switch (config.kind) {
    case Kind::constant:
      break;
    case Kind::step:
      out += fmt::format(", gamma={}, step_size={}", config.gamma, config.step_size);
      break;
    case Kind::exponential:
      out += fmt::format(", gamma={}", config.gamma);
      break;
    case Kind::cosine:
      out += fmt::format(", min_lr={}", config.min_lr);
      break;
  }
  if (config.warmup_steps > 0) {
    out += fmt::format(", warmup_steps={}", config.warmup_steps);
    if (config.warmup_start != 0) out += fmt::format(", warmup_start={}", config.warmup_start);
  }
  return out + ")";
}

}  // namespace descent
