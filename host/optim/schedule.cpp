// Learning-rate schedules: closed forms of the step number (see schedule.hpp for the math).
#include "optim/schedule.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstddef>
#include <numbers>

#include "common/error.hpp"

namespace descent {

namespace {

using Kind = ScheduleConfig::Kind;

// The decayed rate t steps after the warmup, in a decay phase of `decay_steps` steps.
double decayed_rate(const ScheduleConfig& c, long t, long decay_steps) {
  switch (c.kind) {
    case Kind::constant:
      return c.lr;
    case Kind::step:
      // NOLINTNEXTLINE(bugprone-integer-division): whole periods of step_size steps
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

}  // namespace descent
