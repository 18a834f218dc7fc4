// The CPU backend's threads on the fused plan (cpu/cpu_backend.cpp): a batch large enough is
// shared among threads, each adding its range of rows, and the totals are added up in range
// order. Checked: the threaded backend passes the lockstep comparison with the oracle (whose
// error model takes the backend's summation depth), in f64 and f32, full batch and shuffled; the
// same run twice gives the same bits; and its values differ from one thread's only by rounding.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "test_support.hpp"
#include "train/epoch_order.hpp"
#include "train/trainer.hpp"

namespace descent {
namespace {

using test::TempDir;

// Logistic regression on 40,000 random rows of 32 features: a row is about 40 values of work,
// so the batch is two threads' worth (cpu_backend.cpp's kWorkPerThread).
class CpuThreads : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ostringstream csv;
    for (int j = 1; j <= 32; ++j) csv << "x" << j << ",";
    csv << "y\n";
    std::mt19937_64 rng(11);
    std::normal_distribution<double> value;
    for (int r = 0; r < 40000; ++r) {
      double s = 0.0;
      for (int j = 0; j < 32; ++j) {
        const double x = value(rng);
        s += x * (j % 8 - 3.5) / 4;
        csv << x << ",";
      }
      csv << (s + value(rng) > 0 ? 1 : 0) << "\n";
    }
    test::write_file(dir_ / "rows.csv", csv.str());
    test::write_file(dir_ / "logistic.toml", R"toml([data]
file = "rows.csv"
inputs = { x = "x1..x32", y = "y" }
validation = 0.0

[params]
w = { shape = [32], init = "normal", std = 0.1 }
b = 0.0

[model]
z = "dot(w, x) + b"

[cost]
loss = "-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))"

[train]
optimizer = "adam"
lr = 0.05
steps = 3
seed = 4
)toml");
    e_ = set_up_experiment((dir_ / "logistic.toml").string(), {});
    splits_ = data_splits(*e_.program, *e_.dataset);
  }

  CheckReport check(Backend& backend, bool shuffled) {
    std::vector<std::int64_t> order;
    if (shuffled) {
      order.resize(static_cast<std::size_t>(e_.dataset->train_rows));
      Rng rng(3);
      epoch_order(rng, true, order);
    }
    std::vector<CheckStep> steps;
    for (long s = 1; s <= 3; ++s) {
      CheckStep step;
      step.batch.rows = e_.dataset->train_rows;
      step.batch.shuffled = shuffled;
      step.update.optimizer = e_.config.train.optimizer;
      step.update.step = s;
      step.update.lr = e_.config.train.optimizer.lr;
      steps.push_back(step);
    }
    return check_backend(*e_.program, e_.plan, backend, &splits_, order,
                         initial_state(e_.config, *e_.program).params, steps);
  }

  TempDir dir_{"descent_threads"};
  Experiment e_;
  DataSplits splits_;
};

TEST_F(CpuThreads, TwoThreadsPassTheLockstepCheck) {
  for (const bool f32 : {false, true})
    for (const bool shuffled : {false, true}) {
      auto backend = make_cpu_backend(*e_.program, e_.plan, {.f32 = f32, .threads = 2});
      // The second thread's sum is one more addition into every total.
      EXPECT_EQ(backend->summation_depth(40000),
                make_cpu_backend(*e_.program, e_.plan, {.f32 = f32})->summation_depth(40000) + 1);
      const CheckReport report = check(*backend, shuffled);
      long step = 0;
      const TensorCheck* failure = report.first_failure(&step);
      EXPECT_EQ(failure, nullptr) << (f32 ? "f32" : "f64") << (shuffled ? " shuffled" : "")
                                  << ": step " << step << " " << failure->tensor;
    }
}

TEST_F(CpuThreads, SameThreadsSameBitsAndOneThreadWithinRounding) {
  const auto gradients = [&](int threads) {
    auto backend = make_cpu_backend(*e_.program, e_.plan, {.threads = threads});
    backend->attach(splits_);
    backend->load(initial_state(e_.config, *e_.program).params);
    BatchRows batch;
    batch.rows = e_.dataset->train_rows;
    std::vector<std::vector<double>> g;
    const double objective = backend->objective_and_gradients(batch, g);
    g.push_back({objective});
    return g;
  };
  const auto one = gradients(1), two = gradients(2), again = gradients(2);
  EXPECT_EQ(two, again);
  // Two partial sums of 20,000 terms each instead of one of 40,000: the orders differ, the
  // values by at most 40,000 * 2^-53 relative to the sum of the magnitudes, which for these
  // sums of terms of either sign is below 1e-10 of the largest gradient element (|g| ~ 0.1-1).
  double largest = 0.0;
  for (const auto& g : one)
    for (double v : g) largest = std::max(largest, std::fabs(v));
  for (std::size_t i = 0; i < one.size(); ++i)
    for (std::size_t k = 0; k < one[i].size(); ++k)
      EXPECT_NEAR(two[i][k], one[i][k], 1e-10 * largest) << i << "," << k;
  bool differs = false;
  for (std::size_t i = 0; i < one.size(); ++i) differs = differs || one[i] != two[i];
  EXPECT_TRUE(differs) << "two threads gave one thread's bits: were the rows shared at all?";
}

}  // namespace
}  // namespace descent
