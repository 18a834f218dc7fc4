// Covers host/config's [constants] (load_constants.cpp) and parameter bounds (load_bounds.cpp),
// and their lines in the resolved config (resolved.cpp): every spelling read back field by
// field, the round trip through config.resolved.toml, and the exact diagnostic (file:line:col,
// message, caret excerpt, note) of each malformed constant or bounds value.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/experiment.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

constexpr double kInf = std::numeric_limits<double>::infinity();

class ConstantsBoundsConfig : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) const {
    const std::string path = (dir_.path() / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  ExperimentConfig load(const std::string& content) const {
    return load_experiment(write("cfg.toml", content));
  }
  // The rendered error, the temporary path shown as "cfg.toml"; it must be bad input (exit 2).
  std::string error_of(const std::string& content) const {
    const std::string path = write("cfg.toml", content);
    try {
      load_experiment(path);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      std::string rendered = e.render();
      for (std::size_t at; (at = rendered.find(path)) != std::string::npos;)
        rendered.replace(at, path.size(), "cfg.toml");
      return rendered;
    }
    ADD_FAILURE() << "no error for:\n" << content;
    return {};
  }

  test::TempDir dir_{
      "descent_constants_bounds"};  // test_support.hpp: removed with everything in it
};

const std::string kConstants = R"toml([params]
w = { shape = [2] }
[constants]
lambda = 0.01
count = 3
v = [1.5, -2]
M = [[1, 2], [3, 4], [5, 6]]
shift = { file = "data/shift.npy" }
table = { file = "t.CSV" }
[cost]
loss = "lambda*sum(w^2)"
)toml";

TEST_F(ConstantsBoundsConfig, ReadsEveryKindOfConstant) {
  const ExperimentConfig c = load(kConstants);
  ASSERT_EQ(c.constants.size(), 6u);
  EXPECT_EQ(c.constants[0].name, "lambda");
  EXPECT_TRUE(c.constants[0].shape.is_scalar());
  EXPECT_EQ(c.constants[0].values, std::vector<double>{0.01});
  EXPECT_EQ(c.constants[1].values, std::vector<double>{3.0});
  EXPECT_EQ(c.constants[2].shape, Shape::vector(2));
  EXPECT_EQ(c.constants[2].values, (std::vector<double>{1.5, -2.0}));
  EXPECT_EQ(c.constants[3].shape, Shape::matrix(3, 2));
  EXPECT_EQ(c.constants[3].values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
  // A file is named here and read later (host/data): its path is resolved, its values not yet.
  const ConstantSpec& shift = c.constants[4];
  EXPECT_TRUE(shift.from_file());
  EXPECT_FALSE(shift.file_read);
  EXPECT_TRUE(shift.values.empty());
  EXPECT_EQ(shift.file_as_written, "data/shift.npy");
  EXPECT_EQ(fs::path(shift.file), dir_.path() / "data" / "shift.npy");
  EXPECT_EQ(shift.where.start().line, 8);
  EXPECT_EQ(shift.where.start().col, 18);  // the file's name
  EXPECT_EQ(c.constants[5].file_as_written, "t.CSV");
  // Constants are no parameters.
  ASSERT_EQ(c.params.size(), 1u);
}

const std::string kBounds = R"toml([params]
a = { bounds = [0, 1], init = "constant", value = 0.5 }
b = { shape = [3], init = "normal", bounds = [-inf, 2.5] }
c = { shape = [2], init = "uniform", low = -1, high = 1, bounds = [[-1, 0], [inf, 1]] }
d = { shape = [2, 2], bounds = [-1, [[1, 2], [3, 4]]] }
e = { init = "zeros", bounds = [0, 0] }
f = { shape = [2] }
[cost]
loss = "a + sum(b) + sum(c) + sum(d) + e + sum(f)"
)toml";

TEST_F(ConstantsBoundsConfig, ReadsBoundsOfEverySpelling) {
  const ExperimentConfig c = load(kBounds);
  ASSERT_EQ(c.params.size(), 6u);
  const ParamSpec& a = c.params[0];
  EXPECT_TRUE(a.bounds.present);
  EXPECT_EQ(a.lower_bound(0), 0.0);
  EXPECT_EQ(a.upper_bound(0), 1.0);
  const ParamSpec& b = c.params[1];
  EXPECT_EQ(b.lower_bound(2), -kInf);
  EXPECT_EQ(b.upper_bound(2), 2.5);
  const ParamSpec& cc = c.params[2];
  EXPECT_EQ(cc.lower_bound(0), -1.0);
  EXPECT_EQ(cc.lower_bound(1), 0.0);
  EXPECT_EQ(cc.upper_bound(0), kInf);
  EXPECT_EQ(cc.upper_bound(1), 1.0);
  const ParamSpec& d = c.params[3];
  EXPECT_EQ(d.lower_bound(3), -1.0);
  EXPECT_EQ(d.bounds.each_high, (std::vector<double>{1, 2, 3, 4}));
  EXPECT_EQ(c.params[4].upper_bound(0), 0.0);  // low == high pins the parameter
  const ParamSpec& f = c.params[5];
  EXPECT_FALSE(f.bounds.present);
  EXPECT_EQ(f.lower_bound(1), -kInf);
  EXPECT_EQ(f.upper_bound(1), kInf);
}

TEST_F(ConstantsBoundsConfig, ResolvedConfigKeepsConstantsAndBounds) {
  // kBounds' parameters with kConstants' constants and cost.
  const ExperimentConfig first = load(kBounds.substr(0, kBounds.find("[cost]")) +
                                      kConstants.substr(kConstants.find("[constants]")));
  const std::string text = resolved_config_toml(first);
  EXPECT_NE(text.find("[constants]\nlambda = 0.01\ncount = 3.0\nv = [1.5, -2.0]\n"
                      "M = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]\n"
                      "shift = { file = \"data/shift.npy\" }\ntable = { file = \"t.CSV\" }\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("b = { shape = [3], init = \"normal\", mean = 0.0, std = 1.0, bounds = "
                      "[-inf, 2.5] }"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("bounds = [[-1.0, 0.0], [inf, 1.0]]"), std::string::npos) << text;
  EXPECT_NE(text.find("bounds = [-1.0, [[1.0, 2.0], [3.0, 4.0]]]"), std::string::npos) << text;
  const ExperimentConfig second = load_experiment(write("again.toml", text));
  EXPECT_EQ(resolved_config_toml(second), text);
  // Absolute paths (the run directory's copy): the constant's file too.
  const std::string absolute = resolved_config_toml(first, /*absolute_paths=*/true);
  EXPECT_NE(
      absolute.find("shift = { file = \"" + (dir_.path() / "data" / "shift.npy").string() + "\" }"),
      std::string::npos)
      << absolute;
}

TEST_F(ConstantsBoundsConfig, ConfigsWithoutEitherResolveAsBefore) {
  const std::string text =
      resolved_config_toml(load("[params]\nx = { init = \"zeros\" }\n"
                                "[cost]\nloss = \"x^2\"\n"));
  EXPECT_EQ(text.find("[constants]"), std::string::npos) << text;
  EXPECT_EQ(text.find("bounds"), std::string::npos) << text;
}

TEST_F(ConstantsBoundsConfig, OverridesSetConstantsAndBounds) {
  const ExperimentConfig c = load_experiment(
      write("cfg.toml", kConstants), {"constants.lambda=0.5", "constants.v=[[1, 2], [3, 4]]",
                                      "params.w.bounds=[-1, inf]", "constants.extra=2"});
  ASSERT_EQ(c.constants.size(), 7u);
  EXPECT_EQ(c.constants[0].values, std::vector<double>{0.5});
  EXPECT_EQ(c.constants[2].shape, Shape::matrix(2, 2));
  EXPECT_EQ(c.constants[6].name, "extra");  // added by the override, after the file's
  EXPECT_EQ(c.params[0].lower_bound(1), -1.0);
  EXPECT_EQ(c.params[0].upper_bound(1), kInf);
  // An override's error points into the override.
  try {
    load_experiment(write("cfg.toml", kConstants), {"constants.lambda=[1, [2]]"});
    ADD_FAILURE() << "a ragged override was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.span().where(), "--set:1:22");
    EXPECT_EQ(e.message(), "expected a number for constants.lambda[1], found an array");
  }
}

struct Malformed {
  const char* name;
  std::string config;
  std::string expected;  // the rendered error, the config's path shown as "cfg.toml"
};

std::ostream& operator<<(std::ostream& out, const Malformed& m) { return out << m.name; }

class ConstantsBoundsErrors : public ConstantsBoundsConfig,
                              public ::testing::WithParamInterface<Malformed> {};

TEST_P(ConstantsBoundsErrors, RendersTheExactDiagnostic) {
  EXPECT_EQ(error_of(GetParam().config), GetParam().expected) << GetParam().config;
}

const std::string kParams = "[params]\nx = 0.5\n";
const std::string kCost = "[cost]\nloss = \"x^2\"\n";

const Malformed kMalformed[] = {
    // --- constants
    {"constant_unknown_key",
     kParams + "[constants]\nc = { file = \"c.npy\", shape = [2] }\n" + kCost,
     "cfg.toml:4:23: error: unknown key 'shape' in constants.c\n"
     "  c = { file = \"c.npy\", shape = [2] }\n"
     "                        ^~~~~\n"
     "note: valid keys in constants.c: file"},
    {"constant_unknown_key_alias", kParams + "[constants]\nc = { path = \"c.npy\" }\n" + kCost,
     "cfg.toml:4:7: error: unknown key 'path' in constants.c; did you mean 'file'?\n"
     "  c = { path = \"c.npy\" }\n"
     "        ^~~~"},
    {"constant_clashes_with_param", kParams + "[constants]\nx = 2\n" + kCost,
     "cfg.toml:4:1: error: the constant 'x' has the same name as a parameter\n"
     "  x = 2\n"
     "  ^\n"
     "note: the parameter 'x' is declared at cfg.toml:2:1"},
    {"constant_clashes_with_input",
     "[data]\nfile = \"d.csv\"\ninputs = { x = \"a\" }\n[params]\nw = 1\n[constants]\nx = 2\n"
     "[cost]\nloss = \"w*x\"\n",
     "cfg.toml:7:1: error: the constant 'x' has the same name as an input\n"
     "  x = 2\n"
     "  ^\n"
     "note: the input 'x' is declared at cfg.toml:3:12"},
    {"model_clashes_with_constant",
     kParams + "[constants]\nc = 2\n[model]\nc = \"x + 1\"\n" + kCost,
     "cfg.toml:6:1: error: the model expression 'c' has the same name as a constant\n"
     "  c = \"x + 1\"\n"
     "  ^\n"
     "note: the constant 'c' is declared at cfg.toml:4:1"},
    {"constant_named_like_a_function", kParams + "[constants]\nexp = 2\n" + kCost,
     "cfg.toml:4:1: error: the constant 'exp' has the name of a function of the expression "
     "language; choose another name\n"
     "  exp = 2\n"
     "  ^~~"},
    {"constant_ragged_matrix", kParams + "[constants]\nM = [[1, 2], [3]]\n" + kCost,
     "cfg.toml:4:14: error: constants.M[1] has 1 number but constants.M[0] has 2: a matrix must "
     "be rectangular\n"
     "  M = [[1, 2], [3]]\n"
     "               ^~~"},
    {"constant_empty_array", kParams + "[constants]\nv = []\n" + kCost,
     "cfg.toml:4:5: error: constants.v is an empty array; a constant needs at least one number\n"
     "  v = []\n"
     "      ^~"},
    {"constant_string", kParams + "[constants]\nc = \"2\"\n" + kCost,
     "cfg.toml:4:5: error: expected a number, an array of numbers or a table { file = \"<path>\" "
     "} for constants.c, found a string\n"
     "  c = \"2\"\n"
     "      ^~~"},
    {"constant_element_not_a_number", kParams + "[constants]\nv = [1, true]\n" + kCost,
     "cfg.toml:4:9: error: expected a number for constants.v[1], found a boolean\n"
     "  v = [1, true]\n"
     "          ^~~~"},
    {"constant_not_finite", kParams + "[constants]\nc = nan\n" + kCost,
     "cfg.toml:4:5: error: constants.c = nan but it must be a finite number\n"
     "  c = nan\n"
     "      ^~~"},
    {"constant_table_without_file", kParams + "[constants]\nc = {}\n" + kCost,
     "cfg.toml:4:5: error: constants.c needs file = \"<path>\" (a .npy or .csv file)\n"
     "  c = {}\n"
     "      ^~\n"
     "note: a constant is a number, an array of numbers, or { file = \"<path>\" }"},
    {"constant_file_of_another_kind", kParams + "[constants]\nc = { file = \"c.txt\" }\n" + kCost,
     "cfg.toml:4:14: error: constants.c.file = \"c.txt\" but a constant's file must be a .npy or "
     "a .csv file\n"
     "  c = { file = \"c.txt\" }\n"
     "               ^~~~~~~"},
    // --- bounds
    {"bounds_low_above_high", "[params]\nx = { bounds = [2, 1] }\n" + kCost,
     "cfg.toml:2:17: error: params.x.bounds[0] = 2 is above params.x.bounds[1] = 1: the lower "
     "bound must not exceed the upper one\n"
     "  x = { bounds = [2, 1] }\n"
     "                  ^"},
    {"bounds_low_above_high_per_element",
     "[params]\nx = { shape = [3], bounds = [[0, 5, 0], 4] }\n" + kCost,
     "cfg.toml:2:34: error: params.x.bounds[0][1] = 5 is above params.x.bounds[1] = 4: the lower "
     "bound must not exceed the upper one\n"
     "  x = { shape = [3], bounds = [[0, 5, 0], 4] }\n"
     "                                   ^"},
    {"bounds_not_a_pair", "[params]\nx = { bounds = [0, 1, 2] }\n" + kCost,
     "cfg.toml:2:16: error: params.x.bounds has 3 entries, but it must be [low, high]\n"
     "  x = { bounds = [0, 1, 2] }\n"
     "                 ^~~~~~~~~\n"
     "note: write -inf or inf for a side without a bound"},
    {"bounds_not_an_array", "[params]\nx = { bounds = 1 }\n" + kCost,
     "cfg.toml:2:16: error: expected an array [low, high] for params.x.bounds, found an integer\n"
     "  x = { bounds = 1 }\n"
     "                 ^"},
    {"bounds_side_not_a_number", "[params]\nx = { bounds = [0, \"inf\"] }\n" + kCost,
     "cfg.toml:2:20: error: expected a number, -inf, inf or an array of numbers for "
     "params.x.bounds[1], found a string\n"
     "  x = { bounds = [0, \"inf\"] }\n"
     "                     ^~~~~"},
    {"bounds_nan", "[params]\nx = { bounds = [nan, 1] }\n" + kCost,
     "cfg.toml:2:17: error: params.x.bounds[0] = nan but a bound must be a number, -inf or inf\n"
     "  x = { bounds = [nan, 1] }\n"
     "                  ^~~"},
    {"bounds_per_element_wrong_length",
     "[params]\nx = { shape = [3], bounds = [[0, 0], 1] }\n" + kCost,
     "cfg.toml:2:30: error: params.x.bounds[0] has 2 numbers, but params.x has shape (3)\n"
     "  x = { shape = [3], bounds = [[0, 0], 1] }\n"
     "                               ^~~~~~\n"
     "note: write one number for every element, shaped like the parameter, or one number for "
     "all"},
    {"bounds_array_for_a_scalar", "[params]\nx = { bounds = [[0], 1] }\n" + kCost,
     "cfg.toml:2:17: error: params.x.bounds[0] is an array, but params.x is a scalar\n"
     "  x = { bounds = [[0], 1] }\n"
     "                  ^~~\n"
     "note: a scalar parameter takes one number"},
    {"bounds_lower_side_inf", "[params]\nx = { bounds = [inf, inf] }\n" + kCost,
     "cfg.toml:2:17: error: params.x.bounds[0] = inf but a lower bound must be below inf (write "
     "-inf for no lower bound)\n"
     "  x = { bounds = [inf, inf] }\n"
     "                  ^~~"},
    {"bounds_upper_side_minus_inf", "[params]\nx = { bounds = [-inf, -inf] }\n" + kCost,
     "cfg.toml:2:23: error: params.x.bounds[1] = -inf but an upper bound must be above -inf "
     "(write inf for no upper bound)\n"
     "  x = { bounds = [-inf, -inf] }\n"
     "                        ^~~~"},
    {"bounds_default_zeros_outside", "[params]\nx = { bounds = [1, 5] }\n" + kCost,
     "cfg.toml:2:17: error: params.x starts at 0 (init = \"zeros\", the default), below its lower "
     "bound params.x.bounds[0] = 1\n"
     "  x = { bounds = [1, 5] }\n"
     "                  ^\n"
     "note: start inside the box: a constant init with a value in it, or a random init (uniform, "
     "normal, xavier, he), whose draws are projected into the box"},
    {"bounds_zeros_outside_per_element",
     "[params]\nx = { shape = [2], init = \"zeros\", bounds = [-1, [1, -0.5]] }\n" + kCost,
     "cfg.toml:2:54: error: params.x[1] starts at 0 (init = \"zeros\"), above its upper bound "
     "params.x.bounds[1][1] = -0.5\n"
     "  x = { shape = [2], init = \"zeros\", bounds = [-1, [1, -0.5]] }\n"
     "                                                       ^~~~\n"
     "note: start inside the box: a constant init with a value in it, or a random init (uniform, "
     "normal, xavier, he), whose draws are projected into the box"},
    {"bounds_constant_outside",
     "[params]\nx = { init = \"constant\", value = 7, bounds = [0, 5] }\n" + kCost,
     "cfg.toml:2:34: error: params.x.value = 7 starts above its upper bound params.x.bounds[1] = "
     "5\n"
     "  x = { init = \"constant\", value = 7, bounds = [0, 5] }\n"
     "                                   ^\n"
     "note: start inside the box: a constant init with a value in it, or a random init (uniform, "
     "normal, xavier, he), whose draws are projected into the box"},
    {"bounds_constant_outside_per_element",
     "[params]\nx = { shape = [2], init = \"constant\", value = [1, -3], bounds = [-2, 2] }\n" +
         kCost,
     "cfg.toml:2:51: error: params.x.value[1] = -3 starts below its lower bound "
     "params.x.bounds[0] = -2\n"
     "  x = { shape = [2], init = \"constant\", value = [1, -3], bounds = [-2, 2] }\n"
     "                                                    ^~\n"
     "note: start inside the box: a constant init with a value in it, or a random init (uniform, "
     "normal, xavier, he), whose draws are projected into the box"},
    {"bounds_misspelled", "[params]\nx = { bound = [0, 1] }\n" + kCost,
     "cfg.toml:2:7: error: unknown key 'bound' in params.x; did you mean 'bounds'?\n"
     "  x = { bound = [0, 1] }\n"
     "        ^~~~~"},
};

INSTANTIATE_TEST_SUITE_P(Config, ConstantsBoundsErrors, ::testing::ValuesIn(kMalformed),
                         [](const ::testing::TestParamInfo<Malformed>& param_info) {
                           return std::string(param_info.param.name);
                         });

}  // namespace
}  // namespace descent
