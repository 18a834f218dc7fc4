// The host side of the optimizers: names, defaults, validation, the per-step coefficients
// that both backends consume, and the CPU reference update that loops the shared rules of
// optim/update_rules.hpp over whole parameter arrays.
//
// Does not: hold or allocate optimizer state (the caller owns the arrays, sized by
// optimizer_state_slots), schedule the learning rate (optim/schedule.hpp), or read config
// files (host/config turns a table into an OptimizerConfig with these helpers).
#pragma once

#include <cmath>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/source.hpp"
#include "optim/update_rules.hpp"

namespace descent {

// "sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop".
std::string_view optimizer_kind_name(OptimizerConfig::Kind kind);

// The inverse of optimizer_kind_name. An unknown name is a user error at `where` that lists
// the valid choices and suggests the closest one.
OptimizerConfig::Kind parse_optimizer_kind(std::string_view name, const Span& where = {});

// PyTorch's defaults for the kind, except that "momentum" and "nesterov" get mu = 0.9 (a
// momentum optimizer without momentum would silently be SGD): sgd, momentum, nesterov lr 0.01;
// adam, adamw lr 0.001 (adamw weight_decay 0.01); rmsprop lr 0.01, alpha 0.99.
OptimizerConfig default_optimizer_config(OptimizerConfig::Kind kind);

// Throws a user error at `where` for a hyperparameter the kind uses that is out of range
// (non-finite, lr <= 0, negative decay, betas or alpha outside [0, 1), nesterov without
// momentum). Fields the kind ignores are not checked.
void validate_optimizer_config(const OptimizerConfig& config, const Span& where = {});

// The effective settings, for logs and the run manifest: "adam(lr=0.001, beta1=0.9, ...)".
// Lists only the fields the kind uses.
std::string describe_optimizer(const OptimizerConfig& config);

// The coefficients of step `step` (1-based) at learning rate `lr` (the scheduled rate, which
// replaces config.lr). Everything derived (complements, bias corrections 1 - beta^t, the AdamW
// factor) is computed in double and rounded once to the parameters' precision.
template <class T>
UpdateCoefficients<T> make_update_coefficients(const OptimizerConfig& config, long step,
                                               double lr) {
  const auto t = static_cast<double>(step);
  auto to_t = [](double value) { return static_cast<T>(value); };
  UpdateCoefficients<T> c{};
  c.kind = config.kind;
  c.lr = to_t(lr);
  c.momentum = to_t(config.momentum);
  c.beta1 = to_t(config.beta1);
  c.one_minus_beta1 = to_t(1.0 - config.beta1);
  c.beta2 = to_t(config.beta2);
  c.one_minus_beta2 = to_t(1.0 - config.beta2);
  c.eps = to_t(config.eps);
  c.weight_decay = to_t(config.weight_decay);
  c.decoupled_decay = to_t(1.0 - lr * config.weight_decay);
  c.alpha = to_t(config.alpha);
  c.one_minus_alpha = to_t(1.0 - config.alpha);
  c.bias1 = to_t(1.0 - std::pow(config.beta1, t));
  c.bias2 = to_t(1.0 - std::pow(config.beta2, t));
  return c;
}

// The CPU reference update: for every i, update_element(params[i], grads[i], state0[i],
// state1[i]) with the coefficients of (step, lr). grads must be as long as params; a state
// span must be as long as params when the rule uses that slot, and may be empty otherwise.
// A size mismatch or step < 1 is an internal error (ExitCode::failure).
void apply_update(const OptimizerConfig& config, long step, double lr, std::span<double> params,
                  std::span<const double> grads, std::span<double> state0,
                  std::span<double> state1);

}  // namespace descent
