// The optimizers as a config names them: names, PyTorch's defaults, the checks of the
// hyperparameters, and a one-line description (declared in optim/optimizer.hpp beside the
// update loop). Here in host/config, which reads them, so that config needs nothing that
// host/train compiles.
#include <fmt/format.h>

#include <array>
#include <cmath>
#include <cstddef>

#include "common/suggest.hpp"
#include "optim/optimizer.hpp"

namespace descent {

namespace {

using Kind = OptimizerConfig::Kind;

// Indexed by Kind; the static_assert below keeps it in step with the enum.
constexpr std::array<std::string_view, 6> kKindNames = {"sgd",  "momentum", "nesterov",
                                                        "adam", "adamw",    "rmsprop"};
static_assert(static_cast<std::size_t>(Kind::rmsprop) + 1 == kKindNames.size());

// A user error for a hyperparameter out of range.
Error bad_value(std::string_view field, double value, std::string_view requirement,
                const OptimizerConfig& config, const Span& where) {
  return input_error(fmt::format("optimizer {}: {} = {} but it must be {}",
                                 optimizer_kind_name(config.kind), field, value, requirement),
                     where);
}

bool uses_momentum(Kind kind) {
  return kind == Kind::momentum || kind == Kind::nesterov || kind == Kind::rmsprop;
}
bool uses_betas(Kind kind) { return kind == Kind::adam || kind == Kind::adamw; }

}  // namespace

std::string_view optimizer_kind_name(Kind kind) {
  return kKindNames[static_cast<std::size_t>(kind)];
}

Kind parse_optimizer_kind(std::string_view name, const Span& where) {
  return parse_choice<Kind>("optimizer", name, kKindNames, where);
}

OptimizerConfig default_optimizer_config(Kind kind) {
  OptimizerConfig config;  // the struct's defaults are PyTorch's SGD/Adam/RMSprop values
  config.kind = kind;
  switch (kind) {
    case Kind::sgd:
      config.lr = 0.01;
      break;
    case Kind::momentum:
    case Kind::nesterov:
      config.lr = 0.01;
      config.momentum = 0.9;
      break;
    case Kind::adam:
      config.lr = 0.001;
      break;
    case Kind::adamw:
      config.lr = 0.001;
      config.weight_decay = 0.01;
      break;
    case Kind::rmsprop:
      config.lr = 0.01;
      break;
  }
  return config;
}

void validate_optimizer_config(const OptimizerConfig& config, const Span& where) {
  const Kind kind = config.kind;
  auto require = [&](bool ok, std::string_view field, double value, std::string_view rule) {
    if (!ok || !std::isfinite(value)) throw bad_value(field, value, rule, config, where);
  };
  require(config.lr > 0, "lr", config.lr, "a finite number > 0");
  require(config.weight_decay >= 0, "weight_decay", config.weight_decay, "a finite number >= 0");
  if (uses_momentum(kind)) {
    require(config.momentum >= 0 && config.momentum < 1, "momentum", config.momentum, "in [0, 1)");
    if (kind == Kind::nesterov && config.momentum == 0) {
      throw input_error("optimizer nesterov needs momentum > 0 (with momentum = 0 it is sgd)",
                        where);
    }
  }
  if (uses_betas(kind)) {
    require(config.beta1 >= 0 && config.beta1 < 1, "beta1", config.beta1, "in [0, 1)");
    require(config.beta2 >= 0 && config.beta2 < 1, "beta2", config.beta2, "in [0, 1)");
  }
  if (uses_betas(kind) || kind == Kind::rmsprop) {
    require(config.eps >= 0, "eps", config.eps, "a finite number >= 0");
  }
  if (kind == Kind::rmsprop) {
    require(config.alpha >= 0 && config.alpha < 1, "alpha", config.alpha, "in [0, 1)");
  }
}

std::string describe_optimizer(const OptimizerConfig& config) {
  const Kind kind = config.kind;
  std::string out = fmt::format("{}(lr={}", optimizer_kind_name(kind), config.lr);
  if (uses_momentum(kind)) out += fmt::format(", momentum={}", config.momentum);
  if (uses_betas(kind)) out += fmt::format(", beta1={}, beta2={}", config.beta1, config.beta2);
  if (kind == Kind::rmsprop) out += fmt::format(", alpha={}", config.alpha);
  if (uses_betas(kind) || kind == Kind::rmsprop) out += fmt::format(", eps={}", config.eps);
  out += fmt::format(", weight_decay={})", config.weight_decay);
  return out;
}

}  // namespace descent
