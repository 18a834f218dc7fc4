// Gradients where the batch axis meets values that are the same for every sample, each checked
// by `descent gradcheck` (central differences) on a config written here:
//   - a term of parameters alone inside the per-sample loss (sum(u^2), u*k): its adjoint from
//     batch_mean is 1/batch_size for every sample, and summed over the batch it must give the
//     term's own gradient, not 1/batch_size of it;
//   - broadcasting a scalar parameter or a per-sample scalar over a vector (v + k, v*k,
//     u*y + 1): the derivative of broadcasting leaves a filled constant of ones, which the
//     simplifier must not lose when it moves factors out of batch totals;
// and, in minimize mode, a training step whose gradients are other parameters' values
// (d(x*y)/dx = y): every update must read the gradients from before the step. The printed
// gradients of these configs carry no doubled parentheses.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "backend/backend.hpp"
#include "cli/experiment_setup.hpp"
#include "cpu/cpu_backend.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

struct Case {
  const char* name;
  const char* model;  // u = ...
  const char* loss;
};

class BatchTerms : public ::testing::TestWithParam<Case> {};

TEST_P(BatchTerms, GradcheckPasses) {
  const Case& c = GetParam();
  TempDir dir("descent_batch_terms");
  const fs::path config = dir.path() / "case.toml";
  std::ofstream(config) << "[experiment]\nname = \"" << c.name << "\"\n"
                        << "[data]\nfile = \"" << (kSourceDir / "configs/data/linear.csv").string()
                        << "\"\ninputs = { x = \"x1..x3\", y = \"y\" }\n"
                        << "[params]\nW = { shape = [2, 3], init = \"normal\" }\n"
                        << "v = { shape = [3], init = \"normal\" }\nk = { init = \"normal\" }\n"
                        << "[model]\nu = \"" << c.model << "\"\n"
                        << "[cost]\nloss = \"" << c.loss << "\"\n"
                        << "[train]\noptimizer = \"sgd\"\nlr = 0.01\nsteps = 3\n";
  const CliResult r = run_descent({"gradcheck", config.string()}, dir.path());
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("gradcheck passed"), std::string::npos) << r.out << r.err;
  // A matrix product inside a product prints with one pair of parentheses: 2*(W @ v).
  const CliResult printed = run_descent({"derive", config.string()}, dir.path());
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_EQ(printed.out.find("((W @ v))"), std::string::npos) << printed.out;
}

INSTANTIATE_TEST_SUITE_P(
    Configs, BatchTerms,
    ::testing::Values(Case{"square_penalty_inside_loss", "W @ v", "sum(u * y + u^2)"},
                      Case{"parameter_product_inside_loss", "W @ v", "sum(u * y + u*k)"},
                      Case{"scalar_times_vector", "v * k", "sum(u * y + x)"},
                      Case{"scalar_plus_vector", "v + k", "sum(u*y + x)"},
                      Case{"constant_term", "W @ v", "sum(u * y + 1)"}),
    [](const ::testing::TestParamInfo<Case>& each) { return std::string(each.param.name); });

TEST(MinimizeStep, UpdatesReadTheGradientsOfBeforeTheStep) {
  TempDir dir("descent_minimize_step");
  const fs::path config = dir.path() / "xy.toml";
  std::ofstream(config) << "[experiment]\nname = \"xy\"\n[params]\n"
                        << "x = { init = \"uniform\", low = -2, high = 2 }\n"
                        << "y = { init = \"uniform\", low = -2, high = 2 }\n"
                        << "[cost]\nloss = \"x*y\"\n"
                        << "[train]\noptimizer = \"sgd\"\nlr = 0.1\nsteps = 1\nstarts = 4\n";
  const Experiment e = set_up_experiment(config.string(), {});
  TrainState state = initial_state(e.config, *e.program);
  const std::vector<double> x0 = state.params[0].value, y0 = state.params[1].value;
  std::unique_ptr<Backend> backend = make_cpu_backend(*e.program, e.plan);
  backend->load(state.params);
  BatchRows starts;
  starts.rows = e.program->starts;
  UpdateSettings update;
  update.optimizer = e.config.train.optimizer;
  update.lr = 0.1;
  backend->step(starts, update);
  ASSERT_EQ(backend->report().diverged_step, 0);
  backend->store(state.params);
  ASSERT_EQ(x0.size(), 4u);
  for (std::size_t s = 0; s < x0.size(); ++s) {
    // SGD on x*y: x' = x - lr*y, y' = y - lr*x, both from the values before the step.
    EXPECT_EQ(state.params[0].value[s], x0[s] - 0.1 * y0[s]) << "start " << s;
    EXPECT_EQ(state.params[1].value[s], y0[s] - 0.1 * x0[s]) << "start " << s;
  }
}

}  // namespace
}  // namespace descent::test
