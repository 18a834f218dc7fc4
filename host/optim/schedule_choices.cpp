// The schedules as a config names them: names, the checks of their settings, and a one-line
// description (declared in optim/schedule.hpp beside learning_rate_at). Here in host/config,
// which reads them, so that config needs nothing that host/train compiles.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstddef>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "optim/schedule.hpp"

namespace descent {

namespace {

using Kind = ScheduleConfig::Kind;

// Indexed by Kind.
constexpr std::array<std::string_view, 4> kKindNames = {"constant", "step", "exponential",
                                                        "cosine"};
static_assert(static_cast<std::size_t>(Kind::cosine) + 1 == kKindNames.size());

}  // namespace

std::string_view schedule_kind_name(Kind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

Kind parse_schedule_kind(std::string_view name, const Span& where) {
  return parse_choice<Kind>("schedule", name, kKindNames, where);
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
