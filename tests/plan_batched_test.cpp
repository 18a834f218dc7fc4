// The step plan's batched products (plan/step_plan.hpp) and the CPU backend's evaluation of them
// (cpu/matrix_product.hpp): which products each PlanChoice batches on a two-layer network, and
// that the batched CPU backend passes `descent check`'s lockstep comparison with the oracle and
// trains to the same bits twice.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "backend/data_splits.hpp"
#include "check/lockstep.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// A 20 → 24 (tanh) → 3 softmax network on 300 random rows: W1 has 480 elements (over
// kBatchedMinElements), W2 72 (under it).
class BatchedPlan : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ostringstream csv;
    for (int j = 1; j <= 20; ++j) csv << "x" << j << ",";
    csv << "y\n";
    std::mt19937_64 rng(5);
    std::normal_distribution<double> value;
    for (int r = 0; r < 300; ++r) {
      double s = 0.0;
      for (int j = 0; j < 20; ++j) {
        const double x = value(rng);
        s += x * (j % 3 == 0 ? 1.0 : -0.5);
        csv << x << ",";
      }
      csv << (s > 0.5 ? 2 : s > -0.5 ? 1 : 0) << "\n";
    }
    test::write_file(dir_ / "rows.csv", csv.str());
    test::write_file(dir_ / "net.toml", R"toml([data]
file = "rows.csv"
inputs = { x = "x1..x20", y = "y" }
validation = 0.2
seed = 3

[params]
W1 = { shape = [24, 20], init = "xavier" }
b1 = { shape = [24], init = "zeros" }
W2 = { shape = [3, 24], init = "xavier" }
b2 = { shape = [3], init = "zeros" }

[model]
h = "tanh(W1 @ x + b1)"
z = "W2 @ h + b2"

[cost]
loss = "logsumexp(z) - dot(onehot(y, 3), z)"
penalty = "1e-3*sum(W1^2)"

[train]
optimizer = "adam"
lr = 0.01
epochs = 3
batch_size = 64
seed = 2
)toml");
  }

  Experiment experiment(const std::string& plan) {
    return set_up_experiment((dir_ / "net.toml").string(), {"train.plan=\"" + plan + "\""});
  }

  TempDir dir_{"descent_plan"};
};

std::string shape_of(const PlanProduct& p) {
  return std::to_string(p.m) + "x" + std::to_string(p.k) + (p.matrix_left ? " M@v" : " v@M");
}

TEST_F(BatchedPlan, EachChoiceBatchesWhatItSays) {
  {
    const Experiment e = experiment("fused");
    EXPECT_TRUE(e.plan.step.products.empty());
    EXPECT_FALSE(e.plan.step.batched());
    EXPECT_EQ(describe_plan(e.plan.step), "fused");
  }
  {
    // Every product: the forward W1@x and W2@h, the backward g@W2 (x is data: no g@W1), and both
    // weight gradients' outer totals.
    const Experiment e = experiment("batched");
    std::vector<std::string> shapes;
    for (const PlanProduct& p : e.plan.step.products) shapes.push_back(shape_of(p));
    std::sort(shapes.begin(), shapes.end());
    EXPECT_EQ(shapes, (std::vector<std::string>{"24x20 M@v", "3x24 M@v", "3x24 v@M"}));
    EXPECT_EQ(describe_plan(e.plan.step), "batched (3 products, 2 outer totals)");
    // The evaluation (the loss alone) batches its forward products too.
    EXPECT_EQ(e.plan.evaluation.products.size(), 2U);
  }
  {
    // The cost model: W1's products (480 elements) are batched, W2's (72) are not.
    const Experiment e = experiment("auto");
    ASSERT_EQ(e.plan.step.products.size(), 1U);
    EXPECT_EQ(shape_of(e.plan.step.products[0]), "24x20 M@v");
    EXPECT_EQ(describe_plan(e.plan.step), "batched (1 product, 1 outer total)");
  }
}

TEST_F(BatchedPlan, PassesTheLockstepCheckAgainstTheOracle) {
  for (const char* plan : {"batched", "auto"}) {
    const Experiment e = experiment(plan);
    auto backend = make_cpu_backend(*e.program, e.plan);
    const DataSplits splits = data_splits(*e.program, *e.dataset);
    std::vector<CheckStep> steps;
    for (long s = 1; s <= 3; ++s) {
      CheckStep step;
      step.batch.first = (s - 1) * 64;
      step.batch.rows = 64;
      step.update.optimizer = e.config.train.optimizer;
      step.update.step = s;
      step.update.lr = e.config.train.optimizer.lr;
      steps.push_back(step);
    }
    // The whole training split in one batch too (a tile of 240 rows).
    CheckStep full = steps.back();
    full.batch.first = 0;
    full.batch.rows = e.dataset->train_rows;
    full.update.step = 4;
    steps.push_back(full);
    const CheckReport report = check_backend(*e.program, e.plan, *backend, &splits, {},
                                             initial_state(e.config, *e.program).params, steps);
    long step = 0;
    const TensorCheck* failure = report.first_failure(&step);
    EXPECT_EQ(failure, nullptr) << plan << ": step " << step << " " << failure->tensor << "["
                                << failure->element << "] " << failure->got << " vs "
                                << failure->want;
  }
}

TEST_F(BatchedPlan, TheSameRunTwiceGivesTheSameBits) {
  std::vector<std::string> params;
  for (int run = 0; run < 2; ++run) {
    const fs::path out = dir_ / ("run" + std::to_string(run));
    const test::CliResult r =
        test::run_descent({"train", (dir_ / "net.toml").string(), "--device", "cpu", "--plan",
                           "batched", "--threads", "2", "--quiet", "--out", out.string()},
                          dir_.path());
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    params.push_back(test::read_file(out / "params.json"));
    const std::string manifest = test::read_file(out / "manifest.json");
    EXPECT_NE(manifest.find("\"plan\": \"batched (3 products, 2 outer totals)\""),
              std::string::npos)
        << manifest;
    EXPECT_NE(manifest.find("\"threads\": 2"), std::string::npos) << manifest;
  }
  EXPECT_EQ(params[0], params[1]);
}

}  // namespace
}  // namespace descent
