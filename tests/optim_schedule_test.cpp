// Covers host/optim/schedule.{hpp,cpp}: each schedule at chosen steps, the warmup and its
// boundaries, the kind names, validation and descriptions.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "common/error.hpp"
#include "optim/schedule.hpp"

namespace descent {
namespace {

using Kind = ScheduleConfig::Kind;

ScheduleConfig schedule(Kind kind, double lr = 0.1) {
  ScheduleConfig config;
  config.kind = kind;
  config.lr = lr;
  return config;
}

// A rate is a handful of double operations (pow and cos are within an ulp or two), compared
// with a decimal literal that is itself rounded: 1e-15 relative (about 8 ulps) covers that.
void expect_rate(const ScheduleConfig& config, long step, long total, double expected) {
  EXPECT_NEAR(learning_rate_at(config, step, total), expected, 1e-15 * std::abs(expected))
      << "step " << step << " of " << total;
}

TEST(Schedule, ConstantIsTheBaseRateThroughout) {
  const ScheduleConfig config = schedule(Kind::constant);
  for (long step : {0L, 1L, 99L, 1000L}) expect_rate(config, step, 100, 0.1);
}

// step: lr * gamma^floor(step / step_size); gamma = 0.5 every 10 steps.
TEST(Schedule, StepDecaysByGammaEveryStepSizeSteps) {
  ScheduleConfig config = schedule(Kind::step);
  config.gamma = 0.5;
  config.step_size = 10;
  expect_rate(config, 0, 100, 0.1);
  expect_rate(config, 9, 100, 0.1);
  expect_rate(config, 10, 100, 0.05);
  expect_rate(config, 19, 100, 0.05);
  expect_rate(config, 25, 100, 0.025);
  expect_rate(config, 30, 100, 0.0125);
}

// exponential: lr * gamma^step; 0.1 * 0.9^3 = 0.0729.
TEST(Schedule, ExponentialDecaysByGammaEveryStep) {
  ScheduleConfig config = schedule(Kind::exponential);
  config.gamma = 0.9;
  expect_rate(config, 0, 100, 0.1);
  expect_rate(config, 1, 100, 0.09);
  expect_rate(config, 3, 100, 0.0729);
}

// cosine over T = 100 steps: min_lr + (lr - min_lr) * (1 + cos(pi*t/T)) / 2.
//   t = 0: lr;  t = 25: 0.1*(1 + 1/sqrt(2))/2 = 0.085355339059327376;  t = 50: half way;
//   t = 100 and after: min_lr.
TEST(Schedule, CosineAnnealsFromLrToMinLrOverTheRun) {
  ScheduleConfig config = schedule(Kind::cosine);
  expect_rate(config, 0, 100, 0.1);
  expect_rate(config, 25, 100, 0.085355339059327376);
  expect_rate(config, 50, 100, 0.05);
  EXPECT_NEAR(learning_rate_at(config, 100, 100), 0.0, 1e-18);
  EXPECT_EQ(learning_rate_at(config, 150, 100), 0.0);
  config.min_lr = 0.01;
  expect_rate(config, 50, 100, 0.055);
  EXPECT_EQ(learning_rate_at(config, 100, 100), 0.01);
  EXPECT_EQ(learning_rate_at(config, 500, 100), 0.01);
}

// Warmup over 10 steps from 0: lr * step / 10 for steps 0..9, the full rate at step 10.
TEST(Schedule, WarmupRampsLinearlyFromZeroToLr) {
  ScheduleConfig config = schedule(Kind::constant);
  config.warmup_steps = 10;
  EXPECT_EQ(learning_rate_at(config, 0, 100), 0.0);
  expect_rate(config, 1, 100, 0.01);
  expect_rate(config, 5, 100, 0.05);
  expect_rate(config, 9, 100, 0.09);
  expect_rate(config, 10, 100, 0.1);
  expect_rate(config, 11, 100, 0.1);
}

// warmup_start = 0.1: lr * (0.1 + 0.9 * step / 10): 0.01 at step 0, 0.055 at step 5.
TEST(Schedule, WarmupCanStartAtAFractionOfLr) {
  ScheduleConfig config = schedule(Kind::constant);
  config.warmup_steps = 10;
  config.warmup_start = 0.1;
  expect_rate(config, 0, 100, 0.01);
  expect_rate(config, 5, 100, 0.055);
  expect_rate(config, 10, 100, 0.1);
}

// The decay starts when the warmup ends: with 10 warmup steps, step s decays as t = s - 10.
TEST(Schedule, DecayCountsFromTheEndOfTheWarmup) {
  ScheduleConfig step = schedule(Kind::step);
  step.gamma = 0.5;
  step.step_size = 10;
  step.warmup_steps = 10;
  expect_rate(step, 5, 100, 0.05);  // still warming up
  expect_rate(step, 10, 100, 0.1);
  expect_rate(step, 19, 100, 0.1);
  expect_rate(step, 20, 100, 0.05);

  // cosine: warmup 10 of 110 steps leaves T = 100 for the decay.
  ScheduleConfig cosine = schedule(Kind::cosine);
  cosine.warmup_steps = 10;
  expect_rate(cosine, 9, 110, 0.09);
  expect_rate(cosine, 10, 110, 0.1);
  expect_rate(cosine, 60, 110, 0.05);
  EXPECT_NEAR(learning_rate_at(cosine, 110, 110), 0.0, 1e-18);

  ScheduleConfig exponential = schedule(Kind::exponential);
  exponential.gamma = 0.9;
  exponential.warmup_steps = 4;
  expect_rate(exponential, 4, 100, 0.1);
  expect_rate(exponential, 6, 100, 0.081);
}

TEST(Schedule, WarmupLongerThanTheRunOfACosineEndsAtMinLr) {
  ScheduleConfig config = schedule(Kind::cosine);
  config.min_lr = 0.001;
  config.warmup_steps = 50;
  expect_rate(config, 10, 20, 0.02);  // warming up: the run ends before the decay starts
  EXPECT_EQ(learning_rate_at(config, 60, 20), 0.001);
}

TEST(Schedule, NegativeStepIsAnInternalError) {
  try {
    learning_rate_at(schedule(Kind::constant), -1, 10);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
  }
}

TEST(ScheduleKind, NamesRoundTrip) {
  for (Kind kind : {Kind::constant, Kind::step, Kind::exponential, Kind::cosine}) {
    EXPECT_EQ(parse_schedule_kind(schedule_kind_name(kind)), kind);
  }
}

TEST(ScheduleKind, UnknownNameListsTheChoicesAndSuggestsTheClosest) {
  auto src = make_source("run.toml", "schedule = \"cosin\"");
  try {
    parse_schedule_kind("cosin", Span{src, 12, 17});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(e.message(), "unknown schedule 'cosin'; did you mean 'cosine'?");
    EXPECT_EQ(e.note(), "valid schedules: constant, step, exponential, cosine");
    EXPECT_EQ(e.span().where(), "run.toml:1:13");
  }
}

TEST(ScheduleConfig, ValidationRejectsOutOfRangeSettings) {
  auto rejects = [](const ScheduleConfig& config, const std::string& field) {
    try {
      validate_schedule_config(config);
      ADD_FAILURE() << "accepted " << describe_schedule(config);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_NE(e.message().find(field), std::string::npos) << e.message();
    }
  };
  for (Kind kind : {Kind::constant, Kind::step, Kind::exponential, Kind::cosine}) {
    EXPECT_NO_THROW(validate_schedule_config(schedule(kind)));
  }
  rejects(schedule(Kind::constant, -0.1), "lr");
  rejects(schedule(Kind::constant, std::numeric_limits<double>::infinity()), "lr");
  ScheduleConfig step = schedule(Kind::step);
  step.step_size = 0;
  rejects(step, "step_size");
  ScheduleConfig exponential = schedule(Kind::exponential);
  exponential.gamma = 1.5;
  rejects(exponential, "gamma");
  ScheduleConfig cosine = schedule(Kind::cosine);
  cosine.min_lr = 0.5;
  rejects(cosine, "min_lr");
  ScheduleConfig warm = schedule(Kind::constant);
  warm.warmup_steps = -3;
  rejects(warm, "warmup_steps");
  warm.warmup_steps = 3;
  warm.warmup_start = 2;
  rejects(warm, "warmup_start");
}

TEST(ScheduleConfig, DescribesTheSettingsTheKindUses) {
  ScheduleConfig cosine = schedule(Kind::cosine);
  cosine.warmup_steps = 100;
  EXPECT_EQ(describe_schedule(cosine), "cosine(lr=0.1, min_lr=0, warmup_steps=100)");
  ScheduleConfig step = schedule(Kind::step);
  step.gamma = 0.5;
  step.step_size = 30;
  EXPECT_EQ(describe_schedule(step), "step(lr=0.1, gamma=0.5, step_size=30)");
  EXPECT_EQ(describe_schedule(schedule(Kind::constant, 0.25)), "constant(lr=0.25)");
}

}  // namespace
}  // namespace descent
