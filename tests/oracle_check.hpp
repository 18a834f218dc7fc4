// A backend against the f64 oracle in lockstep (check/lockstep.hpp), one step at a time from
// seeded random parameters, over several row counts, in order and through a shuffled index: what
// codegen_host_executor_test.cpp runs on the emitted programs' host executor and
// cpu_f32_test.cpp on the CPU backend in f32; and both backends' bounded parameters kept in their
// box step after step (run_steps_in_box).
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "train/trainer.hpp"

namespace descent::test {

// Parameters at seeded random values (every start its own in minimize mode), optimizer state
// as a run starts it.
inline std::vector<ParamState> random_start(const Experiment& e) {
  std::vector<ParamState> state = initial_state(e.config, *e.program).params;
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal(0.0, 0.5);
  for (ParamState& p : state)
    for (double& v : p.value) v = normal(rng);
  return state;
}

// The config's first step over `rows` rows.
inline CheckStep one_step(const Experiment& e, std::int64_t rows, bool shuffled) {
  CheckStep step;
  step.batch.rows = rows;
  step.batch.shuffled = shuffled;
  step.update.optimizer = e.config.train.optimizer;
  step.update.step = 1;
  step.update.lr = e.config.train.optimizer.lr;
  step.update.clip_norm = e.config.train.clip_norm;
  return step;
}

// The worst tensor of a report (the largest fraction of its tolerance), each failure reported.
inline TensorCheck worst_of(const CheckReport& report, const std::string& what) {
  TensorCheck worst;
  for (const StepCheck& s : report.steps)
    for (const TensorCheck& t : s.tensors) {
      if (t.fraction() >= worst.fraction()) worst = t;
      if (std::getenv("DESCENT_TEST_VERBOSE") && t.fraction() > 0.05)
        std::printf("  %s: %s[%lld] %.3g%% (got %.17g want %.17g tol %.3g)\n", what.c_str(),
                    t.tensor.c_str(), static_cast<long long>(t.element), 100 * t.fraction(), t.got,
                    t.want, t.tolerance);
      EXPECT_TRUE(t.ok()) << what << ": " << t.tensor << "[" << t.element << "] = " << t.got
                          << " vs " << t.want << ", error " << t.error << " > tolerance "
                          << t.tolerance;
    }
  return worst;
}

// Runs `backend` 300 steps over the config's whole training split (or its starts) from the
// config's own start and, after each, asserts that every element of every parameter lies in its
// box (the bounds rounded to the backend's precision, as its update compares them) and, in f32,
// that it is a float value. Counts into *on_edge the elements that sat exactly on a bound.
inline void run_steps_in_box(const Experiment& e, Backend& backend, bool f32, long* on_edge) {
  const auto in_precision = [f32](double v) {
    return f32 ? static_cast<double>(static_cast<float>(v)) : v;
  };
  DataSplits splits;
  if (e.dataset) splits = data_splits(*e.program, *e.dataset);
  const std::int64_t rows = e.dataset ? e.dataset->train_rows : e.program->starts;
  if (e.dataset) backend.attach(splits);
  backend.load(initial_state(e.config, *e.program).params);
  std::vector<ParamState> state;
  for (long step = 1; step <= 300; ++step) {
    CheckStep one = one_step(e, rows, false);
    one.update.step = step;
    backend.step(one.batch, one.update);
    backend.store(state);
    for (std::size_t k = 0; k < state.size(); ++k) {
      const ParamSpec& spec = *e.program->params[k].spec;
      const auto size = static_cast<std::size_t>(spec.shape.size());
      for (std::size_t i = 0; i < state[k].value.size(); ++i) {
        const auto element = static_cast<std::int64_t>(i % size);
        const double v = state[k].value[i];
        const double low = in_precision(spec.lower_bound(element));
        const double high = in_precision(spec.upper_bound(element));
        ASSERT_TRUE(v >= low && v <= high) << spec.name << "[" << i << "] = " << v << " after step "
                                           << step << ", outside [" << low << ", " << high << "]";
        if (f32) {
          ASSERT_EQ(v, in_precision(v)) << "not a float value";
        }
        *on_edge += spec.bounds.present && (v == low || v == high);
      }
    }
  }
  ASSERT_EQ(backend.report().diverged_step, 0);
}

using BackendMaker = std::function<std::unique_ptr<Backend>(const Experiment&)>;

// One lockstep step of the backend `make` gives, for each count of `row_counts`: the rows of the
// training split in order (where it has that many) and rows drawn with repeats through a
// shuffled index (so that a small split fills any count); in minimize mode the count is the
// number of starts. Every tensor must be within its tolerance; prints the worst case, labelled
// `label`.
inline void check_at_row_counts(const std::string& config,
                                const std::vector<std::int64_t>& row_counts,
                                const BackendMaker& make, const std::string& label,
                                const std::vector<std::string>& overrides = {}) {
  TensorCheck worst;
  std::string worst_case;
  for (const std::int64_t rows : row_counts) {
    const Experiment probe = set_up_experiment(config, overrides);
    const bool minimize = probe.config.minimize();
    std::vector<std::string> settings = overrides;
    if (minimize) settings.push_back("train.starts=" + std::to_string(rows));
    const Experiment e = set_up_experiment(config, settings);
    DataSplits splits;
    if (e.dataset) splits = data_splits(*e.program, *e.dataset);
    for (const bool shuffled : {false, true}) {
      if (shuffled && minimize) continue;  // starts are never shuffled
      if (!shuffled && e.dataset && rows > e.dataset->train_rows) continue;
      std::vector<std::int64_t> order;
      if (shuffled) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(rows));
        std::uniform_int_distribution<std::int64_t> pick(0, e.dataset->train_rows - 1);
        for (std::int64_t r = 0; r < rows; ++r) order.push_back(pick(rng));
      }
      auto backend = make(e);
      const CheckReport report =
          check_backend(*e.program, e.plan, *backend, e.dataset ? &splits : nullptr, order,
                        random_start(e), {one_step(e, rows, shuffled)});
      const std::string what =
          label + ", " + std::to_string(rows) + " rows" + (shuffled ? " shuffled" : "");
      const TensorCheck w = worst_of(report, what);
      if (w.fraction() >= worst.fraction()) {
        worst = w;
        worst_case = what;
      }
    }
  }
  std::printf("%s: worst %s[%lld], error %.3g against a tolerance of %.3g (%.3g%%)\n",
              worst_case.c_str(), worst.tensor.c_str(), static_cast<long long>(worst.element),
              worst.error, worst.tolerance, 100 * worst.fraction());
}

}  // namespace descent::test
