// Covers host/optim/update_rules.hpp and host/optim/optimizer.{hpp,cpp}: every optimizer rule
// against values derived by hand for three steps, in float and double; the step coefficients;
// the CPU update loop over arrays; optimizer names, defaults, validation and descriptions.
//
// The expected values were worked out from the formulas in the comments in exact decimal
// arithmetic (40 digits), independently of the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "common/error.hpp"
#include "optim/optimizer.hpp"
#include "optim/update_rules.hpp"

namespace descent {
namespace {

using Kind = OptimizerConfig::Kind;

// Error model: the exact reference has no error; the rule in precision T rounds each of its
// inputs once (lr = 0.1 is not representable) and each of its ~10 operations a step, over at
// most 3 steps, with no cancellation worse than 1:2 in these cases. 32 units of T's epsilon,
// relative to max(1, |expected|), covers that with room to spare and still fails on any
// formula mistake (those change the results in the 3rd digit or earlier).
template <class T>
void expect_close(T actual, double expected, const char* what) {
  const double tolerance = 32 * static_cast<double>(std::numeric_limits<T>::epsilon()) *
                           std::max(1.0, std::abs(expected));
  EXPECT_NEAR(static_cast<double>(actual), expected, tolerance) << what;
}

OptimizerConfig config_of(Kind kind) {
  OptimizerConfig config = default_optimizer_config(kind);
  config.weight_decay = 0;
  return config;
}

// Runs a rule for gradients g[0..n) starting from p = p0 with zeroed state, checking p after
// every step against expected[k]. Steps are 1-based, at the constant rate config.lr.
template <class T>
void expect_trajectory(const OptimizerConfig& config, double p0, const std::vector<double>& grads,
                       const std::vector<double>& expected) {
  T p = static_cast<T>(p0);
  T state0 = 0;
  T state1 = 0;
  for (std::size_t k = 0; k < grads.size(); ++k) {
    const long step = static_cast<long>(k) + 1;
    const UpdateCoefficients<T> c = make_update_coefficients<T>(config, step, config.lr);
    update_element(c, p, static_cast<T>(grads[k]), state0, state1);
    SCOPED_TRACE(testing::Message() << optimizer_kind_name(config.kind) << " step " << step);
    expect_close(p, expected[k], "p");
  }
}

template <class T>
class UpdateRules : public testing::Test {};
using Precisions = testing::Types<float, double>;
TYPED_TEST_SUITE(UpdateRules, Precisions);

// SGD, lr = 0.1, p0 = 1, g = 0.5, 0.5:  p = 1 - 0.05 = 0.95;  p = 0.95 - 0.05 = 0.9.
// With wd = 0.1: g' = 0.5 + 0.1*1 = 0.6, p = 1 - 0.06 = 0.94;
//                g' = 0.5 + 0.1*0.94 = 0.594, p = 0.94 - 0.0594 = 0.8806.
TYPED_TEST(UpdateRules, SgdStepsAgainstTheGradientWithL2Decay) {
  OptimizerConfig config = config_of(Kind::sgd);
  config.lr = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, 0.5}, {0.95, 0.9});
  config.weight_decay = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, 0.5}, {0.94, 0.8806});
}

// Momentum, mu = 0.5, lr = 0.1, p0 = 1, g = 1, -2, 0.5:
//   v = 1                    p = 1    - 0.1*1     = 0.9
//   v = 0.5*1    - 2 = -1.5  p = 0.9  + 0.15      = 1.05
//   v = 0.5*-1.5 + 0.5 = -0.25  p = 1.05 + 0.025  = 1.075
// With wd = 0.1 and g = 0: g' = 0.1*1 = 0.1, v = 0.1, p = 0.99;
//   g' = 0.099, v = 0.05 + 0.099 = 0.149, p = 0.99 - 0.0149 = 0.9751.
TYPED_TEST(UpdateRules, MomentumAccumulatesAVelocity) {
  OptimizerConfig config = config_of(Kind::momentum);
  config.lr = 0.1;
  config.momentum = 0.5;
  expect_trajectory<TypeParam>(config, 1.0, {1, -2, 0.5}, {0.9, 1.05, 1.075});
  config.weight_decay = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0, 0}, {0.99, 0.9751});
}

// Nesterov, mu = 0.5, lr = 0.1, p0 = 1, g = 1, -2, 0.5  (p -= lr*(g + mu*v) after v = mu*v + g):
//   v = 1      p = 1     - 0.1*(1   + 0.5*1)     = 0.85
//   v = -1.5   p = 0.85  - 0.1*(-2  + 0.5*-1.5)  = 0.85  + 0.275  = 1.125
//   v = -0.25  p = 1.125 - 0.1*(0.5 + 0.5*-0.25) = 1.125 - 0.0375 = 1.0875
TYPED_TEST(UpdateRules, NesterovLooksAheadAlongTheVelocity) {
  OptimizerConfig config = config_of(Kind::nesterov);
  config.lr = 0.1;
  config.momentum = 0.5;
  expect_trajectory<TypeParam>(config, 1.0, {1, -2, 0.5}, {0.85, 1.125, 1.0875});
}

// Adam, lr = 0.1, b1 = 0.9, b2 = 0.999, eps = 1e-8, p0 = 1, g = 0.5, -1, 2:
//   t=1: m = 0.05, v = 0.00025; bias1 = 0.1, bias2 = 0.001
//        p = 1 - (0.1/0.1)*0.05/(sqrt(0.00025)/sqrt(0.001) + 1e-8) = 1 - 0.1*0.5/(0.5 + 1e-8)
//          = 0.90000000199999996...
//   t=2: m = 0.045 - 0.1 = -0.055, v = 0.00024975 + 0.001 = 0.00124975
//        bias1 = 0.19, bias2 = 0.001999
//        p = p1 + (0.1/0.19)*0.055/(sqrt(0.00124975)/sqrt(0.001999) + 1e-8) = 0.93661035424056560
//   t=3: m = -0.0495 + 0.2 = 0.1505, v = 0.00124850025 + 0.004 = 0.00524850025
//        bias1 = 0.271, bias2 = 0.002997001
//        p = p2 - (0.1/0.271)*0.1505/(sqrt(v)/sqrt(bias2) + 1e-8) = 0.89464479271810477
// With wd = 0.1 (L2, g' = g + 0.1*p), same gradients: 0.90000000166666664, 0.92526351944560639,
// 0.87761726080493277.
TYPED_TEST(UpdateRules, AdamMatchesPyTorchWithBiasCorrection) {
  OptimizerConfig config = config_of(Kind::adam);
  config.lr = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.90000000199999996, 0.93661035424056560, 0.89464479271810477});
  config.weight_decay = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.90000000166666664, 0.92526351944560639, 0.87761726080493277});
}

// Adam's first step: m/bias1 = g and sqrt(v/bias2) = |g|, so p moves by lr*g/(|g| + eps):
// lr*sign(g) for |g| >> eps, and less when |g| is near eps (g = 1e-8: lr/2).
TYPED_TEST(UpdateRules, AdamFirstStepMovesByLrTimesSignUpToEps) {
  using T = TypeParam;
  OptimizerConfig config = config_of(Kind::adam);
  config.lr = 0.01;
  config.eps = 1e-8;
  for (double g : {3.0, -0.25, 1e-3, -1e6, 1e-8}) {
    T p = 0;
    T m = 0;
    T v = 0;
    const UpdateCoefficients<T> c = make_update_coefficients<T>(config, 1, config.lr);
    adam_update(p, m, v, static_cast<T>(g), c);
    const double expected = -0.01 * g / (std::abs(g) + 1e-8);
    // A few roundings in T, each relative to the step (at most lr = 0.01) that they make.
    EXPECT_NEAR(static_cast<double>(p), expected,
                8 * static_cast<double>(std::numeric_limits<T>::epsilon()) * 0.01)
        << "g = " << g;
  }
}

// AdamW, lr = 0.1, wd = 0.1, otherwise as Adam above: first p *= 1 - 0.01, then the Adam step
// on g itself:
//   t=1: p = 0.99 - 0.1*0.5/(0.5 + 1e-8) = 0.89000000199999996
//   t=2: p = 0.99*p1 + (0.1/0.19)*0.055/(sqrt(0.00124975/0.001999) + 1e-8) = 0.91771035422056560
//   t=3: p = 0.99*p2 - (0.1/0.271)*0.1505/(sqrt(0.00524850025/0.002997001) + 1e-8)
//          = 0.86656768915589912
TYPED_TEST(UpdateRules, AdamWDecaysTheParameterNotTheGradient) {
  OptimizerConfig config = config_of(Kind::adamw);
  config.lr = 0.1;
  config.weight_decay = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.89000000199999996, 0.91771035422056560, 0.86656768915589912});
}

// RMSprop, lr = 0.01, alpha = 0.99, eps = 1e-8, p0 = 1, g = 0.5, -1, 2:
//   s = 0.0025                              p = 1  - 0.01*0.5/(0.05 + 1e-8)   = 0.90000001999999600
//   s = 0.002475 + 0.01 = 0.012475          p = p1 + 0.01*1/(sqrt(s) + 1e-8)  = 0.98953230819113370
//   s = 0.01235025 + 0.04 = 0.05235025      p = p2 - 0.01*2/(sqrt(s) + 1e-8)  = 0.90212040085619321
// With momentum mu = 0.9 (b = mu*b + g/d, p -= lr*b):
//   b = 10                                  p = 0.90000001999999600
//   b = 9 - 1/sqrt(0.012475) = 0.04676...   p = 0.89953232619113010
//   b = 0.9*b2 + 2/sqrt(0.05235025)         p = 0.81169949442821030
// With wd = 0.1 (L2) and no momentum: 0.90000001666666389, 0.98361301929054380,
// 0.89474865795521880.
TYPED_TEST(UpdateRules, RmspropScalesByTheRootMeanSquare) {
  OptimizerConfig config = config_of(Kind::rmsprop);
  config.lr = 0.01;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.90000001999999600, 0.98953230819113370, 0.90212040085619321});
  config.momentum = 0.9;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.90000001999999600, 0.89953232619113010, 0.81169949442821030});
  config.momentum = 0;
  config.weight_decay = 0.1;
  expect_trajectory<TypeParam>(config, 1.0, {0.5, -1, 2},
                               {0.90000001666666389, 0.98361301929054380, 0.89474865795521880});
}

// Without momentum RMSprop leaves its second slot alone (it may alias anything).
TYPED_TEST(UpdateRules, RmspropWithoutMomentumDoesNotTouchTheBuffer) {
  using T = TypeParam;
  const UpdateCoefficients<T> c = make_update_coefficients<T>(config_of(Kind::rmsprop), 1, 0.01);
  T p = 1;
  T s = 0;
  T buffer = 42;
  rmsprop_update(p, s, buffer, T(0.5), c);
  EXPECT_EQ(buffer, T(42));
}

TEST(UpdateCoefficients, ComplementsAreRoundedOnceFromDouble) {
  OptimizerConfig config = config_of(Kind::adam);
  config.lr = 0.1;
  config.weight_decay = 0.01;
  const UpdateCoefficients<float> c = make_update_coefficients<float>(config, 3, 0.5);
  EXPECT_EQ(c.lr, 0.5f);  // the scheduled rate, not config.lr
  EXPECT_EQ(c.one_minus_beta2, static_cast<float>(1.0 - 0.999));
  EXPECT_NE(c.one_minus_beta2, 1.0f - 0.999f);  // what computing it in float would give
  EXPECT_EQ(c.one_minus_beta1, static_cast<float>(1.0 - 0.9));
  EXPECT_EQ(c.bias1, static_cast<float>(1.0 - 0.9 * 0.9 * 0.9));
  EXPECT_EQ(c.bias2, static_cast<float>(1.0 - std::pow(0.999, 3.0)));
  EXPECT_EQ(c.decoupled_decay, static_cast<float>(1.0 - 0.5 * 0.01));
}

TEST(OptimizerStateSlots, CountsThePerElementArraysOfEachRule) {
  EXPECT_EQ(optimizer_state_slots(Kind::sgd), 0);
  EXPECT_EQ(optimizer_state_slots(Kind::momentum), 1);
  EXPECT_EQ(optimizer_state_slots(Kind::nesterov), 1);
  EXPECT_EQ(optimizer_state_slots(Kind::adam), 2);
  EXPECT_EQ(optimizer_state_slots(Kind::adamw), 2);
  EXPECT_EQ(optimizer_state_slots(Kind::rmsprop), 1);
  EXPECT_EQ(optimizer_state_slots(Kind::rmsprop, true), 2);
  OptimizerConfig rmsprop = config_of(Kind::rmsprop);
  EXPECT_EQ(optimizer_state_slots(rmsprop), 1);
  rmsprop.momentum = 0.9;
  EXPECT_EQ(optimizer_state_slots(rmsprop), 2);
  static_assert(optimizer_state_slots(Kind::adam) == 2);  // usable at compile time
}

// apply_update is the element rule applied to every element: check it against update_element
// on each element separately, for every kind, over two steps (so that the state carries over).
TEST(ApplyUpdate, AppliesTheElementRuleToEveryElement) {
  const std::vector<double> grads = {0.5, -1.5, 0.0, 3.0};
  for (Kind kind :
       {Kind::sgd, Kind::momentum, Kind::nesterov, Kind::adam, Kind::adamw, Kind::rmsprop}) {
    OptimizerConfig config = default_optimizer_config(kind);
    config.weight_decay = 0.05;
    if (kind == Kind::rmsprop) config.momentum = 0.5;
    std::vector<double> params = {1.0, -2.0, 0.25, 4.0};
    std::vector<double> expected = params;
    std::vector<double> state0(params.size()), state1(params.size());
    std::vector<double> expected0(params.size()), expected1(params.size());
    for (long step = 1; step <= 2; ++step) {
      const double lr = 0.02 * static_cast<double>(step);
      apply_update(config, step, lr, params, grads, state0, state1);
      const UpdateCoefficients<double> c = make_update_coefficients<double>(config, step, lr);
      for (std::size_t i = 0; i < params.size(); ++i) {
        update_element(c, expected[i], grads[i], expected0[i], expected1[i]);
      }
    }
    EXPECT_EQ(params, expected) << optimizer_kind_name(kind);
    EXPECT_EQ(state0, expected0) << optimizer_kind_name(kind);
    EXPECT_EQ(state1, expected1) << optimizer_kind_name(kind);
  }
}

TEST(ApplyUpdate, UnusedStateMayBeEmptyAndWrongSizesAreInternalErrors) {
  std::vector<double> params = {1.0, 2.0};
  const std::vector<double> grads = {0.5, 0.5};
  std::vector<double> one(2), none;
  EXPECT_NO_THROW(apply_update(config_of(Kind::sgd), 1, 0.1, params, grads, none, none));
  EXPECT_NO_THROW(apply_update(config_of(Kind::momentum), 1, 0.1, params, grads, one, none));
  try {
    apply_update(config_of(Kind::adam), 1, 0.1, params, grads, one, none);
    FAIL() << "adam without its second state array";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_NE(e.message().find("state1"), std::string::npos) << e.message();
  }
  const std::vector<double> short_grads = {0.5};
  EXPECT_THROW(apply_update(config_of(Kind::sgd), 1, 0.1, params, short_grads, none, none), Error);
  EXPECT_THROW(apply_update(config_of(Kind::sgd), 0, 0.1, params, grads, none, none), Error);
}

TEST(OptimizerKind, NamesRoundTrip) {
  for (Kind kind :
       {Kind::sgd, Kind::momentum, Kind::nesterov, Kind::adam, Kind::adamw, Kind::rmsprop}) {
    EXPECT_EQ(parse_optimizer_kind(optimizer_kind_name(kind)), kind);
  }
}

TEST(OptimizerKind, UnknownNameListsTheChoicesAndSuggestsTheClosest) {
  auto src = make_source("run.toml", "optimizer = \"adma\"");
  try {
    parse_optimizer_kind("adma", Span{src, 13, 17});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(e.message(), "unknown optimizer 'adma'; did you mean 'adam'?");
    EXPECT_EQ(e.note(), "valid optimizers: sgd, momentum, nesterov, adam, adamw, rmsprop");
    EXPECT_EQ(e.span().where(), "run.toml:1:14");
  }
  try {
    parse_optimizer_kind("lbfgs");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "unknown optimizer 'lbfgs'");  // nothing close: no guess
  }
}

TEST(OptimizerConfig, DefaultsFollowPyTorchAndValidate) {
  const OptimizerConfig adam = default_optimizer_config(Kind::adam);
  EXPECT_EQ(adam.lr, 0.001);
  EXPECT_EQ(adam.beta1, 0.9);
  EXPECT_EQ(adam.beta2, 0.999);
  EXPECT_EQ(adam.eps, 1e-8);
  EXPECT_EQ(default_optimizer_config(Kind::nesterov).momentum, 0.9);
  EXPECT_EQ(default_optimizer_config(Kind::rmsprop).momentum, 0.0);
  EXPECT_EQ(default_optimizer_config(Kind::adamw).weight_decay, 0.01);
  for (Kind kind :
       {Kind::sgd, Kind::momentum, Kind::nesterov, Kind::adam, Kind::adamw, Kind::rmsprop}) {
    EXPECT_NO_THROW(validate_optimizer_config(default_optimizer_config(kind)));
  }
}

TEST(OptimizerConfig, ValidationRejectsOutOfRangeSettingsTheKindUses) {
  auto rejects = [](OptimizerConfig config, const std::string& field) {
    try {
      validate_optimizer_config(config);
      ADD_FAILURE() << "accepted " << describe_optimizer(config);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(e.message().find(field), std::string::npos) << e.message();
    }
  };
  OptimizerConfig adam = default_optimizer_config(Kind::adam);
  adam.lr = 0;
  rejects(adam, "lr");
  adam.lr = std::numeric_limits<double>::quiet_NaN();
  rejects(adam, "lr");
  adam = default_optimizer_config(Kind::adam);
  adam.beta2 = 1.0;
  rejects(adam, "beta2");
  adam = default_optimizer_config(Kind::adam);
  adam.weight_decay = -1;
  rejects(adam, "weight_decay");
  OptimizerConfig nesterov = default_optimizer_config(Kind::nesterov);
  nesterov.momentum = 0;
  rejects(nesterov, "momentum");
  OptimizerConfig rmsprop = default_optimizer_config(Kind::rmsprop);
  rmsprop.alpha = 1.5;
  rejects(rmsprop, "alpha");
  // SGD does not use the betas, so nonsense there is not its problem.
  OptimizerConfig sgd = default_optimizer_config(Kind::sgd);
  sgd.beta1 = 7;
  EXPECT_NO_THROW(validate_optimizer_config(sgd));
}

TEST(OptimizerConfig, DescribesTheSettingsTheKindUses) {
  EXPECT_EQ(describe_optimizer(default_optimizer_config(Kind::adam)),
            "adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0)");
  EXPECT_EQ(describe_optimizer(default_optimizer_config(Kind::nesterov)),
            "nesterov(lr=0.01, momentum=0.9, weight_decay=0)");
  EXPECT_EQ(describe_optimizer(default_optimizer_config(Kind::sgd)),
            "sgd(lr=0.01, weight_decay=0)");
  EXPECT_EQ(describe_optimizer(default_optimizer_config(Kind::rmsprop)),
            "rmsprop(lr=0.01, momentum=0, alpha=0.99, eps=1e-08, weight_decay=0)");
}

}  // namespace
}  // namespace descent
