// End-to-end tests of training (DESIGN §1, §4, §6; README "Commands" and "Exit codes"), through
// the library API (set_up_experiment, make_cpu_backend, run_training: host/train) and through
// the descent binary (host/cli):
//   1. linear.toml converges to the least-squares solution that this test computes itself from
//      configs/data/linear.csv by the normal equations, within a proven error bound;
//   2. logistic.toml and softmax.toml reach a full-batch gradient norm below 1e-6, and their
//      textbook cross-entropy stays finite at weights that saturate sigmoid/softmax;
//   3. himmelblau.toml (256 starts) finds all four minima; rosenbrock.toml ends at (1, 1), and
//      rosenbrock10.toml (written with slices) at (1, ..., 1);
//   4. a run killed with SIGKILL at several points, or stopped by SIGINT (exit 130), resumes to
//      outputs byte-identical to an uninterrupted run; so does one stopped after every single
//      step in turn (in process, through the trainer's stop flag), early stopping included;
//   5. the same config and seed give bit-identical outputs twice;
//   6. `descent gradcheck` passes on every example config and fails on a corrupted gradient;
//   7. the divergence guard: exit 3, naming the step, the node and its place in the config,
//      with a readable, finite last good checkpoint.
// Parameters and metrics are read back with readers written here (test_support.hpp), not with
// descent's own; checkpoints with read_checkpoint (host/train/checkpoint.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/data_splits.hpp"
#include "check/gradcheck.hpp"
#include "cli/experiment_setup.hpp"
#include "common/error.hpp"
#include "config/experiment.hpp"
#include "cpu/cpu_backend.hpp"
#include "forwarding_backend.hpp"
#include "program/init.hpp"
#include "test_support.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

// ---------------------------------------------------------------------------------------------
// Helpers

// An experiment trained in this process; the backend keeps the final parameters, so the test
// can evaluate the objective and its gradient there.
struct TrainedInProcess {
  Experiment experiment;
  std::unique_ptr<Backend> backend;
  TrainSummary summary;
};

TrainedInProcess train_in_process(const std::string& config,
                                  const std::vector<std::string>& overrides,
                                  const fs::path& run_dir) {
  TrainedInProcess t;
  t.experiment = set_up_experiment(config_path(config).string(), overrides);
  t.backend = make_cpu_backend(*t.experiment.program, t.experiment.plan);
  TrainOptions options;
  options.out_dir = run_dir.string();
  options.quiet = true;
  options.resolved_config = resolved_config_toml(t.experiment.config, /*absolute_paths=*/true);
  t.summary = run_training(t.experiment.config, *t.experiment.program, t.experiment.data(),
                           *t.backend, options);
  return t;
}

// The whole training split as one batch, in order (the backend has the data attached).
BatchRows full_training_batch(const Experiment& e) {
  BatchRows batch;
  batch.rows = e.dataset->train_rows;
  return batch;
}

double norm_of(const std::vector<std::vector<double>>& gradients) {
  double squared = 0;
  for (const auto& g : gradients)
    for (double v : g) squared += v * v;
  return std::sqrt(squared);
}

// metrics.csv columns (run_files.hpp, MetricsLog::kCsvHeader).
enum MetricsColumn { kStep, kEpoch, kLoss, kValLoss, kLr, kGradNorm, kSamplesPerS, kWallS };
const std::string kMetricsHeader = "step,epoch,loss,val_loss,lr,grad_norm,samples_per_s,wall_s";

std::vector<std::vector<std::string>> metrics_rows(const fs::path& run) {
  auto rows = read_csv_rows(run / "metrics.csv");
  EXPECT_FALSE(rows.empty());
  if (rows.empty()) return rows;
  std::string header;
  for (const auto& cell : rows.front()) header += (header.empty() ? "" : ",") + cell;
  // The [metrics] columns, if any, follow the fixed ones.
  EXPECT_EQ(header.rfind(kMetricsHeader, 0), 0u) << header;
  rows.erase(rows.begin());
  return rows;
}

std::vector<std::string> npy_names(const fs::path& run) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(run / "params"))
    if (entry.path().extension() == ".npy") names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// Two run directories hold the same results: params.json and every params/*.npy byte for
// byte, and metrics.csv equal in every column but the two timings (samples_per_s, wall_s),
// [metrics] columns included.
void expect_same_results(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(read_file(a / "params.json"), read_file(b / "params.json"));
  const auto names = npy_names(a);
  EXPECT_FALSE(names.empty());
  EXPECT_EQ(names, npy_names(b));
  for (const std::string& name : names)
    EXPECT_EQ(read_file(a / "params" / name), read_file(b / "params" / name)) << name;
  const auto ra = metrics_rows(a), rb = metrics_rows(b);
  ASSERT_EQ(ra.size(), rb.size());
  for (std::size_t r = 0; r < ra.size(); ++r) {
    ASSERT_GE(ra[r].size(), 8u);
    ASSERT_EQ(ra[r].size(), rb[r].size());
    for (std::size_t c = 0; c < ra[r].size(); ++c) {
      if (c == kSamplesPerS || c == kWallS) continue;
      EXPECT_EQ(ra[r][c], rb[r][c]) << "metrics.csv row " << r + 1 << ", column " << c;
    }
  }
}

// Polls a running child every millisecond until `ready()` holds, then sends it `signal`.
// Returns the child's wait status. Fails the test when the child exits before that (the kill
// point was missed) or nothing happens for 60 s.
int signal_when(pid_t pid, const std::function<bool()>& ready, int signal) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (true) {
    const pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      ADD_FAILURE() << "the run ended (status " << status << ") before the kill point";
      return status;
    }
    if (ready()) break;
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "timed out waiting for the kill point";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ::kill(pid, signal);
  return wait_for(pid);
}

// The identity of a file's current content as far as a poller can tell: atomic writes
// replace the inode, and every write changes the modification time.
struct FileStamp {
  ino_t inode = 0;
  long long mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

FileStamp stamp_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_ino, static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

// The number of data rows in metrics.csv so far.
long metrics_row_count(const fs::path& run) {
  return std::max(0L, count_lines(run / "metrics.csv") - 1);
}

// ---------------------------------------------------------------------------------------------
// 1. Linear regression against the normal equations

using Real = long double;
using Mat4 = std::array<std::array<Real, 4>, 4>;

// Gauss-Jordan elimination with partial pivoting: the inverse of a 4x4 matrix.
Mat4 inverse(Mat4 m) {
  Mat4 inv{};
  for (int i = 0; i < 4; ++i) inv[i][i] = 1;
  for (int col = 0; col < 4; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 4; ++r)
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    std::swap(m[col], m[pivot]);
    std::swap(inv[col], inv[pivot]);
    const Real p = m[col][col];
    for (int c = 0; c < 4; ++c) {
      m[col][c] /= p;
      inv[col][c] /= p;
    }
    for (int r = 0; r < 4; ++r) {
      if (r == col) continue;
      const Real f = m[r][col];
      for (int c = 0; c < 4; ++c) {
        m[r][c] -= f * m[col][c];
        inv[r][c] -= f * inv[col][c];
      }
    }
  }
  return inv;
}

// Gaussian elimination with partial pivoting and back substitution: m x = v.
std::array<Real, 4> solve(Mat4 m, std::array<Real, 4> v) {
  for (int col = 0; col < 4; ++col) {
    int pivot = col;
    for (int r = col + 1; r < 4; ++r)
      if (std::fabs(m[r][col]) > std::fabs(m[pivot][col])) pivot = r;
    std::swap(m[col], m[pivot]);
    std::swap(v[col], v[pivot]);
    for (int r = col + 1; r < 4; ++r) {
      const Real f = m[r][col] / m[col][col];
      for (int c = col; c < 4; ++c) m[r][c] -= f * m[col][c];
      v[r] -= f * v[col];
    }
  }
  std::array<Real, 4> x{};
  for (int r = 3; r >= 0; --r) {
    Real s = v[r];
    for (int c = r + 1; c < 4; ++c) s -= m[r][c] * x[c];
    x[r] = s / m[r][r];
  }
  return x;
}

Real frobenius(const Mat4& m) {
  Real s = 0;
  for (const auto& row : m)
    for (Real v : row) s += v * v;
  return std::sqrt(s);
}

// data.shuffle reshuffles an epoch of several batches; a full batch holds every row in any
// order, so it is taken in the data's order (train/epoch_order.hpp: shuffles_epochs): a
// full-batch run is the same bits with shuffle on or off (before, the shuffled order moved the
// sums' last bits), and a mini-batch run is not.
TEST(TrainE2E, AFullBatchIsTakenInOrderAndMiniBatchesAreShuffled) {
  TempDir tmp;
  const auto params_of = [&](const std::string& name, std::vector<std::string> overrides) {
    train_in_process("linear.toml", overrides, tmp / name);
    return read_file(tmp / name / "params.json");
  };
  EXPECT_EQ(params_of("full-shuffled", {"data.shuffle=true", "train.batch_size=0"}),
            params_of("full-in-order", {"data.shuffle=false", "train.batch_size=0"}));
  EXPECT_NE(params_of("mini-shuffled", {"data.shuffle=true", "train.batch_size=16"}),
            params_of("mini-in-order", {"data.shuffle=false", "train.batch_size=16"}));
}

TEST(TrainE2E, LinearRegressionReachesTheNormalEquationsSolution) {
  // The data, read here: rows a_i = (x1, x2, x3, 1) and targets y_i.
  const auto csv = read_csv_rows(kSourceDir / "configs" / "data" / "linear.csv");
  ASSERT_EQ(csv.front(), (std::vector<std::string>{"x1", "x2", "x3", "y"}));
  std::vector<std::array<Real, 4>> a;
  std::vector<Real> y;
  for (std::size_t r = 1; r < csv.size(); ++r) {
    ASSERT_EQ(csv[r].size(), 4u);
    // Parsed to double first: the same correctly rounded values descent trains on.
    a.push_back({std::strtod(csv[r][0].c_str(), nullptr), std::strtod(csv[r][1].c_str(), nullptr),
                 std::strtod(csv[r][2].c_str(), nullptr), 1.0L});
    y.push_back(std::strtod(csv[r][3].c_str(), nullptr));
  }
  const auto n = static_cast<Real>(a.size());
  ASSERT_EQ(a.size(), 200u);

  // The objective is f(θ) = (1/N) Σ (a_i·θ - y_i)^2, so ∇f = (2/N) Aᵀ(Aθ - y), H = (2/N) AᵀA,
  // and θ* solves the normal equations AᵀA θ = Aᵀy.
  Mat4 ata{};
  std::array<Real, 4> aty{};
  for (std::size_t i = 0; i < a.size(); ++i)
    for (int j = 0; j < 4; ++j) {
      aty[j] += a[i][j] * y[i];
      for (int k = 0; k < 4; ++k) ata[j][k] += a[i][j] * a[i][k];
    }
  const std::array<Real, 4> optimum = solve(ata, aty);
  Mat4 hessian = ata;
  for (auto& row : hessian)
    for (Real& v : row) v *= 2 / n;

  // Train as configured. checkpoint_every only saves the state more rarely (for a full batch the
  // default is every step, an fsync each); the arithmetic of the run does not change.
  TempDir tmp;
  const TrainedInProcess t =
      train_in_process("linear.toml", {"train.checkpoint_every=1000"}, tmp / "run");
  EXPECT_EQ(t.summary.steps, 600);
  const NpyF8 w = read_npy_f8(tmp / "run" / "params" / "w.npy");
  const NpyF8 b = read_npy_f8(tmp / "run" / "params" / "b.npy");
  ASSERT_EQ(w.shape, std::vector<std::size_t>{3});
  ASSERT_TRUE(b.shape.empty());
  const std::array<Real, 4> theta{w.values[0], w.values[1], w.values[2], b.values[0]};

  // Error bound. f is quadratic, so ∇f(θ) = H (θ - θ*) exactly, and
  //   |θ - θ*|₂ ≤ ‖H⁻¹‖₂ |∇f(θ)|₂ ≤ ‖H⁻¹‖_F |∇f(θ)|₂ = |∇f(θ)|₂ / λ_min  (bounded below),
  // with ∇f(θ) evaluated here in long double at the parameters descent wrote.
  std::array<Real, 4> gradient{};
  for (std::size_t i = 0; i < a.size(); ++i) {
    Real residual = -y[i];
    for (int j = 0; j < 4; ++j) residual += a[i][j] * theta[j];
    for (int j = 0; j < 4; ++j) gradient[j] += 2 / n * residual * a[i][j];
  }
  const Real gradient_norm = std::sqrt(gradient[0] * gradient[0] + gradient[1] * gradient[1] +
                                       gradient[2] * gradient[2] + gradient[3] * gradient[3]);
  const Real inverse_norm = frobenius(inverse(hessian));  // ≥ 1/λ_min(H)
  // Slack for the reference itself: θ* and ∇f come from long double arithmetic (ε ≈ 1.1e-19)
  // on a system with cond_F(H) = ‖H‖_F‖H⁻¹‖_F < 100 (checked here), so their rounding error
  // is at most of order n·cond·ε·|θ*| ≈ 4·100·1.1e-19·3 ≈ 1e-16; 1e-15 covers it tenfold.
  const Real condition = frobenius(hessian) * inverse_norm;
  ASSERT_LT(condition, 100.0L);
  const Real slack = 1e-15L;
  const Real bound = inverse_norm * gradient_norm + slack;
  // The bound must be tight enough to mean something: 600 momentum steps drive |∇f| to ~1e-13.
  EXPECT_LT(bound, 1e-9L) << "gradient norm at the end: " << static_cast<double>(gradient_norm);
  Real error_squared = 0;
  for (int j = 0; j < 4; ++j) error_squared += (theta[j] - optimum[j]) * (theta[j] - optimum[j]);
  EXPECT_LE(std::sqrt(error_squared), bound)
      << "θ = (" << static_cast<double>(theta[0]) << ", " << static_cast<double>(theta[1]) << ", "
      << static_cast<double>(theta[2]) << ", " << static_cast<double>(theta[3]) << "), θ* = ("
      << static_cast<double>(optimum[0]) << ", " << static_cast<double>(optimum[1]) << ", "
      << static_cast<double>(optimum[2]) << ", " << static_cast<double>(optimum[3]) << ")";
  // And the data's generating model (scripts/make_datasets.py: y = 2 x1 - 3 x2 + 0.5 x3 + 1 +
  // N(0, 0.1²), x ~ U(-2, 2)) is recovered: a sanity check on the reading of the data. The
  // estimates' standard error is about 0.1 / sqrt(200 · 4/3) ≈ 0.006; 0.05 is over 8 of them.
  EXPECT_NEAR(static_cast<double>(optimum[0]), 2.0, 0.05);
  EXPECT_NEAR(static_cast<double>(optimum[1]), -3.0, 0.05);
  EXPECT_NEAR(static_cast<double>(optimum[2]), 0.5, 0.05);
  EXPECT_NEAR(static_cast<double>(optimum[3]), 1.0, 0.05);
}

// ---------------------------------------------------------------------------------------------
// 2. Classification: convergence, and no NaN from the textbook cross-entropy

void expect_gradient_below(const std::string& config, double limit) {
  TempDir tmp;
  TrainedInProcess t = train_in_process(config, {"train.checkpoint_every=1000"}, tmp / "run");
  // The full-batch gradient at the final parameters, computed by the backend that trained.
  std::vector<std::vector<double>> gradients;
  const double objective =
      t.backend->objective_and_gradients(full_training_batch(t.experiment), gradients);
  EXPECT_TRUE(std::isfinite(objective));
  EXPECT_LT(norm_of(gradients), limit) << config;
  // The gradient norm logged for the last step (before its update) is below it too.
  const auto rows = metrics_rows(tmp / "run");
  ASSERT_FALSE(rows.empty());
  EXPECT_LT(std::stod(rows.back()[kGradNorm]), limit) << config;
}

// 1e-6 is the promise the example configs make (converged, not merely improved); the shipped
// step counts reach about 1e-10 (logistic) and 1e-13 (softmax), so this is no knife edge.
TEST(TrainE2E, LogisticRegressionReachesAStationaryPoint) {
  expect_gradient_below("logistic.toml", 1e-6);
}

TEST(TrainE2E, SoftmaxRegressionReachesAStationaryPoint) {
  expect_gradient_below("softmax.toml", 1e-6);
}

// Runs a few steps from weights so large that sigmoid/softmax saturate to exactly 0 or 1 in
// f64 for most samples (|z| in the hundreds): log(sigmoid(z)) written naively is log(0) = -inf
// there, and its gradient 0*inf = NaN. The stabilizing rewrites must keep every value finite.
void expect_finite_when_saturated(const std::string& config, const std::string& weights) {
  TempDir tmp;
  const CliResult r = run_descent({"train", config_path(config).string(), "--set", weights, "--set",
                                   "train.steps=5", "--out", (tmp / "run").string(), "--quiet"},
                                  tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = metrics_rows(tmp / "run");
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& row : rows) {
    for (int c : {kLoss, kValLoss, kGradNorm})
      EXPECT_TRUE(std::isfinite(std::stod(row[c])))
          << config << " step " << row[kStep] << ": " << row[c];
    // Saturated and badly wrong on some samples: the mean loss is far above log(2) ≈ 0.69.
    EXPECT_GT(std::stod(row[kLoss]), 1.0);
  }
  const std::string params = read_file(tmp / "run" / "params.json");
  EXPECT_EQ(params.find("nan"), std::string::npos) << params;
  EXPECT_EQ(params.find("null"), std::string::npos) << params;
}

TEST(TrainE2E, TextbookCrossEntropyStaysFiniteWithSaturatedSigmoid) {
  expect_finite_when_saturated("logistic.toml", "params.w=[500.0, -500.0]");
}

TEST(TrainE2E, TextbookSoftmaxCrossEntropyStaysFiniteWithSaturatedSoftmax) {
  expect_finite_when_saturated("softmax.toml",
                               "params.W=[[500.0, -500.0], [-500.0, 500.0], [500.0, 500.0]]");
}

// ---------------------------------------------------------------------------------------------
// 3. Minimization

TEST(TrainE2E, HimmelblauFromManyStartsFindsAllFourMinima) {
  TempDir tmp;
  const CliResult r = run_descent({"train", config_path("himmelblau.toml").string(), "--out",
                                   (tmp / "run").string(), "--quiet"},
                                  tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyF8 x = read_npy_f8(tmp / "run" / "params" / "x.npy");
  const NpyF8 y = read_npy_f8(tmp / "run" / "params" / "y.npy");
  ASSERT_EQ(x.shape, std::vector<std::size_t>{256});
  ASSERT_EQ(y.shape, std::vector<std::size_t>{256});
  // The minima as published, to 6 decimals (so each is within ~1e-6 of the true point; the
  // 1e-4 radius is the requirement, far looser than both that and Adam's final steps).
  const std::array<std::array<double, 2>, 4> minima{
      {{3.0, 2.0}, {-2.805118, 3.131312}, {-3.779310, -3.283186}, {3.584428, -1.848126}}};
  for (const auto& m : minima) {
    double nearest = std::numeric_limits<double>::infinity();
    for (std::size_t s = 0; s < 256; ++s)
      nearest = std::min(nearest, std::hypot(x.values[s] - m[0], y.values[s] - m[1]));
    EXPECT_LE(nearest, 1e-4) << "no start ended at (" << m[0] << ", " << m[1] << ")";
  }
}

TEST(TrainE2E, RosenbrockEndsAtItsMinimum) {
  TempDir tmp;
  const CliResult r = run_descent({"train", config_path("rosenbrock.toml").string(), "--out",
                                   (tmp / "run").string(), "--quiet"},
                                  tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyF8 x = read_npy_f8(tmp / "run" / "params" / "x.npy");
  const NpyF8 y = read_npy_f8(tmp / "run" / "params" / "y.npy");
  ASSERT_TRUE(x.shape.empty());
  ASSERT_TRUE(y.shape.empty());
  // 1e-6: the requirement; the minimum is exactly (1, 1).
  EXPECT_NEAR(x.values[0], 1.0, 1e-6);
  EXPECT_NEAR(y.values[0], 1.0, 1e-6);
}

// McCormick's function restricted to its box [-1.5, 4] x [-3, 4] (bounds, projected gradient
// descent): every start ends inside the box, and the best at the constrained minimum, which is
// the global one (-0.54719, -1.54719) (to 5 digits, as the literature gives it: the tolerance).
TEST(TrainE2E, McCormickOnItsBoxEndsAtItsConstrainedMinimum) {
  TempDir tmp;
  const CliResult r = run_descent(
      {"train", config_path("mccormick.toml").string(), "--out", (tmp / "run").string(), "--quiet"},
      tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyF8 xy = read_npy_f8(tmp / "run" / "params" / "xy.npy");
  ASSERT_EQ(xy.shape, (std::vector<std::size_t>{64, 2}));
  double best_cost = 1e300;
  std::size_t best = 0;
  for (std::size_t s = 0; s < 64; ++s) {
    const double x = xy.values[2 * s], y = xy.values[2 * s + 1];
    EXPECT_TRUE(x >= -1.5 && x <= 4 && y >= -3 && y <= 4)
        << "start " << s << ": " << x << ", " << y;
    const double cost = std::sin(x + y) + (x - y) * (x - y) - 1.5 * x + 2.5 * y + 1;
    if (cost < best_cost) best_cost = cost, best = s;
  }
  EXPECT_NEAR(xy.values[2 * best], -0.54719, 1e-5);
  EXPECT_NEAR(xy.values[2 * best + 1], -1.54719, 1e-5);
  EXPECT_NEAR(best_cost, -1.9133, 1e-4);
}

// [constants] in configs/least_squares.toml: min |A x - b|^2 with A and b constants ends at the
// normal equations' solution (A^T A) x = A^T b, solved here by Gaussian elimination with
// partial pivoting; the tolerance allows for a condition number of A^T A below 1e3 times the
// run's stopping error (the loss is flat to ~1e-16 relative there).
TEST(TrainE2E, LeastSquaresWithConstantsEndsAtTheNormalEquationsSolution) {
  TempDir tmp;
  // On the CPU: the tolerance is f64's (with a GPU, --device auto would train in f32).
  const CliResult r = run_descent({"train", config_path("least_squares.toml").string(), "--out",
                                   (tmp / "run").string(), "--quiet", "--device", "cpu"},
                                  tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const double A[4][3] = {{1, 2, 0.5}, {0, 1, -1}, {2, -1, 1}, {1, 1, 1}};
  const double b[4] = {1, -2, 0.5, 3};
  double m[3][4] = {};  // [A^T A | A^T b]
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j)
      for (int k = 0; k < 4; ++k) m[i][j] += A[k][i] * A[k][j];
    for (int k = 0; k < 4; ++k) m[i][3] += A[k][i] * b[k];
  }
  for (int c = 0; c < 3; ++c) {
    int pivot = c;
    for (int i = c + 1; i < 3; ++i)
      if (std::fabs(m[i][c]) > std::fabs(m[pivot][c])) pivot = i;
    for (int j = 0; j < 4; ++j) std::swap(m[c][j], m[pivot][j]);
    for (int i = 0; i < 3; ++i) {
      if (i == c) continue;
      const double f = m[i][c] / m[c][c];
      for (int j = c; j < 4; ++j) m[i][j] -= f * m[c][j];
    }
  }
  const NpyF8 x = read_npy_f8(tmp / "run" / "params" / "x.npy");
  ASSERT_EQ(x.values.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(x.values[i], m[i][3] / m[i][i], 1e-9) << "x[" << i << "]";
  // Constants are not trained: the run writes no A or b.
  EXPECT_FALSE(fs::exists(tmp / "run" / "params" / "A.npy"));
  EXPECT_FALSE(fs::exists(tmp / "run" / "params" / "b.npy"));
}

// configs/circle.toml (indexing, a constant matrix from a CSV file, per-element bounds): the
// fitted circle explains the points at least as well as the circle that made them (it
// minimizes the same mean loss, computed here from the CSV files), and lies near it: the
// points' noise (0.02 over 200 points) moves the least-squares centre and radius by about
// 0.02 * sqrt(2/200) = 0.002, so 0.01 is five of those.
TEST(TrainE2E, CircleFitWithIndexingAndAFileConstantFindsTheCircle) {
  TempDir tmp;
  const CliResult r = run_descent(
      {"train", config_path("circle.toml").string(), "--out", (tmp / "run").string(), "--quiet"},
      tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyF8 p = read_npy_f8(tmp / "run" / "params" / "p.npy");
  ASSERT_EQ(p.values.size(), 3u);
  const auto rows = read_csv_rows(kSourceDir / "configs" / "data" / "circle.csv");
  std::vector<std::vector<double>> frame;
  for (const auto& row : read_csv_rows(kSourceDir / "configs" / "data" / "circle_frame.csv"))
    if (!row.empty() && row[0].rfind('#', 0) != 0)
      frame.push_back({std::stod(row[0]), std::stod(row[1])});
  ASSERT_EQ(frame.size(), 2u);
  const auto mean_loss = [&](double cx, double cy, double radius) {
    double sum = 0.0;
    for (std::size_t i = 1; i < rows.size(); ++i) {  // row 0 is the header
      const double x1 = std::stod(rows[i][0]), x2 = std::stod(rows[i][1]);
      const double u0 = frame[0][0] * x1 + frame[0][1] * x2;
      const double u1 = frame[1][0] * x1 + frame[1][1] * x2;
      const double d = std::hypot(u0 - cx, u1 - cy) - radius;
      sum += d * d;
    }
    return sum / static_cast<double>(rows.size() - 1);
  };
  EXPECT_LE(mean_loss(p.values[0], p.values[1], p.values[2]), mean_loss(1.5, -0.5, 2.0));
  EXPECT_NEAR(p.values[0], 1.5, 0.01);
  EXPECT_NEAR(p.values[1], -0.5, 0.01);
  EXPECT_NEAR(p.values[2], 2.0, 0.01);
  EXPECT_FALSE(fs::exists(tmp / "run" / "params" / "frame.npy"));  // a constant, never trained
}

TEST(TrainE2E, TenDimensionalRosenbrockWrittenWithSlicesEndsAtItsMinimum) {
  TempDir tmp;
  const CliResult r = run_descent({"train", config_path("rosenbrock10.toml").string(), "--out",
                                   (tmp / "run").string(), "--quiet"},
                                  tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const NpyF8 x = read_npy_f8(tmp / "run" / "params" / "x.npy");
  ASSERT_EQ(x.shape, (std::vector<std::size_t>{10}));
  // 1e-6: the requirement; the minimum is exactly (1, ..., 1).
  for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(x.values[i], 1.0, 1e-6) << "x[" << i << "]";
}

// ---------------------------------------------------------------------------------------------
// 4. Interrupted runs resume exactly

// mlp.toml, made long enough to interrupt: up to 2000 steps of 32-sample mini-batches with
// shuffling and validation; early stopping (patience 40) ends it at step 1650, so the CLI's
// resume also has to carry the best-so-far record. The kill points (rows 40 and 300, and the
// first checkpoint after a resume) sit far before the end, so that a poller that is slow to be
// scheduled cannot miss them. Checkpoints every 7 steps, so kills land between checkpoints and
// the resumed run must redo steps; a metrics row every step.
const std::vector<std::string> kResumeSettings = {
    "--set", "train.epochs=200", "--set", "train.checkpoint_every=7", "--set", "train.log_every=1"};
const std::vector<std::string> kMlpParams = {"W1", "b1", "w2", "b2"};

class ResumeTest : public testing::Test {
 protected:
  // One uninterrupted reference run for the suite.
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir("descent_resume_ref");
    std::vector<std::string> args{"train", config_path("mlp.toml").string()};
    args.insert(args.end(), kResumeSettings.begin(), kResumeSettings.end());
    args.insert(args.end(), {"--out", reference().string(), "--quiet"});
    reference_exit_ = run_descent(args, reference_dir_->path()).exit_code;
  }
  static void TearDownTestSuite() {
    delete reference_dir_;
    reference_dir_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(reference_exit_, 0); }

  static fs::path reference() { return reference_dir_->path() / "run"; }

  static pid_t start_fresh(const fs::path& run, const fs::path& scratch) {
    std::vector<std::string> args{"train", config_path("mlp.toml").string()};
    args.insert(args.end(), kResumeSettings.begin(), kResumeSettings.end());
    args.insert(args.end(), {"--out", run.string(), "--quiet"});
    return spawn_descent(args, scratch / "stdout", scratch / "stderr");
  }
  static pid_t start_resume(const fs::path& run, const fs::path& scratch) {
    return spawn_descent({"train", "--resume", run.string(), "--quiet"}, scratch / "stdout",
                         scratch / "stderr");
  }
  static long checkpoint_step(const fs::path& run) {
    return read_checkpoint((run / "checkpoint.bin").string(), kMlpParams).step;
  }

  static TempDir* reference_dir_;
  static int reference_exit_;
};

TempDir* ResumeTest::reference_dir_ = nullptr;
int ResumeTest::reference_exit_ = -1;

TEST_F(ResumeTest, SigkillAtThreePointsThenResumeGivesIdenticalOutputs) {
  const long total = metrics_row_count(reference());
  ASSERT_GT(total, 1000);
  TempDir tmp;
  const fs::path run = tmp / "run";
  std::vector<long> checkpoints;
  auto expect_killed = [&](int status) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    checkpoints.push_back(checkpoint_step(run));
  };

  // Kill 1: early, between checkpoints (row 40).
  int status = signal_when(
      start_fresh(run, tmp.path()), [&] { return metrics_row_count(run) >= 40; }, SIGKILL);
  expect_killed(status);

  // Kill 2: right after the first checkpoint that the resumed run writes.
  const FileStamp before = stamp_of(run / "checkpoint.bin");
  status = signal_when(
      start_resume(run, tmp.path()), [&] { return !(stamp_of(run / "checkpoint.bin") == before); },
      SIGKILL);
  expect_killed(status);

  // Kill 3: later (row 300).
  status = signal_when(
      start_resume(run, tmp.path()), [&] { return metrics_row_count(run) >= 300; }, SIGKILL);
  expect_killed(status);

  // Three distinct points, each a real interruption (before the end).
  ASSERT_EQ(checkpoints.size(), 3u);
  EXPECT_LT(checkpoints[0], checkpoints[1]);
  EXPECT_LT(checkpoints[1], checkpoints[2]);
  EXPECT_LT(checkpoints[2], total);
  for (long step : checkpoints) EXPECT_EQ(step % 7, 0) << "checkpoints are written every 7 steps";

  const CliResult done = run_descent({"train", "--resume", run.string(), "--quiet"}, tmp.path());
  ASSERT_EQ(done.exit_code, 0) << done.err;
  expect_same_results(reference(), run);
}

TEST_F(ResumeTest, SigintWritesACheckpointExits130AndResumesIdentically) {
  TempDir tmp;
  const fs::path run = tmp / "run";
  const int status = signal_when(
      start_fresh(run, tmp.path()), [&] { return metrics_row_count(run) >= 150; }, SIGINT);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 130);
  // "interrupted after step N; checkpoint written. Continue with: descent train --resume DIR"
  const std::string err = read_file(tmp / "stderr");
  const std::string marker = "error: interrupted after step ";
  ASSERT_EQ(err.rfind(marker, 0), 0u) << err;
  const long stopped_at = std::stol(err.substr(marker.size()));
  EXPECT_NE(err.find("descent train --resume " + run.string()), std::string::npos) << err;
  // The checkpoint holds exactly the step that finished, and it is the last one logged.
  EXPECT_EQ(checkpoint_step(run), stopped_at);
  EXPECT_EQ(std::stol(metrics_rows(run).back()[kStep]), stopped_at);
  EXPECT_FALSE(fs::exists(run / "params.json")) << "an interrupted run has no final parameters";

  const CliResult done = run_descent({"train", "--resume", run.string(), "--quiet"}, tmp.path());
  ASSERT_EQ(done.exit_code, 0) << done.err;
  expect_same_results(reference(), run);
}

// A backend that passes everything through and raises the stop flag (what SIGINT does) once
// `stop_after` steps have run: the trainer then finishes the step, checkpoints and throws
// Error(interrupted), deterministically at that step.
class StopAfter final : public ForwardingBackend {
 public:
  StopAfter(Backend& inner, long stop_after, std::atomic<bool>& flag)
      : ForwardingBackend(inner), left_(stop_after), flag_(flag) {}
  void step(const BatchRows& batch, const UpdateSettings& update) override {
    inner().step(batch, update);
    if (--left_ == 0) flag_.store(true);
  }

 private:
  long left_;
  std::atomic<bool>& flag_;
};

// Stops a run after each step k in turn, resumes it, and compares with the uninterrupted run.
void expect_resume_identical_at_every_step(const std::vector<std::string>& overrides) {
  TempDir tmp;
  const Experiment e = set_up_experiment(config_path("mlp.toml").string(), overrides);
  TrainOptions options;
  options.quiet = true;
  options.resolved_config = resolved_config_toml(e.config, /*absolute_paths=*/true);

  options.out_dir = (tmp / "reference").string();
  const long steps =
      run_training(e.config, *e.program, e.data(), *make_cpu_backend(*e.program, e.plan), options)
          .steps;

  for (long k = 1; k < steps; ++k) {
    SCOPED_TRACE("stopped after step " + std::to_string(k));
    const fs::path run = tmp / ("stopped-" + std::to_string(k));
    std::atomic<bool> stop{false};
    options.out_dir = run.string();
    options.resume = false;
    options.stop_requested = &stop;
    auto inner = make_cpu_backend(*e.program, e.plan);
    StopAfter stopping(*inner, k, stop);
    try {
      run_training(e.config, *e.program, e.data(), stopping, options);
      ADD_FAILURE() << "the run was not interrupted";
    } catch (const Error& error) {
      EXPECT_EQ(error.code(), ExitCode::interrupted) << error.what();
    }
    options.resume = true;
    options.stop_requested = nullptr;
    run_training(e.config, *e.program, e.data(), *make_cpu_backend(*e.program, e.plan), options);
    expect_same_results(tmp / "reference", run);
    fs::remove_all(run);
  }
}

TEST(TrainE2E, StopAtEveryStepThenResumeGivesIdenticalOutputs) {
  // 2 epochs of 10 mini-batches: interruptions inside epochs, at epoch ends, between and on
  // checkpoints (one per epoch by default) and on validation passes (one per epoch).
  expect_resume_identical_at_every_step({"train.epochs=2"});
}

TEST(TrainE2E, StopAtEveryStepThenResumeKeepsTheEarlyStoppingRecord) {
  // min_delta = 10 makes every evaluation after the first "no improvement", so with patience 1
  // the run stops early at step 20 of 40 and writes the parameters of step 10: the best-so-far
  // record (value, step, parameters) must survive each interruption.
  expect_resume_identical_at_every_step(
      {"train.epochs=4", "train.early_stopping={ patience = 1, min_delta = 10.0 }"});
}

// Regression: validation passes that fall between log rows (eval on steps 3, 6, ..., rows every
// 5 steps, checkpoints every 4). The trainer used to hold such a val_loss in a local until the
// next logged row; it was not in the checkpoint, so a run stopped after step 3 or 4 resumed to
// an empty val_loss in row 5 where the uninterrupted run had a value. Now every step with a
// validation pass is logged.
TEST(TrainE2E, ResumeKeepsAValidationLossOfAStepBetweenLogRows) {
  expect_resume_identical_at_every_step(
      {"train.epochs=1", "train.eval_every=3", "train.log_every=5", "train.checkpoint_every=4"});
}

// ---------------------------------------------------------------------------------------------
// 5. Determinism

void expect_deterministic(const std::string& config, const std::vector<std::string>& settings) {
  TempDir tmp;
  for (const std::string run : {"a", "b"}) {
    std::vector<std::string> args{"train", config_path(config).string()};
    args.insert(args.end(), settings.begin(), settings.end());
    args.insert(args.end(), {"--out", (tmp / run).string(), "--quiet"});
    const CliResult r = run_descent(args, tmp.path());
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  expect_same_results(tmp / "a", tmp / "b");
}

TEST(TrainE2E, SameConfigAndSeedGiveBitIdenticalOutputs) {
  // Mini-batches, per-epoch shuffles, a validation split, xavier initialization.
  expect_deterministic("mlp.toml", {"--set", "train.epochs=20"});
  // Uniform random starts, one per copy.
  expect_deterministic("himmelblau.toml", {"--set", "train.steps=300"});
}

// ---------------------------------------------------------------------------------------------
// 6. gradcheck

// The examples and tests/configs/every_op.toml, which uses every op (slices and pads included).
TEST(TrainE2E, GradcheckPassesOnEveryExampleConfig) {
  TempDir tmp;
  const std::vector<fs::path> configs = program_configs();
  ASSERT_GE(configs.size(), 9u);
  for (const fs::path& config : configs) {
    const CliResult r = run_descent({"gradcheck", config.string()}, tmp.path());
    EXPECT_EQ(r.exit_code, 0) << config << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("gradcheck passed"), std::string::npos) << config << "\n" << r.out;
  }
}

TEST(TrainE2E, GradcheckFailsOnACorruptedGradient) {
  // The library's gradcheck (host/check) on a Program whose gradient of one parameter is made
  // wrong on purpose (scaled by 1 + 1e-3): the report names that parameter, and only it.
  for (const std::string param : {"w", "b"}) {
    Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
    Program& program = *e.program;
    for (ProgramParam& p : program.params)
      if (p.name == param) p.gradient = program.graph.mul(p.gradient, program.graph.num(1.001));
    const ProgramPlan plan = plan_program(program);
    auto backend = make_cpu_backend(program, plan);
    backend->attach(data_splits(program, *e.dataset));
    const GradcheckReport report = gradcheck(program, *backend, gradcheck_batch(program, e.data()),
                                             initial_values(e.config, program), {});
    EXPECT_FALSE(report.ok()) << param;
    for (const GradcheckParamReport& r : report.params) {
      EXPECT_GT(r.checked, 0) << r.name;
      EXPECT_EQ(r.ok, r.name != param) << param << ": " << r.name << " worst " << r.worst;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 7. The divergence guard

// The divergence of a minimization, found at once (a checkpoint every step makes the trainer ask
// the backend after every step) or only some steps later (rows and checkpoints rare: the trainer
// asks every 32 steps); either way the run is rolled back to the start of the failed step.
void expect_divergence_named_and_rolled_back(const std::string& cadence) {
  // loss = w + log(w - 10), plain SGD from w = 12 with lr = 0.5: the steps, by hand,
  //   w' = w - 0.5 (1 + 1/(w - 10)):  12 → 11.25 → 10.35 → 8.428...,
  // and at step 4 log(8.43 - 10) is NaN. The test replays that arithmetic to find the step.
  TempDir tmp;
  const fs::path config = tmp / "diverge.toml";
  write_file(config,
             "[params]\n"
             "w = 12.0\n"
             "\n"
             "[cost]\n"
             "loss = \"w + log(w - 10)\"\n"  // line 5; the string's text starts at column 9
             "\n"
             "[train]\n"
             "optimizer = \"sgd\"\n"
             "lr = 0.5\n"
             "steps = 50\n" +
                 cadence);
  double w = 12.0;
  long diverging_step = 1;
  std::vector<double> history{w};
  for (; w - 10 > 0; ++diverging_step) {
    w -= 0.5 * (1 + 1 / (w - 10));
    history.push_back(w);
  }
  ASSERT_EQ(diverging_step, 4);

  // On the CPU: the replayed history below is f64's (with a GPU, --device auto trains in f32).
  const fs::path run = tmp / "run";
  const CliResult r = run_descent(
      {"train", config.string(), "--out", run.string(), "--quiet", "--device", "cpu"}, tmp.path());
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(
      r.err.rfind("error: training diverged at step " + std::to_string(diverging_step) + ": ", 0),
      0u)
      << r.err;
  // log(...) begins at column 13 of line 5: the node itself, not just the loss, is located.
  EXPECT_NE(r.err.find(config.string() + ":5:13: the first non-finite value is in 'log(w - 10)'"),
            std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find("The last good checkpoint is kept in '" + (run / "checkpoint.bin").string() + "'"),
      std::string::npos)
      << r.err;

  // The checkpoint is the state after the last finite step: it reads back, its step is the one
  // before the divergence, and w is the replayed value to 1e-12 relative. Why 1e-12: descent
  // may evaluate 1/(w - 10) in a different but equivalent form, a few ulps (~1e-15) a step;
  // d w'/d w = 1 + 0.5/(w - 10)^2 is 1.125, 1.32 and 5.1 along the way, so three steps
  // amplify those ulps by < 10: ~1e-14, leaving two decades of margin.
  const TrainState state = read_checkpoint((run / "checkpoint.bin").string(), {"w"});
  EXPECT_EQ(state.step, diverging_step - 1);
  ASSERT_EQ(state.params.size(), 1u);
  ASSERT_EQ(state.params[0].value.size(), 1u);
  EXPECT_TRUE(std::isfinite(state.params[0].value[0]));
  const double expected = history[static_cast<std::size_t>(diverging_step - 1)];
  EXPECT_NEAR(state.params[0].value[0], expected, 1e-12 * std::fabs(expected));
  EXPECT_FALSE(fs::exists(run / "params.json"));
  EXPECT_TRUE(leftover_temporaries(run).empty());
}

TEST(TrainE2E, DivergenceOfAMinimizationNamesStepNodeAndPosition) {
  expect_divergence_named_and_rolled_back("checkpoint_every = 1\n");
}

TEST(TrainE2E, DivergenceFoundStepsLaterRollsBackToTheFailedStep) {
  expect_divergence_named_and_rolled_back("checkpoint_every = 1000\nlog_every = 1000\n");
}

TEST(TrainE2E, DivergenceOfLinearRegressionWithAHugeRateKeepsTheLastGoodCheckpoint) {
  // Every step multiplies the error by ~|1 - 100 λ|, so the squared residual overflows to inf
  // after a few dozen steps.
  TempDir tmp;
  const fs::path config = tmp / "linear_blowup.toml";
  write_file(config, linear_blowup_config());
  const fs::path run = tmp / "run";
  const CliResult r =
      run_descent({"train", config.string(), "--out", run.string(), "--quiet"}, tmp.path());
  ASSERT_EQ(r.exit_code, 3) << r.err;
  // Every step is logged (600 steps: log_every = 1) until the one that diverged.
  const auto rows = metrics_rows(run);
  ASSERT_FALSE(rows.empty());
  const long last_finite = std::stol(rows.back()[kStep]);
  EXPECT_EQ(static_cast<long>(rows.size()), last_finite);
  EXPECT_EQ(
      r.err.rfind("error: training diverged at step " + std::to_string(last_finite + 1) + " ", 0),
      0u)
      << r.err;
  EXPECT_NE(r.err.find(config.string() + ":13:9: the first non-finite value is in '"),
            std::string::npos)
      << r.err;
  for (const auto& row : rows) EXPECT_TRUE(std::isfinite(std::stod(row[kLoss]))) << row[kLoss];

  // A full batch is one step per epoch, and a checkpoint is written every epoch: the last good
  // one is the state after the last finite step.
  const TrainState state = read_checkpoint((run / "checkpoint.bin").string(), {"w", "b"});
  EXPECT_EQ(state.step, last_finite);
  ASSERT_EQ(state.params.size(), 2u);
  for (const ParamState& p : state.params)
    for (double v : p.value) EXPECT_TRUE(std::isfinite(v)) << v;
  EXPECT_FALSE(fs::exists(run / "params.json"));
  EXPECT_TRUE(leftover_temporaries(run).empty());
}

}  // namespace
}  // namespace descent::test
