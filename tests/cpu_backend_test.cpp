// The CPU backend's chunked evaluation (host/cpu/cpu_backend.cpp) against the Interpreter
// (host/cpu/interpreter.cpp), which runs the same kernels over the whole batch in node order.
// The backend tiles the batch into chunks, reads rows in place or gathers them from an index,
// and adds totals of products without storing the products. With the reference math its header
// promises that every value is bit-identical to the Interpreter's; with the fast math (what
// training runs) that values are within vector_math's error bounds (the error model is at
// FastMathWithinTheErrorModel). These tests hold it to that, on every example config that reads
// data, for:
//   - the whole training split as one in-place batch,
//   - a shuffled batch given as row indices, long enough to span several chunks (rows drawn with
//     repeats from the split, so that a small data set still fills many chunks),
//   - the loss of a training step, which must be the reported loss of the same batch.
// Parameters are set to seeded random values, so that no gradient is trivially zero.
#include "cpu/cpu_backend.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/data_splits.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/interpreter.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

// Row indices into the training split: `count` rows drawn uniformly with repeats.
std::vector<std::int64_t> random_rows(std::int64_t split_rows, std::int64_t count,
                                      std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> pick(0, split_rows - 1);
  std::vector<std::int64_t> rows(static_cast<std::size_t>(count));
  for (std::int64_t& r : rows) r = pick(rng);
  return rows;
}

// The batch's inputs as the Interpreter takes them: every row copied, back to back.
void bind_inputs(const Program& program, const SplitRows& split, const BatchRows& batch,
                 const std::vector<std::int64_t>& order, Interpreter& reference) {
  for (std::size_t k = 0; k < program.inputs.size(); ++k) {
    const ProgramInput& in = program.inputs[k];
    if (in.node == kNoNode) continue;
    const std::int64_t size = in.shape.size();
    std::vector<double> rows;
    for (std::int64_t r = 0; r < batch.rows; ++r) {
      const double* row = split.row(k, batch.row(r, order), size);
      rows.insert(rows.end(), row, row + size);
    }
    reference.set(in.node, Tensor{in.shape, batch.rows, std::move(rows)});
  }
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class CpuBackendMatchesInterpreter : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    e_ = set_up_experiment(config_path(GetParam()).string(), {});
    ASSERT_TRUE(e_.dataset.has_value()) << GetParam() << " reads no data";
    state_ = initial_state(e_.config, *e_.program);
    std::mt19937_64 rng(7);
    std::normal_distribution<double> normal(0.0, 0.5);
    for (ParamState& p : state_.params)
      for (double& v : p.value) v = normal(rng);
    splits_ = data_splits(*e_.program, *e_.dataset);
    backend_ = make_cpu_backend(*e_.program, e_.plan, {.math = CpuMath::reference});
    backend_->attach(splits_);
    backend_->load(state_.params);
  }

  // The whole training split in order, or (given an order) those rows of it.
  BatchRows batch_of(Backend& backend, const std::vector<std::int64_t>* order) {
    BatchRows batch;
    batch.rows = order ? static_cast<std::int64_t>(order->size()) : e_.dataset->train_rows;
    if (order) {
      order_ = *order;
      backend.set_epoch_order(order_);
      batch.shuffled = true;
    }
    return batch;
  }

  // The Interpreter's objective and gradients on `batch`.
  Interpreter reference_on(const BatchRows& batch) const {
    const Program& program = *e_.program;
    std::vector<NodeId> outputs = {program.objective};
    for (const ProgramParam& p : program.params) outputs.push_back(p.gradient);
    Interpreter reference(program.graph, outputs);
    bind_inputs(program, splits_.train, batch, order_, reference);
    for (std::size_t i = 0; i < program.params.size(); ++i)
      reference.set(program.params[i].node,
                    Tensor{program.params[i].shape, 0, state_.params[i].value});
    reference.run();
    return reference;
  }

  // The backend's objective and gradients on `batch` equal the Interpreter's, bit for bit.
  void expect_identical(const BatchRows& batch) {
    std::vector<std::vector<double>> gradients;
    const double objective = backend_->objective_and_gradients(batch, gradients);
    const Program& program = *e_.program;
    const Interpreter reference = reference_on(batch);
    EXPECT_TRUE(same_bits(objective, reference.value(program.objective).data[0]))
        << objective << " vs " << reference.value(program.objective).data[0];
    for (std::size_t i = 0; i < program.params.size(); ++i) {
      const std::vector<double>& expected = reference.value(program.params[i].gradient).data;
      ASSERT_EQ(gradients[i].size() % expected.size(), 0u) << program.params[i].name;
      for (std::size_t j = 0; j < gradients[i].size(); ++j) {
        const double want = expected[expected.size() == 1 ? 0 : j];
        EXPECT_TRUE(same_bits(gradients[i][j], want)) << "d/d" << program.params[i].name << "[" << j
                                                      << "]: " << gradients[i][j] << " vs " << want;
      }
    }
  }

  Experiment e_;
  TrainState state_;
  DataSplits splits_;
  std::vector<std::int64_t> order_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(CpuBackendMatchesInterpreter, WholeSplitInPlace) {
  expect_identical(batch_of(*backend_, nullptr));
}

TEST_P(CpuBackendMatchesInterpreter, GatheredRowsOverManyChunks) {
  // 20,000 rows: more than one chunk for every example (a chunk holds 64 Ki values a row's
  // worth of nodes at a time; the smallest of these programs keeps about 20 values a row).
  const std::vector<std::int64_t> rows = random_rows(e_.dataset->train_rows, 20000, 11);
  expect_identical(batch_of(*backend_, &rows));
}

TEST_P(CpuBackendMatchesInterpreter, StepReportsTheBatchLoss) {
  const std::vector<std::int64_t> rows = random_rows(e_.dataset->train_rows, 5000, 12);
  const BatchRows batch = batch_of(*backend_, &rows);
  const double reported = backend_->evaluate(batch);
  UpdateSettings update;
  update.lr = 0.01;
  backend_->step(batch, update);
  const StepReport result = backend_->report();
  ASSERT_EQ(result.diverged_step, 0);
  EXPECT_TRUE(same_bits(result.loss, reported)) << result.loss << " vs " << reported;
}

// The fast math against the oracle. Error model: every function of vector_math.hpp is within
// 3.4 ulp of the exact value (its documented bounds: exp 1, log 1, log1p 2, expm1 2, tanh 3.4;
// sigmoid and softplus through exp and log1p), where std:: math is within 1 ulp, so each value
// one of them returns differs from the reference's by at most u = 4.4 ulp = 4.4 eps/2 relative.
// An output is a function of batch totals Σ_r t_r (or their means), each term t_r computed
// through at most k = 8 such functions along a path (the MLP's gradient, the deepest example,
// has 5), with condition numbers at most c = 10 for these configs (sums, products and the
// logistic, tanh and softmax compositions). So a total is off by at most k*c*u * Σ_r |t_r|, and
// the output, once more conditioned by at most c through the uniform nodes after the totals, by
// c*k*c*u * S, where S is the largest Σ|t_r| (mean |t_r| for a mean) among the totals it reads,
// taken from the Interpreter's per-sample values. Tolerance: 800*u*(|ref| + S).
double total_scale(const Graph& g, const Interpreter& reference, NodeId output) {
  double scale = 0.0;
  for (NodeId id : g.reachable({output})) {
    const Node& n = g[id];
    if ((n.op != Op::batch_sum && n.op != Op::batch_mean) || !g[n[0]].varying) continue;
    const Tensor& terms = reference.value(n[0]);
    const std::int64_t size = terms.shape.size();
    for (std::int64_t i = 0; i < size; ++i) {
      double sum = 0.0;
      for (std::int64_t r = 0; r < terms.samples(); ++r) sum += std::fabs(terms.sample(r)[i]);
      if (n.op == Op::batch_mean) sum /= static_cast<double>(terms.samples());
      scale = std::max(scale, sum);
    }
  }
  return scale;
}

TEST_P(CpuBackendMatchesInterpreter, FastMathWithinTheErrorModel) {
  const std::vector<std::int64_t> rows = random_rows(e_.dataset->train_rows, 3000, 13);
  auto fast = make_cpu_backend(*e_.program, e_.plan);  // CpuMath::fast
  fast->attach(splits_);
  const BatchRows batch = batch_of(*fast, &rows);
  fast->load(state_.params);
  std::vector<std::vector<double>> gradients;
  const double objective = fast->objective_and_gradients(batch, gradients);
  const Program& program = *e_.program;
  const Interpreter reference = reference_on(batch);
  const double u = 4.4 * std::numeric_limits<double>::epsilon() / 2;
  double worst = 0.0;  // the largest error as a fraction of its tolerance
  auto expect_close = [&](double got, double want, NodeId node, const std::string& what) {
    const double tolerance =
        10 * 8 * 10 * u * (std::fabs(want) + total_scale(program.graph, reference, node));
    worst = std::max(worst, std::fabs(got - want) / tolerance);
    EXPECT_LE(std::fabs(got - want), tolerance) << what << ": " << got << " vs " << want;
  };
  expect_close(objective, reference.value(program.objective).data[0], program.objective,
               "objective");
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    const std::vector<double>& expected = reference.value(p.gradient).data;
    for (std::size_t j = 0; j < gradients[i].size(); ++j)
      expect_close(gradients[i][j], expected[expected.size() == 1 ? 0 : j], p.gradient,
                   "d/d" + p.name + "[" + std::to_string(j) + "]");
  }
  std::printf("%s: worst error %.3g of the tolerance\n", GetParam().c_str(), worst);
}

INSTANTIATE_TEST_SUITE_P(ExampleConfigs, CpuBackendMatchesInterpreter,
                         ::testing::Values("linear.toml", "logistic.toml", "softmax.toml",
                                           "polynomial.toml", "mlp.toml", "quickstart.toml"),
                         [](const ::testing::TestParamInfo<std::string>& config) {
                           return config.param.substr(0, config.param.find('.'));
                         });

}  // namespace
}  // namespace descent::test
