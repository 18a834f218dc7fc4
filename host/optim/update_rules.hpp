// The optimizer update rules, written once for both backends: each function updates ONE
// parameter element (and its per-element state) in place. The CPU reference loops over these
// (optim/optimizer.cpp); the GPU's fused update kernel includes this header and calls the same
// functions, so the two backends cannot drift apart.
//
// Semantics follow PyTorch's torch.optim (SGD, Adam, AdamW, RMSprop with their default flags:
// no dampening, no amsgrad, no centered RMSprop). Weight decay is L2 (added to the gradient)
// for every rule except AdamW, whose decay is decoupled (applied to the parameter directly).
//
// Does not: pick learning rates (optim/schedule.hpp), allocate state, loop over tensors, or
// validate hyperparameters (optim/optimizer.hpp). Header-only and free of the standard library
// under NVRTC, so that run-time compiled kernels can include it.
#pragma once

#if !defined(__CUDACC_RTC__)
#include <cmath>
#endif

#include "common/host_device.hpp"

namespace descent {

// The optimizer of a run, as the config file names it. Plain data: the host fills it, the
// device sees only the per-step UpdateCoefficients derived from it.
struct OptimizerConfig {
  // Scoped: the enumerator `momentum` must not clash with the field `momentum`.
  enum class Kind { sgd, momentum, nesterov, adam, adamw, rmsprop };

  Kind kind = Kind::sgd;
  double lr = 0.01;           // base learning rate (the schedule scales it per step)
  double momentum = 0.0;      // mu for momentum/nesterov; rmsprop's optional momentum
  double beta1 = 0.9;         // adam/adamw: decay of the first moment
  double beta2 = 0.999;       // adam/adamw: decay of the second moment
  double eps = 1e-8;          // adam/adamw/rmsprop: added to the root of the second moment
  double weight_decay = 0.0;  // L2 (decoupled for adamw)
  double alpha = 0.99;        // rmsprop: decay of the mean square
};

// How many per-element state arrays a rule keeps (each as long as the parameter):
//   sgd 0 | momentum 1 (velocity) | nesterov 1 (velocity) | adam, adamw 2 (m, v)
//   rmsprop 1 (mean square), or 2 (mean square, momentum buffer) when it has momentum.
DESCENT_HD constexpr int optimizer_state_slots(OptimizerConfig::Kind kind,
                                               bool rmsprop_momentum = false) {
  switch (kind) {
    case OptimizerConfig::Kind::sgd:
      return 0;
    case OptimizerConfig::Kind::momentum:
      return 1;
    case OptimizerConfig::Kind::nesterov:
      return 1;
    case OptimizerConfig::Kind::adam:
      return 2;
    case OptimizerConfig::Kind::adamw:
      return 2;
    case OptimizerConfig::Kind::rmsprop:
      return rmsprop_momentum ? 2 : 1;
  }
  return 0;
}

DESCENT_HD constexpr int optimizer_state_slots(const OptimizerConfig& config) {
  return optimizer_state_slots(config.kind, config.momentum != 0.0);
}

namespace rules_detail {
template <class T>
DESCENT_HD inline T square_root(T x) {
#if defined(__CUDACC__)
  return sqrt(x);  // CUDA's float and double overloads
#else
  return std::sqrt(x);
#endif
}
}  // namespace rules_detail

// Everything a rule needs for one step, in the precision of the parameters. The host makes it
// from the OptimizerConfig, the step and the scheduled learning rate (make_update_coefficients
// in optim/optimizer.hpp); a kernel takes it by value.
//
// The complements 1-beta1, 1-beta2, 1-alpha and the AdamW factor 1-lr*wd are computed in double
// and rounded once, never as T(1) - beta in float: float(0.999) = 0.99900001, so the float
// difference would be 1.3e-5 (relative) off 0.001, an error the f32 GPU path would carry into
// every second moment.
template <class T>
struct UpdateCoefficients {
  OptimizerConfig::Kind kind;
  T lr;
  T momentum;  // mu
  T beta1;
  T one_minus_beta1;
  T beta2;
  T one_minus_beta2;
  T eps;
  T weight_decay;
  T decoupled_decay;  // 1 - lr*weight_decay (AdamW)
  T alpha;
  T one_minus_alpha;
  T bias1;  // 1 - beta1^t, t the 1-based step
  T bias2;  // 1 - beta2^t
};

// Plain SGD with L2 decay:  g' = g + wd*p;  p -= lr*g'.
template <class T>
DESCENT_HD inline void sgd_update(T& p, T g, const UpdateCoefficients<T>& c) {
  g += c.weight_decay * p;
  p -= c.lr * g;
}

// Heavy-ball momentum (PyTorch SGD, momentum=mu, dampening=0):
//   g' = g + wd*p;  v = mu*v + g';  p -= lr*v.
// PyTorch starts the buffer at g' on the first step, which is mu*0 + g' for v = 0.
template <class T>
DESCENT_HD inline void momentum_update(T& p, T& v, T g, const UpdateCoefficients<T>& c) {
  g += c.weight_decay * p;
  v = c.momentum * v + g;
  p -= c.lr * v;
}

// Nesterov momentum (PyTorch SGD, nesterov=True):
//   g' = g + wd*p;  v = mu*v + g';  p -= lr*(g' + mu*v).
template <class T>
DESCENT_HD inline void nesterov_update(T& p, T& v, T g, const UpdateCoefficients<T>& c) {
  g += c.weight_decay * p;
  v = c.momentum * v + g;
  p -= c.lr * (g + c.momentum * v);
}

namespace rules_detail {
// Adam's moment update and step, without weight decay (the callers apply theirs):
//   m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2
//   p -= (lr/bias1) * m / (sqrt(v)/sqrt(bias2) + eps)      eps outside the root, as PyTorch
template <class T>
DESCENT_HD inline void adam_step(T& p, T& m, T& v, T g, const UpdateCoefficients<T>& c) {
  m = c.beta1 * m + c.one_minus_beta1 * g;
  v = c.beta2 * v + c.one_minus_beta2 * g * g;
  const T denom = square_root(v) / square_root(c.bias2) + c.eps;
  p -= (c.lr / c.bias1) * m / denom;
}
}  // namespace rules_detail

// Adam (PyTorch, amsgrad=False) with L2 decay: g' = g + wd*p, then the Adam step on g'.
// On the first step m/bias1 = g' and sqrt(v/bias2) = |g'|, so p moves by lr*g'/(|g'| + eps):
// lr*sign(g') unless |g'| is comparable to eps.
template <class T>
DESCENT_HD inline void adam_update(T& p, T& m, T& v, T g, const UpdateCoefficients<T>& c) {
  rules_detail::adam_step(p, m, v, g + c.weight_decay * p, c);
}

// AdamW (PyTorch): decoupled decay first, p *= 1 - lr*wd, then the Adam step on g itself.
template <class T>
DESCENT_HD inline void adamw_update(T& p, T& m, T& v, T g, const UpdateCoefficients<T>& c) {
  p *= c.decoupled_decay;
  rules_detail::adam_step(p, m, v, g, c);
}

// RMSprop (PyTorch, centered=False):
//   g' = g + wd*p;  s = a*s + (1-a)*g'^2;  d = sqrt(s) + eps
//   without momentum:  p -= lr*g'/d
//   with momentum mu:  b = mu*b + g'/d;  p -= lr*b
// `buffer` is untouched when mu == 0.
template <class T>
DESCENT_HD inline void rmsprop_update(T& p, T& s, T& buffer, T g, const UpdateCoefficients<T>& c) {
  g += c.weight_decay * p;
  s = c.alpha * s + c.one_minus_alpha * g * g;
  const T scaled = g / (rules_detail::square_root(s) + c.eps);
  if (c.momentum != T(0)) {
    buffer = c.momentum * buffer + scaled;
    p -= c.lr * buffer;
  } else {
    p -= c.lr * scaled;
  }
}

// Projected gradient descent: after its update, an element of a bounded parameter goes back into
// its box, low <= p <= high (low may be -inf, high inf). A NaN stays NaN, so that the divergence
// guard still sees it. Both backends call this after update_element.
template <class T>
DESCENT_HD inline T project_into(T p, T low, T high) {
  return p < low ? low : (p > high ? high : p);
}

// One element, any rule: the dispatch both backends share. state0/state1 are the element's
// slots in the rule's state arrays (see optimizer_state_slots); unused slots are untouched.
template <class T>
DESCENT_HD inline void update_element(const UpdateCoefficients<T>& c, T& p, T g, T& state0,
                                      T& state1) {
  switch (c.kind) {
    case OptimizerConfig::Kind::sgd:
      sgd_update(p, g, c);
      break;
    case OptimizerConfig::Kind::momentum:
      momentum_update(p, state0, g, c);
      break;
    case OptimizerConfig::Kind::nesterov:
      nesterov_update(p, state0, g, c);
      break;
    case OptimizerConfig::Kind::adam:
      adam_update(p, state0, state1, g, c);
      break;
    case OptimizerConfig::Kind::adamw:
      adamw_update(p, state0, state1, g, c);
      break;
    case OptimizerConfig::Kind::rmsprop:
      rmsprop_update(p, state0, state1, g, c);
      break;
  }
}

}  // namespace descent
