// Covers host/config (load.cpp, load_data.cpp, load_params.cpp, load_train.cpp, names.cpp,
// table_reader.cpp, toml_document.cpp, resolved.cpp): a full config of each mode read field by
// field, the defaults, --set overrides of each kind, the resolved config's round trip, and the
// exact diagnostic (file:line:col, message, caret excerpt, note) of each malformed config.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/experiment.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test under the system's temp directory, removed afterwards.
class ConfigTestBase {
 protected:
  void make_dir() {
    const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(test->test_suite_name()) + "-" + test->name();
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    dir_ = fs::temp_directory_path() / ("descent-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void remove_dir() const {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  std::string write(const std::string& name, const std::string& content) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  ExperimentConfig load(const std::string& content, const std::vector<std::string>& overrides = {},
                        const std::string& name = "cfg.toml") const {
    return load_experiment(write(name, content), overrides);
  }

  // The rendered error of loading `content`, with the temporary path shown as "cfg.toml".
  std::string error_of(const std::string& content,
                       const std::vector<std::string>& overrides = {}) const {
    const std::string path = write("cfg.toml", content);
    try {
      load_experiment(path, overrides);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      std::string rendered = e.render();
      EXPECT_EQ(rendered, e.what());
      for (std::size_t at; (at = rendered.find(path)) != std::string::npos;) {
        rendered.replace(at, path.size(), "cfg.toml");
      }
      return rendered;
    }
    ADD_FAILURE() << "no error for:\n" << content;
    return {};
  }

  fs::path dir_;
};

class ConfigLoadTest : public ::testing::Test, protected ConfigTestBase {
 protected:
  void SetUp() override { make_dir(); }
  void TearDown() override { remove_dir(); }
};

// A small valid config of each mode, the base of the malformed variants below.
const std::string kMinimize = R"toml([params]
x = 0.5
[cost]
loss = "x^2"
)toml";

const std::string kFit = R"toml([data]
file = "d.csv"
inputs = { x = "x1..x2", y = "label" }
[params]
w = { shape = [2] }
b = 0.0
[model]
p = "sigmoid(dot(w, x) + b)"
[cost]
loss = "(p - y)^2"
)toml";

// ---- a full config of each mode -----------------------------------------------------------

const std::string kLogistic = R"toml(# Logistic regression on eight features.
[experiment]
name = "logistic"

[data]
file = "data/logistic.csv"
inputs = { x = "x1..x8", y = "label", z = ["a", "b"] }
classes = ["y"]
standardize = ["x", "z"]
validation = 0.2
shuffle = false
seed = 7

[params]
w = { shape = [8], init = "normal", std = 0.1 }
b = { init = "zeros" }
W1 = { shape = [16, 2], init = "xavier" }
c = 0.5
v = [1.0, 2]
M = [[1, 2, 3], [4, 5, 6]]
u = { init = "uniform", low = -5, high = 5 }
k = { shape = [3], init = "constant", value = 2.5 }

[model]
p = "sigmoid(z0)"
z0 = "dot(w, x) + b"

[cost]
loss = "-(y*log(p) + (1-y)*log(1-p))"
penalty = ["0.01*sum(w^2)", "0.1*b^2"]

[train]
optimizer = "adam"
lr = 0.01
beta1 = 0.8
beta2 = 0.99
eps = 1e-7
weight_decay = 0.001
schedule = "cosine"
min_lr = 0.001
warmup_steps = 10
warmup_start = 0.1
epochs = 100
batch_size = 64
seed = 1
clip_norm = 1.0
eval_every = 50
early_stopping = { patience = 10, min_delta = 1e-4 }
log_every = 5
checkpoint_every = 500
)toml";

TEST_F(ConfigLoadTest, ReadsAFullFitConfigFieldByField) {
  const ExperimentConfig c = load(kLogistic);
  EXPECT_EQ(c.path, (dir_ / "cfg.toml").string());
  EXPECT_EQ(c.dir, dir_.string());
  EXPECT_EQ(c.name, "logistic");
  EXPECT_FALSE(c.minimize());

  const DataConfig& d = c.data;
  EXPECT_TRUE(d.present);
  EXPECT_EQ(d.file, (dir_ / "data/logistic.csv").string());
  EXPECT_EQ(d.file_as_written, "data/logistic.csv");
  ASSERT_EQ(d.inputs.size(), 3u);
  EXPECT_EQ(d.inputs[0].name, "x");  // written order, not toml++'s sorted order
  EXPECT_EQ(d.inputs[0].columns, std::vector<std::string>{"x1..x8"});
  EXPECT_TRUE(d.inputs[0].is_vector);
  EXPECT_FALSE(d.inputs[0].classes);
  EXPECT_TRUE(d.inputs[0].standardize);
  EXPECT_EQ(d.inputs[0].where.where(), c.path + ":7:16");
  EXPECT_EQ(d.inputs[1].name, "y");
  EXPECT_EQ(d.inputs[1].columns, std::vector<std::string>{"label"});
  EXPECT_FALSE(d.inputs[1].is_vector);
  EXPECT_TRUE(d.inputs[1].classes);
  EXPECT_FALSE(d.inputs[1].standardize);
  EXPECT_EQ(d.inputs[2].name, "z");
  EXPECT_EQ(d.inputs[2].columns, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(d.inputs[2].is_vector);
  EXPECT_TRUE(d.inputs[2].standardize);
  EXPECT_TRUE(d.inputs[2].npy_file.empty());
  EXPECT_DOUBLE_EQ(d.validation, 0.2);
  EXPECT_FALSE(d.shuffle);
  EXPECT_EQ(d.seed, 7u);
  EXPECT_EQ(d.where.where(), c.path + ":5:1");

  ASSERT_EQ(c.params.size(), 8u);
  const ParamSpec& w = c.params[0];
  EXPECT_EQ(w.name, "w");
  EXPECT_EQ(w.shape, Shape::vector(8));
  EXPECT_EQ(w.init, InitKind::normal);
  EXPECT_DOUBLE_EQ(w.mean, 0.0);
  EXPECT_DOUBLE_EQ(w.std, 0.1);
  EXPECT_EQ(w.where.where(), c.path + ":15:5");
  EXPECT_EQ(c.params[1].name, "b");
  EXPECT_EQ(c.params[1].shape, Shape::scalar());
  EXPECT_EQ(c.params[1].init, InitKind::zeros);
  EXPECT_EQ(c.params[2].name, "W1");
  EXPECT_EQ(c.params[2].shape, Shape::matrix(16, 2));
  EXPECT_EQ(c.params[2].init, InitKind::xavier);
  EXPECT_EQ(c.params[3].name, "c");
  EXPECT_EQ(c.params[3].init, InitKind::literal);
  EXPECT_EQ(c.params[3].shape, Shape::scalar());
  EXPECT_EQ(c.params[3].literal, std::vector<double>{0.5});
  EXPECT_EQ(c.params[4].name, "v");
  EXPECT_EQ(c.params[4].shape, Shape::vector(2));
  EXPECT_EQ(c.params[4].literal, (std::vector<double>{1.0, 2.0}));
  EXPECT_EQ(c.params[5].name, "M");
  EXPECT_EQ(c.params[5].shape, Shape::matrix(2, 3));
  EXPECT_EQ(c.params[5].literal, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(c.params[6].name, "u");
  EXPECT_EQ(c.params[6].init, InitKind::uniform);
  EXPECT_DOUBLE_EQ(c.params[6].low, -5);
  EXPECT_DOUBLE_EQ(c.params[6].high, 5);
  EXPECT_EQ(c.params[7].name, "k");
  EXPECT_EQ(c.params[7].init, InitKind::constant);
  EXPECT_EQ(c.params[7].shape, Shape::vector(3));
  EXPECT_DOUBLE_EQ(c.params[7].value, 2.5);

  ASSERT_EQ(c.model.size(), 2u);
  EXPECT_EQ(c.model[0].name, "p");
  EXPECT_EQ(c.model[0].text.source->text, "sigmoid(z0)");
  EXPECT_EQ(c.model[1].name, "z0");
  EXPECT_EQ(c.model[1].text.source->text, "dot(w, x) + b");
  // The expression's own source starts after the opening quote, at its place in the file.
  EXPECT_EQ(c.model[1].text.source->name, c.path);
  EXPECT_EQ(c.model[1].text.source->first_line, 26);
  EXPECT_EQ(c.model[1].text.source->first_col, 7);
  EXPECT_EQ(c.model[1].text.where.where(), c.path + ":26:6");
  EXPECT_EQ(c.model[1].text.where.excerpt(), "  z0 = \"dot(w, x) + b\"\n       ^~~~~~~~~~~~~~~");

  EXPECT_EQ(c.loss.source->text, "-(y*log(p) + (1-y)*log(1-p))");
  EXPECT_EQ(c.loss.source->first_line, 29);
  EXPECT_EQ(c.loss.source->first_col, 9);
  ASSERT_EQ(c.penalties.size(), 2u);
  EXPECT_EQ(c.penalties[0].source->text, "0.01*sum(w^2)");
  EXPECT_EQ(c.penalties[1].source->text, "0.1*b^2");
  EXPECT_EQ(c.penalties[1].source->first_line, 30);
  EXPECT_EQ(c.penalties[1].source->first_col, 30);

  const TrainConfig& t = c.train;
  EXPECT_EQ(t.optimizer.kind, OptimizerConfig::Kind::adam);
  EXPECT_DOUBLE_EQ(t.optimizer.lr, 0.01);
  EXPECT_DOUBLE_EQ(t.optimizer.beta1, 0.8);
  EXPECT_DOUBLE_EQ(t.optimizer.beta2, 0.99);
  EXPECT_DOUBLE_EQ(t.optimizer.eps, 1e-7);
  EXPECT_DOUBLE_EQ(t.optimizer.weight_decay, 0.001);
  EXPECT_EQ(t.schedule.kind, ScheduleConfig::Kind::cosine);
  EXPECT_DOUBLE_EQ(t.schedule.lr, 0.01);
  EXPECT_DOUBLE_EQ(t.schedule.min_lr, 0.001);
  EXPECT_EQ(t.schedule.warmup_steps, 10);
  EXPECT_DOUBLE_EQ(t.schedule.warmup_start, 0.1);
  EXPECT_EQ(t.epochs, 100);
  EXPECT_EQ(t.steps, 0);
  EXPECT_EQ(t.batch_size, 64);
  EXPECT_EQ(t.seed, 1u);
  EXPECT_DOUBLE_EQ(t.clip_norm, 1.0);
  EXPECT_EQ(t.eval_every, 50);
  EXPECT_EQ(t.early_stopping.patience, 10);
  EXPECT_DOUBLE_EQ(t.early_stopping.min_delta, 1e-4);
  EXPECT_EQ(t.starts, 1);
  EXPECT_EQ(t.log_every, 5);
  EXPECT_EQ(t.checkpoint_every, 500);
}

const std::string kRosenbrock = R"toml([experiment]
name = "rosenbrock"

[params]
xy = { shape = [2], init = "uniform", low = -2, high = 2 }
a = 1
[model]
f = "(a - xy[0])^2"

[cost]
loss = """
100*(xy[1] - xy[0]^2)^2 + f"""

[train]
optimizer = "nesterov"
momentum = 0.95
schedule = "step"
gamma = 0.5
step_size = 200
steps = 3000
starts = 256
seed = 42
)toml";

TEST_F(ConfigLoadTest, ReadsAFullMinimizeConfigFieldByField) {
  const ExperimentConfig c = load(kRosenbrock);
  EXPECT_TRUE(c.minimize());
  EXPECT_FALSE(c.data.present);
  EXPECT_TRUE(c.data.inputs.empty());
  EXPECT_EQ(c.name, "rosenbrock");
  ASSERT_EQ(c.params.size(), 2u);
  EXPECT_EQ(c.params[0].name, "xy");
  EXPECT_EQ(c.params[0].shape, Shape::vector(2));
  EXPECT_EQ(c.params[0].init, InitKind::uniform);
  EXPECT_DOUBLE_EQ(c.params[0].low, -2);
  EXPECT_DOUBLE_EQ(c.params[0].high, 2);
  EXPECT_EQ(c.params[1].name, "a");
  EXPECT_EQ(c.params[1].literal, std::vector<double>{1.0});
  ASSERT_EQ(c.model.size(), 1u);
  EXPECT_EQ(c.model[0].text.source->text, "(a - xy[0])^2");
  // A multi-line string starts on the line after its opening quotes.
  EXPECT_EQ(c.loss.source->text, "100*(xy[1] - xy[0]^2)^2 + f");
  EXPECT_EQ(c.loss.source->first_line, 12);
  EXPECT_EQ(c.loss.source->first_col, 1);
  EXPECT_EQ(c.loss.where.where(), c.path + ":11:8");
  EXPECT_TRUE(c.penalties.empty());

  const TrainConfig& t = c.train;
  EXPECT_EQ(t.optimizer.kind, OptimizerConfig::Kind::nesterov);
  EXPECT_DOUBLE_EQ(t.optimizer.lr, 0.01);  // nesterov's default
  EXPECT_DOUBLE_EQ(t.optimizer.momentum, 0.95);
  EXPECT_EQ(t.schedule.kind, ScheduleConfig::Kind::step);
  EXPECT_DOUBLE_EQ(t.schedule.lr, 0.01);
  EXPECT_DOUBLE_EQ(t.schedule.gamma, 0.5);
  EXPECT_EQ(t.schedule.step_size, 200);
  EXPECT_EQ(t.steps, 3000);
  EXPECT_EQ(t.epochs, 0);
  EXPECT_EQ(t.starts, 256);
  EXPECT_EQ(t.seed, 42u);
  EXPECT_EQ(c.data.seed, 42u);
}

TEST_F(ConfigLoadTest, ReadsNpyInputsWithPathsRelativeToTheConfig) {
  fs::create_directories(dir_ / "sub");
  const std::string path = write("sub/npy.toml", R"toml([data]
npy = { X = "arrays/X.npy", y = "/abs/y.npy" }
validation = 0.1
[params]
w = { shape = [3] }
[cost]
loss = "(dot(w, X) - y)^2"
)toml");
  const ExperimentConfig c = load_experiment(path);
  EXPECT_EQ(c.dir, (dir_ / "sub").string());
  EXPECT_EQ(c.name, "npy");
  EXPECT_TRUE(c.data.file.empty());
  ASSERT_EQ(c.data.inputs.size(), 2u);
  EXPECT_EQ(c.data.inputs[0].name, "X");
  EXPECT_EQ(c.data.inputs[0].npy_file, (dir_ / "sub/arrays/X.npy").string());
  EXPECT_EQ(c.data.inputs[0].npy_file_as_written, "arrays/X.npy");
  EXPECT_EQ(c.data.inputs[1].npy_file, "/abs/y.npy");
  EXPECT_TRUE(c.data.inputs[0].columns.empty());
}

// ---- defaults -----------------------------------------------------------------------------

TEST_F(ConfigLoadTest, FillsTheDefaultsOfFitMode) {
  const ExperimentConfig c = load(kFit, {}, "my_run.toml");
  EXPECT_EQ(c.name, "my_run");
  EXPECT_DOUBLE_EQ(c.data.validation, 0.0);
  EXPECT_TRUE(c.data.shuffle);
  EXPECT_EQ(c.data.seed, 0u);
  EXPECT_EQ(c.params[0].init, InitKind::zeros);
  EXPECT_EQ(c.params[0].shape, Shape::vector(2));
  const TrainConfig& t = c.train;
  EXPECT_EQ(t.optimizer.kind, OptimizerConfig::Kind::sgd);
  EXPECT_DOUBLE_EQ(t.optimizer.lr, 0.01);
  EXPECT_EQ(t.schedule.kind, ScheduleConfig::Kind::constant);
  EXPECT_DOUBLE_EQ(t.schedule.lr, 0.01);
  EXPECT_EQ(t.epochs, 10);
  EXPECT_EQ(t.steps, 0);
  EXPECT_EQ(t.batch_size, 0);
  EXPECT_EQ(t.seed, 0u);
  EXPECT_DOUBLE_EQ(t.clip_norm, 0.0);
  EXPECT_EQ(t.eval_every, 0);
  EXPECT_EQ(t.early_stopping.patience, 0);
  EXPECT_EQ(t.starts, 1);
  EXPECT_EQ(t.log_every, 0);
  EXPECT_EQ(t.checkpoint_every, 0);
}

TEST_F(ConfigLoadTest, FillsTheDefaultsOfMinimizeMode) {
  const ExperimentConfig c = load(kMinimize + "[train]\nseed = 9\noptimizer = \"adamw\"\n");
  EXPECT_EQ(c.name, "cfg");
  EXPECT_EQ(c.train.steps, 1000);
  EXPECT_EQ(c.train.epochs, 0);
  EXPECT_EQ(c.train.starts, 1);
  EXPECT_EQ(c.data.seed, 9u);
  EXPECT_DOUBLE_EQ(c.train.optimizer.lr, 0.001);
  EXPECT_DOUBLE_EQ(c.train.optimizer.weight_decay, 0.01);
}

TEST_F(ConfigLoadTest, DataSeedDefaultsToTrainSeedAndBatchSizeAcceptsFull) {
  const ExperimentConfig c = load(kFit + "[train]\nseed = 5\nbatch_size = \"full\"\nsteps = 7\n");
  EXPECT_EQ(c.data.seed, 5u);
  EXPECT_EQ(c.train.batch_size, 0);
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.train.epochs, 0);
}

TEST_F(ConfigLoadTest, KeepsTheWrittenOrderOfParamsAndModel) {
  const ExperimentConfig c = load(R"toml([params]
zeta = 1
alpha = 2
mid = 3
[model]
q = "alpha"
b = "q"
[cost]
loss = "zeta + b + mid"
)toml");
  ASSERT_EQ(c.params.size(), 3u);
  EXPECT_EQ(c.params[0].name, "zeta");
  EXPECT_EQ(c.params[1].name, "alpha");
  EXPECT_EQ(c.params[2].name, "mid");
  ASSERT_EQ(c.model.size(), 2u);
  EXPECT_EQ(c.model[0].name, "q");
  EXPECT_EQ(c.model[1].name, "b");
}

// ---- --set overrides ----------------------------------------------------------------------

TEST_F(ConfigLoadTest, OverridesANumber) {
  const ExperimentConfig c =
      load(kFit + "[train]\nlr = 0.5\n", {"train.lr=0.1", "data.validation=0.3"});
  EXPECT_DOUBLE_EQ(c.train.optimizer.lr, 0.1);
  EXPECT_DOUBLE_EQ(c.train.schedule.lr, 0.1);
  EXPECT_DOUBLE_EQ(c.data.validation, 0.3);
}

TEST_F(ConfigLoadTest, OverridesAStringQuotedOrNot) {
  EXPECT_EQ(load(kFit, {"train.optimizer=\"adam\""}).train.optimizer.kind,
            OptimizerConfig::Kind::adam);
  const ExperimentConfig c = load(kFit, {"train.optimizer=rmsprop", "experiment.name=run 7"});
  EXPECT_EQ(c.train.optimizer.kind, OptimizerConfig::Kind::rmsprop);
  EXPECT_EQ(c.name, "run 7");
}

TEST_F(ConfigLoadTest, OverridesCreateMissingTables) {
  // kMinimize and kFit have neither [train] nor [experiment].
  const ExperimentConfig c = load(kMinimize, {"train.steps=50", "experiment.name=x"});
  EXPECT_EQ(c.train.steps, 50);
  EXPECT_EQ(c.name, "x");
  const ExperimentConfig f = load(kFit, {"train.early_stopping.min_delta=0.5"});
  EXPECT_DOUBLE_EQ(f.train.early_stopping.min_delta, 0.5);
}

TEST_F(ConfigLoadTest, OverridesArraysTablesAndNestedKeys) {
  const ExperimentConfig c = load(kFit, {"params.w.shape=[4]", "params.w.init=normal",
                                         "params.w.std=0.5", "train.early_stopping={patience=3}",
                                         "data.validation=0.25", "data.inputs.x=[\"x1\", \"x3\"]"});
  EXPECT_EQ(c.params[0].shape, Shape::vector(4));
  EXPECT_EQ(c.params[0].init, InitKind::normal);
  EXPECT_DOUBLE_EQ(c.params[0].std, 0.5);
  EXPECT_EQ(c.train.early_stopping.patience, 3);
  EXPECT_EQ(c.data.inputs[0].columns, (std::vector<std::string>{"x1", "x3"}));
  // An overridden param keeps its place in the written order.
  EXPECT_EQ(c.params[0].name, "w");
}

TEST_F(ConfigLoadTest, OverridingEpochsReplacesStepsAndTheOtherWayRound) {
  const std::string with_steps = kFit + "[train]\nsteps = 100\n";
  const ExperimentConfig a = load(with_steps, {"train.epochs=3"});
  EXPECT_EQ(a.train.epochs, 3);
  EXPECT_EQ(a.train.steps, 0);
  const ExperimentConfig b = load(kFit + "[train]\nepochs = 4\n", {"train.steps=9"});
  EXPECT_EQ(b.train.steps, 9);
  EXPECT_EQ(b.train.epochs, 0);
}

TEST_F(ConfigLoadTest, AnOverriddenExpressionPointsIntoTheOverride) {
  const ExperimentConfig c = load(kFit, {"cost.loss=(p-y)^2", "model.p=\"dot(w, x) + b\""});
  EXPECT_EQ(c.loss.source->text, "(p-y)^2");
  EXPECT_EQ(c.loss.source->name, "--set");
  EXPECT_EQ(c.loss.source->first_line, 1);
  EXPECT_EQ(c.loss.source->first_col, 11);  // unquoted: the text starts right after '='
  EXPECT_EQ(c.loss.where.where(), "--set:1:11");
  EXPECT_EQ(c.model[0].text.source->text, "dot(w, x) + b");
  EXPECT_EQ(c.model[0].text.source->first_col, 10);  // quoted: after the quote
}

// ---- the resolved config ------------------------------------------------------------------

// load → resolve → write beside the original → load → resolve gives the same text.
void expect_round_trip(const std::string& first_path, const std::string& second_name) {
  const ExperimentConfig first = load_experiment(first_path);
  const std::string text = resolved_config_toml(first);
  const std::string second_path = (fs::path(first_path).parent_path() / second_name).string();
  std::ofstream(second_path, std::ios::binary) << text;
  const ExperimentConfig second = load_experiment(second_path);
  EXPECT_EQ(resolved_config_toml(second), text) << text;
  EXPECT_EQ(second.data.file, first.data.file);
  EXPECT_EQ(second.params.size(), first.params.size());
}

TEST_F(ConfigLoadTest, ResolvedConfigRoundTrips) {
  expect_round_trip(write("logistic.toml", kLogistic), "logistic.resolved.toml");
  expect_round_trip(write("rosen.toml", kRosenbrock), "rosen.resolved.toml");
  expect_round_trip(write("fit.toml", kFit), "fit.resolved.toml");
  expect_round_trip(write("min.toml", kMinimize), "min.resolved.toml");
  expect_round_trip(write("npy.toml",
                          "[data]\nnpy = { a = \"A.npy\", b = \"B.npy\" }\n"
                          "classes = [\"b\"]\n[params]\nw = 1\n[cost]\n"
                          "loss = \"w*a - b\"\n[train]\noptimizer = \"rmsprop\"\n"
                          "momentum = 0.5\nschedule = \"exponential\"\n"),
                    "npy.resolved.toml");
}

// Init settings per element: arrays shaped like the parameter (a vector's numbers, a matrix's
// rows), beside scalar settings; the resolved config writes them back as arrays.
const std::string kPerElementInit = R"toml([params]
x = { shape = [2], init = "uniform", low = [-1.5, -3], high = [4, 4.5] }
M = { shape = [2, 2], init = "normal", mean = [[0, 1], [2, 3]], std = 0.5 }
k = { shape = [3], init = "constant", value = [1, 2, 3] }
s = { init = "uniform", low = -2, high = 2 }
[cost]
loss = "sum(x) + sum(M) + sum(k) + s"
)toml";

TEST_F(ConfigLoadTest, ReadsInitSettingsPerElement) {
  const ExperimentConfig c = load(kPerElementInit);
  ASSERT_EQ(c.params.size(), 4u);
  EXPECT_EQ(c.params[0].each.low, (std::vector<double>{-1.5, -3}));
  EXPECT_EQ(c.params[0].each.high, (std::vector<double>{4, 4.5}));
  EXPECT_EQ(c.params[1].each.mean, (std::vector<double>{0, 1, 2, 3}));  // row-major
  EXPECT_TRUE(c.params[1].each.std.empty());
  EXPECT_DOUBLE_EQ(c.params[1].std, 0.5);
  EXPECT_EQ(c.params[2].each.value, (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(c.params[3].each.low.empty());
  EXPECT_DOUBLE_EQ(c.params[3].low, -2);
  const std::string text = resolved_config_toml(c);
  EXPECT_NE(text.find("x = { shape = [2], init = \"uniform\", low = [-1.5, -3.0], high = [4.0, "
                      "4.5] }"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mean = [[0.0, 1.0], [2.0, 3.0]], std = 0.5 }"), std::string::npos) << text;
  expect_round_trip(write("each.toml", kPerElementInit), "each.resolved.toml");
  // --set takes an array too.
  const ExperimentConfig set = load(kPerElementInit, {"params.x.low=[-1, -2]"});
  EXPECT_EQ(set.params[0].each.low, (std::vector<double>{-1, -2}));
}

TEST_F(ConfigLoadTest, ResolvedConfigWithAbsolutePathsLoadsFromAnotherFolder) {
  fs::create_directories(dir_ / "a");
  fs::create_directories(dir_ / "b");
  const ExperimentConfig first = load_experiment(write("a/fit.toml", kFit));
  const std::string text = resolved_config_toml(first, /*absolute_paths=*/true);
  const std::string csv = (dir_ / "a" / "d.csv").string();
  EXPECT_NE(text.find("file = \"" + csv + "\"\n"), std::string::npos) << text;
  const ExperimentConfig second = load_experiment(write("b/copy.toml", text));
  EXPECT_EQ(second.data.file, csv);
  EXPECT_EQ(resolved_config_toml(second, true), text);
}

TEST_F(ConfigLoadTest, ResolvedConfigListsEverySettingThatApplies) {
  const ExperimentConfig c = load(kFit + "[train]\noptimizer = \"momentum\"\nbatch_size = 32\n");
  EXPECT_EQ(resolved_config_toml(c),
            R"toml(# The effective configuration: every setting that applies, defaults filled in.

[experiment]
name = "cfg"

[data]
file = "d.csv"
inputs = { x = "x1..x2", y = "label" }
classes = []
standardize = []
validation = 0.0
shuffle = true
seed = 0

[params]
w = { shape = [2], init = "zeros" }
b = 0.0

[model]
p = "sigmoid(dot(w, x) + b)"

[cost]
loss = "(p - y)^2"
penalty = []

[train]
optimizer = "momentum"
lr = 0.01
momentum = 0.9
weight_decay = 0.0
schedule = "constant"
warmup_steps = 0
warmup_start = 0.0
epochs = 10
batch_size = 32
seed = 0
clip_norm = 0.0
eval_every = 0
early_stopping = { patience = 0, min_delta = 0.0 }
log_every = 0
checkpoint_every = 0
precision = "auto"
plan = "auto"
threads = 0
)toml");
}

// ---- missing or unreadable config ---------------------------------------------------------

TEST_F(ConfigLoadTest, AMissingConfigIsAnIoError) {
  const std::string path = (dir_ / "nope.toml").string();
  try {
    load_experiment(path);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(std::string(e.what()),
              "error: cannot open config '" + path + "': No such file or directory");
  }
  try {
    load_experiment(dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(std::string(e.what()),
              "error: cannot open config '" + dir_.string() + "': Is a directory");
  }
}

// ---- robustness ------------------------------------------------------------------------------

// Loading gives a config or a descent::Error with a rendered message; anything else (another
// exception type, a crash) fails the test.
void expect_config_or_error(const std::string& path, const std::vector<std::string>& overrides,
                            const std::string& what) {
  try {
    load_experiment(path, overrides);
  } catch (const Error& e) {
    EXPECT_FALSE(std::string(e.what()).empty()) << what;
    EXPECT_TRUE(e.code() == ExitCode::bad_input || e.code() == ExitCode::io_error) << what;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": " << e.what();
  }
}

TEST_F(ConfigLoadTest, TruncatedAndMutatedConfigsNeverCrash) {
  // A new file for each try: rewriting one file in place makes ext4 flush it on every close.
  int tries = 0;
  auto check = [&](const std::string& content, const std::vector<std::string>& overrides,
                   const std::string& what) {
    const std::string path = write("try" + std::to_string(++tries) + ".toml", content);
    expect_config_or_error(path, overrides, what);
    fs::remove(path);
  };
  for (const std::string& full : {kLogistic, kRosenbrock}) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      check(full.substr(0, n), {}, "prefix of " + std::to_string(n) + " bytes");
    }
    // Single-byte mutations at deterministic pseudo-random places.
    const std::string replacements = "\"'[]{}=,.#\n x1-+e\\\t\x01\xc3";
    std::uint64_t state = 12345;
    for (int i = 0; i < 600; ++i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::size_t at = static_cast<std::size_t>(state >> 33) % full.size();
      std::string mutated = full;
      mutated[at] = replacements[static_cast<std::size_t>(state >> 20) % replacements.size()];
      check(mutated, {}, "mutation at byte " + std::to_string(at));
    }
  }
  for (const char* bad : {"",
                          "=",
                          ".",
                          "a.=1",
                          "a..b=1",
                          " . =1",
                          "train.lr=\"",
                          "train.lr=[1,",
                          "x.y.z.w=1",
                          "params.=1",
                          "params.w.shape.x=1",
                          "train.early_stopping.patience.x=1",
                          "train=3",
                          "train.lr=0.1\ntrain.lr=0.2",
                          "train.lr = 0.1 # comment",
                          "data.inputs={}",
                          "params.w={}",
                          "cost.penalty=[]",
                          "train.batch_size=full",
                          "\xc3.x=1"}) {
    check(kFit, {bad}, std::string("--set ") + bad);
  }
}

// ---- large configs -----------------------------------------------------------------------

// A complexity guard, not a benchmark: mapping each key and expression to its position used to
// rescan the file from its start, so 40,000 model entries took about half a minute; a linear
// loader takes a fraction of a second. The bound is far above the linear time (even under
// sanitizers) and far below the quadratic one.
TEST_F(ConfigLoadTest, LoadsFortyThousandModelEntriesInLinearTime) {
  constexpr int kEntries = 40000;
  std::string text = "[params]\nw = 0.5\n[model]\nm0 = \"w\"\n";
  for (int i = 1; i < kEntries; ++i)
    text += "m" + std::to_string(i) + " = \"m" + std::to_string(i - 1) + " + 1\"\n";
  text += "[cost]\nloss = \"m" + std::to_string(kEntries - 1) + "^2\"\n";
  const auto started = std::chrono::steady_clock::now();
  const ExperimentConfig config = load(text);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(config.model.size(), static_cast<std::size_t>(kEntries));
  // Positions are still exact: the last entry's expression starts on its line, after `= "`.
  const NamedExpression& last = config.model.back();
  EXPECT_EQ(last.text.source->first_line, 3 + kEntries);
  EXPECT_EQ(last.text.source->first_col, static_cast<int>(last.name.size()) + 5);
  EXPECT_LT(seconds, 10.0) << "loading is no longer linear in the config's size";
}

// Complexity guards like the one above: each column of a list was compared with every earlier
// one (200,000 columns: 37 s), and each name in data.classes looked up by a scan of the inputs
// (200,000 inputs: 100 s). Linear, they take about 1 s here and 4 s under ASan.
TEST_F(ConfigLoadTest, LoadsAListOfTwoHundredThousandColumnsInLinearTime) {
  constexpr int kColumns = 200000;
  std::string columns;
  for (int i = 0; i < kColumns; ++i) columns += (i ? ", \"c" : "\"c") + std::to_string(i) + "\"";
  const auto started = std::chrono::steady_clock::now();
  const ExperimentConfig config =
      load("[data]\nfile = \"d.csv\"\ninputs = { x = [" + columns +
           "], y = \"y\" }\n[params]\nw = 1.0\n[cost]\nloss = \"w*y\"\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(config.data.inputs.size(), 2u);
  EXPECT_EQ(config.data.inputs[0].columns.size(), static_cast<std::size_t>(kColumns));
  EXPECT_LT(seconds, 15.0);
  // A repeated column is still found, at the repetition.
  EXPECT_NE(error_of("[data]\nfile = \"d.csv\"\ninputs = { x = [" + columns +
                     ", \"c7\"], y = \"y\" }\n[params]\nw = 1.0\n[cost]\nloss = \"w*y\"\n")
                .find("error: data.inputs.x lists the column 'c7' twice"),
            std::string::npos);
}

TEST_F(ConfigLoadTest, MarksAHundredThousandClassInputsInLinearTime) {
  constexpr int kInputs = 100000;
  std::string inputs, classes;
  for (int i = 0; i < kInputs; ++i) {
    const std::string n = std::to_string(i);
    inputs += (i ? ", i" : "i") + n + " = \"c" + n + "\"";
    classes += (i ? ", \"i" : "\"i") + n + "\"";
  }
  const auto started = std::chrono::steady_clock::now();
  const ExperimentConfig config =
      load("[data]\nfile = \"d.csv\"\ninputs = { " + inputs + " }\nclasses = [" + classes +
           "]\n[params]\nw = 1.0\n[cost]\nloss = \"w*i0\"\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(config.data.inputs.size(), static_cast<std::size_t>(kInputs));
  EXPECT_TRUE(config.data.inputs.back().classes);
  EXPECT_LT(seconds, 15.0);
}

// ---- malformed configs: the exact diagnostic of each ---------------------------------------

struct Malformed {
  const char* name;
  std::string config;
  std::vector<std::string> overrides;
  std::string expected;  // the rendered error, the config's path shown as "cfg.toml"
};

std::ostream& operator<<(std::ostream& out, const Malformed& m) { return out << m.name; }

class ConfigErrorTest : public ::testing::TestWithParam<Malformed>, protected ConfigTestBase {
 protected:
  void SetUp() override { make_dir(); }
  void TearDown() override { remove_dir(); }
};

TEST_P(ConfigErrorTest, RendersTheExactDiagnostic) {
  const Malformed& m = GetParam();
  EXPECT_EQ(error_of(m.config, m.overrides), m.expected) << "config:\n" << m.config;
}

const Malformed kMalformed[] = {
    // --- unknown sections and keys
    {"unknown_section",
     kMinimize + "[trian]\nlr = 0.1\n",
     {},
     "cfg.toml:5:2: error: unknown section [trian]; did you mean [train]?\n"
     "  [trian]\n"
     "   ^~~~~"},
    {"unknown_section_without_suggestion",
     kMinimize + "[logging]\nsvg = true\n",
     {},
     "cfg.toml:5:2: error: unknown section [logging]\n"
     "  [logging]\n"
     "   ^~~~~~~\n"
     "note: the sections are [experiment], [data], [params], [constants], [model], [cost], "
     "[metrics] and "
     "[train]"},
    {"key_outside_any_section",
     "lr = 0.1\n" + kMinimize,
     {},
     "cfg.toml:1:1: error: the key 'lr' is outside any section; it belongs in [train]\n"
     "  lr = 0.1\n"
     "  ^~"},
    {"unknown_key_in_train",
     kMinimize + "[train]\nlerning_rate = 0.1\n",
     {},
     "cfg.toml:6:1: error: unknown key 'lerning_rate' in [train]; did you mean 'lr'?\n"
     "  lerning_rate = 0.1\n"
     "  ^~~~~~~~~~~~"},
    {"unknown_key_in_data_table",
     R"toml([data]
file = "d.csv"
inputs = { x = "a" }
validaton = 0.2
[params]
w = 1
[cost]
loss = "w*x"
)toml",
     {},
     "cfg.toml:4:1: error: unknown key 'validaton' in [data]; did you mean 'validation'?\n"
     "  validaton = 0.2\n"
     "  ^~~~~~~~~"},
    {"unknown_key_in_param_table",
     "[params]\nw = { shape = [2], sdt = 0.1 }\n[cost]\nloss = \"sum(w)\"\n",
     {},
     "cfg.toml:2:20: error: unknown key 'sdt' in params.w; did you mean 'std'?\n"
     "  w = { shape = [2], sdt = 0.1 }\n"
     "                     ^~~"},
    {"unknown_key_in_cost",
     "[params]\nx = 1\n[cost]\nloss = \"x^2\"\npenalties = \"x\"\n",
     {},
     "cfg.toml:5:1: error: unknown key 'penalties' in [cost]; did you mean 'penalty'?\n"
     "  penalties = \"x\"\n"
     "  ^~~~~~~~~"},
    {"unknown_key_in_early_stopping",
     kFit + "[train]\nearly_stopping = { patiense = 3 }\n",
     {},
     "cfg.toml:12:20: error: unknown key 'patiense' in train.early_stopping; did you mean "
     "'patience'?\n"
     "  early_stopping = { patiense = 3 }\n"
     "                     ^~~~~~~~"},
    {"unknown_key_without_suggestion",
     "[experiment]\ntitle = \"t\"\n" + kMinimize,
     {},
     "cfg.toml:2:1: error: unknown key 'title' in [experiment]\n"
     "  title = \"t\"\n"
     "  ^~~~~\n"
     "note: valid keys in [experiment]: name"},
    // --- wrong types
    {"string_for_number",
     kMinimize + "[train]\nlr = \"0.1\"\n",
     {},
     "cfg.toml:6:6: error: expected a number for train.lr, found a string\n"
     "  lr = \"0.1\"\n"
     "       ^~~~~"},
    {"number_for_string",
     kMinimize + "[train]\noptimizer = 3\n",
     {},
     "cfg.toml:6:13: error: expected a string for train.optimizer, found an integer\n"
     "  optimizer = 3\n"
     "              ^"},
    {"table_for_array",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"a\", y = \"b\" }\nclasses = { y = 1 "
     "}\n[params]\nw = 1\n[cost]\nloss = \"w*x - y\"\n",
     {},
     "cfg.toml:4:11: error: expected an array for data.classes, found a table\n"
     "  classes = { y = 1 }\n"
     "            ^~~~~~~~~"},
    {"float_for_integer",
     kFit + "[train]\nepochs = 10.5\n",
     {},
     "cfg.toml:12:10: error: expected an integer for train.epochs, found a floating-point number\n"
     "  epochs = 10.5\n"
     "           ^~~~"},
    {"section_not_a_table",
     "train = 3\n" + kMinimize,
     {},
     "cfg.toml:1:9: error: expected a table for [train], found an integer\n"
     "  train = 3\n"
     "          ^"},
    {"non_finite_number",
     kMinimize + "[train]\nlr = nan\n",
     {},
     "cfg.toml:6:6: error: train.lr = nan but it must be a finite number\n"
     "  lr = nan\n"
     "       ^~~"},
    {"batch_size_bad_string",
     kFit + "[train]\nbatch_size = \"half\"\n",
     {},
     "cfg.toml:12:14: error: train.batch_size = \"half\" but it must be an integer >= 0 or "
     "\"full\"\n"
     "  batch_size = \"half\"\n"
     "               ^~~~~~"},
    {"position_after_non_ascii",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"\xc3\xa9\", y = 1 }\n[params]\nw = 1\n"
     "[cost]\nloss = \"w\"\n",
     {},
     // Columns count bytes (as everywhere in descent); toml++ counts code points.
     "cfg.toml:3:26: error: expected a column name or an array of column names for "
     "data.inputs.y, found an integer\n"
     "  inputs = { x = \"\xC3\xA9\", y = 1 }\n"
     "                           ^"},
    // --- TOML syntax
    {"unterminated_string",
     "[params]\nx = 1\n[cost]\nloss = \"x^2\n",
     {},
     "cfg.toml:4:12: error: Error while parsing string: unescaped control characters other than "
     "TAB (U+0009) are explicitly prohibited\n"
     "  loss = \"x^2\n"
     "             ^\n"
     "note: the string is not closed on the line where it starts (strings over several lines use "
     "\"\"\")"},
    {"duplicate_key",
     "[params]\nx = 1\nx = 2\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:3:5: error: Error while parsing key-value pair: cannot redefine existing integer "
     "'x'\n"
     "  x = 2\n"
     "      ^"},
    {"bad_table_header",
     "[params\nx = 1\n",
     {},
     "cfg.toml:1:8: error: Error while parsing table header: expected ']', saw '\\n'\n"
     "  [params\n"
     "         ^"},
    {"dangling_comma",
     "[params]\nw = { shape = [2], }\n",
     {},
     "cfg.toml:2:20: error: Error while parsing inline table: expected key-value pair, saw closing "
     "'}' (dangling comma)\n"
     "  w = { shape = [2], }\n"
     "                     ^"},
    // --- out of range
    {"negative_epochs",
     kFit + "[train]\nepochs = -3\n",
     {},
     "cfg.toml:12:10: error: train.epochs = -3 but it must be >= 1\n"
     "  epochs = -3\n"
     "           ^~"},
    {"validation_one",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"a\" }\nvalidation = 1.0\n[params]\nw = "
     "1\n[cost]\nloss = \"w*x\"\n",
     {},
     "cfg.toml:4:14: error: data.validation = 1 but it must be in [0, 1)\n"
     "  validation = 1.0\n"
     "               ^~~"},
    {"negative_batch_size",
     kFit + "[train]\nbatch_size = -1\n",
     {},
     "cfg.toml:12:14: error: train.batch_size = -1 but it must be >= 0\n"
     "  batch_size = -1\n"
     "               ^~"},
    {"zero_starts",
     kMinimize + "[train]\nstarts = 0\n",
     {},
     "cfg.toml:6:10: error: train.starts = 0 but it must be >= 1\n"
     "  starts = 0\n"
     "           ^"},
    // --- size limits (config/limits.hpp): counts that would overflow or never fit
    {"shape_size_over_the_limit",
     "[params]\nw = { shape = [4294967296, 4294967296] }\n[cost]\nloss = \"sum(w)\"\n",
     {},
     "cfg.toml:2:16: error: params.w.shape[0] = 4294967296 but it must be at most 2147483648 "
     "(2^31)\n"
     "  w = { shape = [4294967296, 4294967296] }\n"
     "                 ^~~~~~~~~~"},
    {"shape_elements_over_the_limit",
     "[params]\nw = { shape = [100000, 100000] }\n[cost]\nloss = \"sum(w)\"\n",
     {},
     "cfg.toml:2:15: error: params.w.shape = [100000, 100000] has more elements than a parameter "
     "may hold (at most 2147483648 (2^31))\n"
     "  w = { shape = [100000, 100000] }\n"
     "                ^~~~~~~~~~~~~~~~"},
    {"starts_over_the_limit",
     kMinimize + "[train]\nstarts = 4000000000\n",
     {},
     "cfg.toml:6:10: error: train.starts = 4000000000 but it must be at most 16777216 (2^24)\n"
     "  starts = 4000000000\n"
     "           ^~~~~~~~~~"},
    {"starts_times_parameter_over_the_limit",
     "[params]\nw = { shape = [1000, 1000] }\n[cost]\nloss = \"sum(w)\"\n[train]\nstarts = "
     "4096\n",
     {},
     "cfg.toml:6:10: error: train.starts = 4096 copies of the parameter 'w' (1000000 elements "
     "each) make more elements than a parameter may hold (at most 2147483648 (2^31))\n"
     "  starts = 4096\n"
     "           ^~~~"},
    {"parameters_together_over_the_limit",
     "[params]\nw = { shape = [40000, 40000] }\nv = { shape = [40000, 40000] }\n[cost]\nloss = "
     "\"sum(w) + sum(v)\"\n",
     {},
     "cfg.toml:3:5: error: with the parameter 'v' the parameters hold more than 2147483648 (2^31) "
     "elements in all\n"
     "  v = { shape = [40000, 40000] }\n"
     "      ^~~~~~~~~~~~~~~~~~~~~~~~~~"},
    {"epochs_over_the_limit",
     kFit + "[train]\nepochs = 4611686018427387904\nbatch_size = 1\n",
     {},
     "cfg.toml:12:10: error: train.epochs = 4611686018427387904 but it must be at most 2147483648 "
     "(2^31)\n"
     "  epochs = 4611686018427387904\n"
     "           ^~~~~~~~~~~~~~~~~~~"},
    {"steps_over_the_limit",
     kMinimize + "[train]\nsteps = 1099511627777\n",
     {},
     "cfg.toml:6:9: error: train.steps = 1099511627777 but it must be at most 1099511627776 "
     "(2^40)\n"
     "  steps = 1099511627777\n"
     "          ^~~~~~~~~~~~~"},
    {"epochs_over_the_limit_by_set",
     kFit,
     {"train.epochs=9223372036854775807"},
     "--set:1:14: error: train.epochs = 9223372036854775807 but it must be at most 2147483648 "
     "(2^31)\n"
     "  train.epochs=9223372036854775807\n"
     "               ^~~~~~~~~~~~~~~~~~~"},
    {"negative_lr",
     kMinimize + "[train]\noptimizer = \"adam\"\nlr = -0.1\n",
     {},
     "cfg.toml:7:6: error: optimizer adam: lr = -0.1 but it must be a finite number > 0\n"
     "  lr = -0.1\n"
     "       ^~~~"},
    {"min_lr_above_lr",
     kMinimize + "[train]\nschedule = \"cosine\"\nmin_lr = 0.5\nlr = 0.1\nwarmup_steps = 3\n",
     {},
     "cfg.toml:7:10: error: schedule cosine: min_lr = 0.5 but it must be in [0, lr = 0.1]\n"
     "  min_lr = 0.5\n"
     "           ^~~"},
    {"uniform_low_not_below_high",
     "[params]\nx = { init = \"uniform\", low = 5, high = -5 }\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:2:41: error: params.x: low = 5 but it must be below high = -5\n"
     "  x = { init = \"uniform\", low = 5, high = -5 }\n"
     "                                          ^~"},
    {"init_setting_length_does_not_match_the_shape",
     "[params]\nx = { shape = [2], init = \"uniform\", low = [-1, -2, -3], high = 1 }\n"
     "[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:44: error: params.x.low has 3 numbers, but params.x has shape (2)\n"
     "  x = { shape = [2], init = \"uniform\", low = [-1, -2, -3], high = 1 }\n"
     "                                             ^~~~~~~~~~~~\n"
     "note: write one number for every element, shaped like the parameter, or one number for "
     "all"},
    {"init_setting_array_on_a_scalar",
     "[params]\nx = { init = \"normal\", std = [1, 2] }\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:2:30: error: params.x.std is an array, but params.x is a scalar\n"
     "  x = { init = \"normal\", std = [1, 2] }\n"
     "                               ^~~~~~\n"
     "note: a scalar parameter takes one number"},
    {"init_setting_matrix_rows_do_not_match",
     "[params]\nM = { shape = [2, 2], init = \"normal\", mean = [0, 1, 2, 3] }\n"
     "[cost]\nloss = \"sum(M)\"\n",
     {},
     "cfg.toml:2:47: error: params.M.mean has 4 rows, but params.M has shape (2, 2)\n"
     "  M = { shape = [2, 2], init = \"normal\", mean = [0, 1, 2, 3] }\n"
     "                                                ^~~~~~~~~~~~\n"
     "note: write one number for every element, shaped like the parameter, or one number for "
     "all"},
    {"init_setting_matrix_row_too_short",
     "[params]\nM = { shape = [2, 2], init = \"normal\", mean = [[0, 1], [2]] }\n"
     "[cost]\nloss = \"sum(M)\"\n",
     {},
     "cfg.toml:2:56: error: params.M.mean[1] has 1 number, but params.M has shape (2, 2)\n"
     "  M = { shape = [2, 2], init = \"normal\", mean = [[0, 1], [2]] }\n"
     "                                                         ^~~"},
    {"uniform_low_not_below_high_per_element",
     "[params]\nx = { shape = [2], init = \"uniform\", low = [-1, 5], high = [1, 4] }\n"
     "[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:64: error: params.x.low[1] = 5 but it must be below params.x.high[1] = 4\n"
     "  x = { shape = [2], init = \"uniform\", low = [-1, 5], high = [1, 4] }\n"
     "                                                                 ^"},
    {"normal_std_zero_per_element",
     "[params]\nx = { shape = [2], init = \"normal\", std = [1, 0] }\n[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:47: error: params.x.std[1] = 0 but it must be > 0\n"
     "  x = { shape = [2], init = \"normal\", std = [1, 0] }\n"
     "                                                ^"},
    {"init_setting_of_the_wrong_type",
     "[params]\nx = { shape = [2], init = \"uniform\", low = \"a\" }\n[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:44: error: expected a number or an array of numbers for params.x.low, found a "
     "string\n"
     "  x = { shape = [2], init = \"uniform\", low = \"a\" }\n"
     "                                             ^~~"},
    {"init_setting_element_of_the_wrong_type",
     "[params]\nx = { shape = [2], init = \"constant\", value = [1, \"a\"] }\n"
     "[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:51: error: expected a number for params.x.value[1], found a string\n"
     "  x = { shape = [2], init = \"constant\", value = [1, \"a\"] }\n"
     "                                                    ^~~"},
    {"best_is_reserved_in_minimize_mode",
     "[params]\nbest = 1.0\n[cost]\nloss = \"best^2\"\n",
     {},
     "cfg.toml:2:8: error: the parameter name 'best' is reserved in minimize mode: params.json "
     "keeps the best start under that key\n"
     "  best = 1.0\n"
     "         ^~~"},
    {"normal_std_zero",
     "[params]\nx = { init = \"normal\", std = 0 }\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:2:30: error: params.x.std = 0 but it must be > 0\n"
     "  x = { init = \"normal\", std = 0 }\n"
     "                               ^"},
    {"shape_with_three_axes",
     "[params]\nx = { shape = [2, 3, 4] }\n[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:15: error: params.x.shape has 3 sizes, but a parameter has at most 2 axes\n"
     "  x = { shape = [2, 3, 4] }\n"
     "                ^~~~~~~~~"},
    {"shape_size_zero",
     "[params]\nx = { shape = [0] }\n[cost]\nloss = \"sum(x)\"\n",
     {},
     "cfg.toml:2:16: error: params.x.shape[0] = 0 but it must be >= 1\n"
     "  x = { shape = [0] }\n"
     "                 ^"},
    // --- mode rules
    {"epochs_and_steps",
     kFit + "[train]\nepochs = 3\nsteps = 100\n",
     {},
     "cfg.toml:13:1: error: train.epochs and train.steps are alternatives; give one of them\n"
     "  steps = 100\n"
     "  ^~~~~"},
    {"starts_in_fit_mode",
     kFit + "[train]\nstarts = 4\n",
     {},
     "cfg.toml:12:1: error: 'starts' applies only to minimize mode, but this config has a [data] "
     "section (fit mode)\n"
     "  starts = 4\n"
     "  ^~~~~~"},
    {"epochs_in_minimize_mode",
     kMinimize + "[train]\nepochs = 4\n",
     {},
     "cfg.toml:6:1: error: 'epochs' needs a data set, but this config has no [data] section "
     "(minimize mode)\n"
     "  epochs = 4\n"
     "  ^~~~~~\n"
     "note: in minimize mode the run's length is steps = N"},
    {"early_stopping_without_validation",
     kFit + "[train]\nearly_stopping = { patience = 5 }\n",
     {},
     "cfg.toml:12:18: error: early stopping watches the validation loss, but data.validation = 0 "
     "holds no rows out\n"
     "  early_stopping = { patience = 5 }\n"
     "                   ^~~~~~~~~~~~~~~~\n"
     "note: set data.validation to the fraction of rows to hold out, e.g. 0.2"},
    // --- cost, model, params
    {"missing_loss",
     "[params]\nx = 1\n[cost]\npenalty = \"x\"\n",
     {},
     "cfg.toml:3:1: error: [cost] needs loss = \"<expression>\"\n"
     "  [cost]\n"
     "  ^~~~~~"},
    {"missing_cost",
     "[params]\nx = 1\n",
     {},
     "cfg.toml:1:1: error: the config has no [cost] section; add one with loss = \"<expression>\"\n"
     "  [params]\n"
     "  ^"},
    {"loss_not_a_string",
     "[params]\nx = 1\n[cost]\nloss = 3\n",
     {},
     "cfg.toml:4:8: error: expected a string (an expression) for cost.loss, found an integer\n"
     "  loss = 3\n"
     "         ^"},
    {"empty_expression",
     "[params]\nx = 1\n[cost]\nloss = \"  \"\n",
     {},
     "cfg.toml:4:8: error: cost.loss is an empty expression\n"
     "  loss = \"  \"\n"
     "         ^~~~"},
    {"missing_params",
     "[cost]\nloss = \"1\"\n",
     {},
     "cfg.toml:1:1: error: the config has no [params] section; declare the parameters to train, "
     "e.g. w = { shape = [3] }\n"
     "  [cost]\n"
     "  ^"},
    {"non_rectangular_matrix",
     "[params]\nM = [[1, 2], [3]]\n[cost]\nloss = \"sum(M)\"\n",
     {},
     "cfg.toml:2:14: error: params.M[1] has 1 number but params.M[0] has 2: a matrix must be "
     "rectangular\n"
     "  M = [[1, 2], [3]]\n"
     "               ^~~"},
    {"literal_of_strings",
     "[params]\nv = [1, \"2\"]\n[cost]\nloss = \"sum(v)\"\n",
     {},
     "cfg.toml:2:9: error: expected a number for params.v[1], found a string\n"
     "  v = [1, \"2\"]\n"
     "          ^~~"},
    // --- names
    {"param_collides_with_input",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"a\" }\n[params]\nx = 1\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:5:1: error: the parameter 'x' has the same name as an input\n"
     "  x = 1\n"
     "  ^\n"
     "note: the input 'x' is declared at cfg.toml:3:12"},
    {"model_named_like_a_function",
     kMinimize + "[model]\nexp = \"x + 1\"\n",
     {},
     "cfg.toml:6:1: error: the model expression 'exp' has the name of a function of the expression "
     "language; choose another name\n"
     "  exp = \"x + 1\"\n"
     "  ^~~"},
    {"reserved_batch_size",
     "[params]\nbatch_size = 1\n[cost]\nloss = \"batch_size\"\n",
     {},
     "cfg.toml:2:1: error: 'batch_size' is a reserved name (the number of samples in a batch); "
     "choose another name for the parameter\n"
     "  batch_size = 1\n"
     "  ^~~~~~~~~~"},
    {"bad_identifier",
     "[params]\n\"2x\" = 1\n[cost]\nloss = \"x\"\n",
     {},
     "cfg.toml:2:1: error: '2x' is not a valid name for a parameter: a name starts with a letter "
     "or '_' and goes on with letters, digits or '_'\n"
     "  \"2x\" = 1\n"
     "  ^~~~"},
    {"model_collides_with_param",
     kMinimize + "[model]\nx = \"1\"\n",
     {},
     "cfg.toml:6:1: error: the model expression 'x' has the same name as a parameter\n"
     "  x = \"1\"\n"
     "  ^\n"
     "note: the parameter 'x' is declared at cfg.toml:2:1"},
    {"classes_names_unknown_input",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"a\", y = \"b\" }\nclasses = [\"yy\"]\n[params]\nw "
     "= 1\n[cost]\nloss = \"w*x - y\"\n",
     {},
     "cfg.toml:4:12: error: data.classes names 'yy', which is not an input; did you mean 'y'?\n"
     "  classes = [\"yy\"]\n"
     "             ^~~~\n"
     "note: the inputs are: x, y"},
    {"file_without_inputs",
     "[data]\nfile = \"d.csv\"\n[params]\nw = 1\n[cost]\nloss = \"w\"\n",
     {},
     "cfg.toml:2:1: error: [data] has a file but no inputs; name them, e.g. inputs = { x = "
     "\"x1..x8\", y = \"label\" }\n"
     "  file = \"d.csv\"\n"
     "  ^~~~"},
    // --- kinds and the settings they take
    {"unknown_optimizer",
     kMinimize + "[train]\noptimizer = \"adamm\"\n",
     {},
     "cfg.toml:6:13: error: unknown optimizer 'adamm'; did you mean 'adam'?\n"
     "  optimizer = \"adamm\"\n"
     "              ^~~~~~~\n"
     "note: valid optimizers: sgd, momentum, nesterov, adam, adamw, rmsprop"},
    {"unknown_schedule",
     kMinimize + "[train]\nschedule = \"cosin\"\n",
     {},
     "cfg.toml:6:12: error: unknown schedule 'cosin'; did you mean 'cosine'?\n"
     "  schedule = \"cosin\"\n"
     "             ^~~~~~~\n"
     "note: valid schedules: constant, step, exponential, cosine"},
    {"unknown_init_kind",
     "[params]\nw = { init = \"nromal\" }\n[cost]\nloss = \"w\"\n",
     {},
     "cfg.toml:2:14: error: unknown init kind 'nromal'; did you mean 'normal'?\n"
     "  w = { init = \"nromal\" }\n"
     "               ^~~~~~~~\n"
     "note: valid init kinds: zeros, constant, uniform, normal, xavier, he"},
    {"init_setting_not_applicable",
     "[params]\nw = { init = \"zeros\", std = 0.1 }\n[cost]\nloss = \"w\"\n",
     {},
     "cfg.toml:2:23: error: 'std' does not apply to init = \"zeros\"\n"
     "  w = { init = \"zeros\", std = 0.1 }\n"
     "                        ^~~\n"
     "note: init = \"zeros\" takes no settings"},
    {"constant_without_value",
     "[params]\nw = { init = \"constant\" }\n[cost]\nloss = \"w\"\n",
     {},
     "cfg.toml:2:14: error: init = \"constant\" needs value = <number>\n"
     "  w = { init = \"constant\" }\n"
     "               ^~~~~~~~~~"},
    {"optimizer_setting_not_applicable",
     kMinimize + "[train]\nbeta1 = 0.9\n",
     {},
     "cfg.toml:6:1: error: 'beta1' does not apply to optimizer = \"sgd\" (the default)\n"
     "  beta1 = 0.9\n"
     "  ^~~~~\n"
     "note: optimizer = \"sgd\" takes lr, weight_decay"},
    {"schedule_setting_not_applicable",
     kMinimize + "[train]\nschedule = \"cosine\"\ngamma = 0.5\n",
     {},
     "cfg.toml:7:1: error: 'gamma' does not apply to schedule = \"cosine\"\n"
     "  gamma = 0.5\n"
     "  ^~~~~\n"
     "note: schedule = \"cosine\" takes min_lr, warmup_steps, warmup_start"},
    // --- malformed --set
    {"set_without_equals",
     kMinimize,
     {"train.lr"},
     "--set:1:1: error: malformed --set 'train.lr': expected SECTION.KEY=VALUE, e.g. train.lr=0.1\n"
     "  train.lr\n"
     "  ^~~~~~~~"},
    {"set_without_key",
     kMinimize,
     {"=3"},
     "--set:1:1: error: malformed --set '=3': the key before '=' is missing\n"
     "  =3\n"
     "  ^"},
    {"set_without_section",
     kMinimize,
     {"lr=0.1"},
     "--set:1:1: error: malformed --set 'lr=0.1': expected SECTION.KEY=VALUE, e.g. train.lr=0.1\n"
     "  lr=0.1\n"
     "  ^~"},
    {"set_without_value",
     kMinimize,
     {"train.lr="},
     "--set:1:9: error: malformed --set 'train.lr=': the value after '=' is missing\n"
     "  train.lr=\n"
     "          ^"},
    {"set_bad_key",
     kMinimize,
     {"train.l r=1"},
     "--set:1:7: error: malformed --set 'train.l r=1': 'l r' is not a key (keys are letters, "
     "digits, '_' and '-')\n"
     "  train.l r=1\n"
     "        ^~~"},
    {"set_unknown_section",
     kMinimize,
     {"nosuchsection.x=1"},
     "--set:1:1: error: unknown section [nosuchsection]\n"
     "  nosuchsection.x=1\n"
     "  ^~~~~~~~~~~~~\n"
     "note: the sections are [experiment], [data], [params], [constants], [model], [cost], "
     "[metrics] and "
     "[train]"},
    {"set_unknown_key",
     kMinimize,
     {"train.lerning_rate=0.1"},
     "--set:1:7: error: unknown key 'lerning_rate' in [train]; did you mean 'lr'?\n"
     "  train.lerning_rate=0.1\n"
     "        ^~~~~~~~~~~~"},
    {"set_wrong_type",
     kMinimize,
     {"train.steps=ten"},
     "--set:1:13: error: expected an integer for train.steps, found a string\n"
     "  train.steps=ten\n"
     "              ^~~"},
    {"set_through_a_value",
     kMinimize + "[train]\nlr = 0.1\n",
     {"train.lr.x=1"},
     "--set:1:7: error: cannot apply --set 'train.lr.x=1': train.lr is a floating-point number, "
     "not a table\n"
     "  train.lr.x=1\n"
     "        ^~"},
};

INSTANTIATE_TEST_SUITE_P(ConfigLoad, ConfigErrorTest, ::testing::ValuesIn(kMalformed),
                         [](const ::testing::TestParamInfo<Malformed>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace descent
