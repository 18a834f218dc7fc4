// End-to-end tests of descent's error reporting (README "Exit codes"; host/config/load.cpp's
// rules; host/data/csv.cpp, host/data/npy.cpp, host/data/dataset.cpp, host/program/program.cpp,
// host/cli/train_command.cpp): malformed configs, malformed data files and bad command lines
// run through the real binary, `descent train CFG --out DIR`. For each case the test checks
//   - the exit code (2: bad input, 4: a file that cannot be read),
//   - the whole stderr, exactly: "path:line:col: error: message", the offending source line,
//     the caret line under the span, and any note (paths are the test's temporary folder),
//   - that nothing crashed and the run directory was never created (so no half-written file,
//     no *.tmp-* file anywhere in the case's folder).
// Every case starts from a small valid linear-regression experiment (checked to train, below)
// and breaks exactly one thing in it.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace descent::test {
namespace {

// ---------------------------------------------------------------------------------------------
// The valid experiment every case edits (line numbers matter: the messages name them).

// Lines 1-3.
const std::string kData = R"([data]
file = "d.csv"
inputs = { x = "x1..x3", y = "y" }
)";

// Lines 4-17 after kData (1-2 + 4-17 after kNpyData: shifted up by one).
const std::string kRest = R"(
[params]
w = { shape = [3], init = "zeros" }
b = { init = "zeros" }

[model]
prediction = "dot(w, x) + b"

[cost]
loss = "(prediction - y)^2"

[train]
lr = 0.1
steps = 3
)";

const std::string kNpyData = "[data]\nnpy = { x = \"X.npy\", y = \"y.npy\" }\n";

const std::string kGoodCsv = "x1,x2,x3,y\n1,2,3,4\n5,6,7,8\n9,10,11,12\n";

// `text` with its one occurrence of `from` replaced by `to` (a case that does not edit what
// it means to edit is a broken test, so a missing or repeated `from` throws).
std::string edit(const std::string& text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos)
    throw std::logic_error("edit: '" + from + "' does not occur exactly once");
  return text.substr(0, at) + to + text.substr(at + from.size());
}

// A little-endian '<f8' C-order .npy file in format 1.0, built from the format's
// specification: magic, version, header length, a dict literal padded with spaces and ended by
// '\n' so that the data starts at a multiple of 64 bytes.
std::string npy_bytes(const std::vector<std::size_t>& shape, const std::vector<double>& values) {
  std::string dims;
  for (std::size_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() == 1)
    dims.pop_back();  // "(2,)"
  else if (!shape.empty())
    dims.resize(dims.size() - 2);  // "(2, 3)"
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  const std::size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const std::size_t at = bytes.size();
  bytes.resize(at + values.size() * sizeof(double));
  std::memcpy(bytes.data() + at, values.data(), values.size() * sizeof(double));
  return bytes;
}

struct ErrorCase {
  std::string name;
  std::string config;                        // written to {dir}/c.toml
  std::map<std::string, std::string> files;  // written beside it
  int exit_code;
  std::string expected_stderr;  // "{dir}" stands for the case's folder
};

std::map<std::string, std::string> csv(const std::string& text) { return {{"d.csv", text}}; }

std::vector<ErrorCase> error_cases() {
  const std::string good = kData + kRest;
  const std::vector<double> X23{1, 2, 3, 4, 5, 6};
  std::vector<ErrorCase> cases = {
      // ---- the TOML document and its keys -----------------------------------------------
      {"TomlSyntax", edit(good, "lr = 0.1", "lr = = 0.1"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:16:6: error: Error while parsing value: could not determine value type
  lr = = 0.1
       ^
)msg"},
      {"UnknownKeyInTrain", edit(good, "lr = 0.1", "lerning_rate = 0.1"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:16:1: error: unknown key 'lerning_rate' in [train]; did you mean 'lr'?
  lerning_rate = 0.1
  ^~~~~~~~~~~~
)msg"},
      {"UnknownKeyInData", edit(good, "inputs =", "input ="), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:3:1: error: unknown key 'input' in [data]; did you mean 'inputs'?
  input = { x = "x1..x3", y = "y" }
  ^~~~~
)msg"},
      {"UnknownSection", good + "\n[optimiser]\nlr = 1\n", csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:19:2: error: unknown section [optimiser]; did you mean [train]?
  [optimiser]
   ^~~~~~~~~
)msg"},
      {"KeyOutsideAnySection", "lr = 0.1\n" + good, csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:1:1: error: the key 'lr' is outside any section; it belongs in [train]
  lr = 0.1
  ^~
)msg"},
      // ---- wrong types and ranges ---------------------------------------------------------
      {"LrIsAString", edit(good, "lr = 0.1", "lr = \"fast\""), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:16:6: error: expected a number for train.lr, found a string
  lr = "fast"
       ^~~~~~
)msg"},
      {"LrIsNaN", edit(good, "lr = 0.1", "lr = nan"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:16:6: error: train.lr = nan but it must be a finite number
  lr = nan
       ^~~
)msg"},
      {"LrIsNegative", edit(good, "lr = 0.1", "lr = -0.1"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:16:6: error: optimizer sgd: lr = -0.1 but it must be a finite number > 0
  lr = -0.1
       ^~~~
)msg"},
      {"StepsIsAFloat", edit(good, "steps = 3", "steps = 2.5"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:17:9: error: expected an integer for train.steps, found a floating-point number
  steps = 2.5
          ^~~
)msg"},
      {"StepsIsZero", edit(good, "steps = 3", "steps = 0"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:17:9: error: train.steps = 0 but it must be >= 1
  steps = 0
          ^
)msg"},
      {"NegativeBatchSize", edit(good, "steps = 3", "steps = 3\nbatch_size = -1"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:18:14: error: train.batch_size = -1 but it must be >= 0
  batch_size = -1
               ^~
)msg"},
      {"EpochsAndSteps", edit(good, "steps = 3", "steps = 3\nepochs = 2"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:18:1: error: train.epochs and train.steps are alternatives; give one of them
  epochs = 2
  ^~~~~~
)msg"},
      {"StartsInFitMode", edit(good, "steps = 3", "steps = 3\nstarts = 4"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:18:1: error: 'starts' applies only to minimize mode, but this config has a [data] section (fit mode)
  starts = 4
  ^~~~~~
)msg"},
      {"EpochsInMinimizeMode",
       "[params]\nx = 1.0\n[cost]\nloss = \"x^2\"\n[train]\nepochs = 3\n",
       {},
       2,
       R"msg({dir}/c.toml:6:1: error: 'epochs' needs a data set, but this config has no [data] section (minimize mode)
  epochs = 3
  ^~~~~~
note: in minimize mode the run's length is steps = N
)msg"},
      {"UnknownOptimizer", edit(good, "lr = 0.1", "optimizer = \"adamm\"\nlr = 0.1"), csv(kGoodCsv),
       2,
       R"msg({dir}/c.toml:16:13: error: unknown optimizer 'adamm'; did you mean 'adam'?
  optimizer = "adamm"
              ^~~~~~~
note: valid optimizers: sgd, momentum, nesterov, adam, adamw, rmsprop
)msg"},
      {"ValidationFractionOne", edit(good, "y = \"y\" }\n", "y = \"y\" }\nvalidation = 1.0\n"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:4:14: error: data.validation = 1 but it must be in [0, 1)
  validation = 1.0
               ^~~
)msg"},
      // ---- parameters ---------------------------------------------------------------------
      {"ShapeIsAString", edit(good, "shape = [3]", "shape = \"3\""), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:6:15: error: expected an array for params.w.shape, found a string
  w = { shape = "3", init = "zeros" }
                ^~~
)msg"},
      {"ShapeHasZero", edit(good, "shape = [3]", "shape = [0]"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:6:16: error: params.w.shape[0] = 0 but it must be >= 1
  w = { shape = [0], init = "zeros" }
                 ^
)msg"},
      {"UnknownInit", edit(good, "init = \"zeros\" }\nb", "init = \"gaussian\" }\nb"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:6:27: error: unknown init kind 'gaussian'
  w = { shape = [3], init = "gaussian" }
                            ^~~~~~~~~~
note: valid init kinds: zeros, constant, uniform, normal, xavier, he
)msg"},
      {"SettingThatTheInitDoesNotTake",
       edit(good, "init = \"zeros\" }\nb", "init = \"zeros\", std = 2 }\nb"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:6:36: error: 'std' does not apply to init = "zeros"
  w = { shape = [3], init = "zeros", std = 2 }
                                     ^~~
note: init = "zeros" takes no settings
)msg"},
      {"UniformLowAboveHigh",
       edit(good, "b = { init = \"zeros\" }", "b = { init = \"uniform\", low = 1, high = -1 }"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:7:41: error: params.b: low = 1 but it must be below high = -1
  b = { init = "uniform", low = 1, high = -1 }
                                          ^~
)msg"},
      {"RaggedLiteralMatrix",
       edit(good, "w = { shape = [3], init = \"zeros\" }", "w = [[1.0, 2.0], [3.0]]"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:6:18: error: params.w[1] has 1 number but params.w[0] has 2: a matrix must be rectangular
  w = [[1.0, 2.0], [3.0]]
                   ^~~~~
)msg"},
      {"NoParameters",
       edit(good, "w = { shape = [3], init = \"zeros\" }\nb = { init = \"zeros\" }\n", ""),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:5:1: error: [params] declares no parameters
  [params]
  ^~~~~~~~
)msg"},
      {"ParameterNamedLikeAnInput",
       edit(good, "b = { init = \"zeros\" }", "x = { init = \"zeros\" }"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:7:1: error: the parameter 'x' has the same name as an input
  x = { init = "zeros" }
  ^
note: the input 'x' is declared at {dir}/c.toml:3:12
)msg"},
      {"ModelNamedLikeAFunction",
       edit(edit(good, "prediction = \"dot", "exp = \"dot"), "(prediction", "(exp"), csv(kGoodCsv),
       2,
       R"msg({dir}/c.toml:10:1: error: the model expression 'exp' has the name of a function of the expression language; choose another name
  exp = "dot(w, x) + b"
  ^~~
)msg"},
      // ---- expressions: syntax, names, shapes, structure ------------------------------------
      {"DotOfVectorsOfDifferentLengths", edit(good, "shape = [3]", "shape = [4]"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:10:15: error: dot expects two vectors of the same length, got shapes (4) and (3)
  dot(w, x) + b
  ^~~~~~~~~
)msg"},
      {"MatrixProductInnerDimensionsDiffer",
       edit(edit(good, "w = { shape = [3], init = \"zeros\" }",
                 "w = { shape = [2, 2], init = \"zeros\" }"),
            "dot(w, x)", "sum(w @ x)"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:10:19: error: '@' shapes (2, 2) and (3) do not fit: inner dimensions 2 and 3 differ
  sum(w @ x) + b
      ^~~~~
)msg"},
      {"WrongNumberOfArguments", edit(good, "dot(w, x)", "dot(w)"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:10:15: error: 'dot' takes 2 arguments, got 1
  dot(w) + b
  ^~~~~~
)msg"},
      {"UnknownNameInExpression", edit(good, "dot(w, x) + b", "dot(w, x) + bias"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:10:27: error: unknown name 'bias'
  dot(w, x) + bias
              ^~~~
)msg"},
      {"UnknownFunction", edit(good, "(prediction - y)^2", "sqr(prediction - y)"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:13:9: error: unknown function 'sqr'; did you mean 'sqrt'?
  sqr(prediction - y)
  ^~~
)msg"},
      {"MissingOperand", edit(good, "(prediction - y)^2", "(prediction - y)^"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:13:26: error: expected an expression after '^'
  (prediction - y)^
                   ^
)msg"},
      {"UnclosedParenthesis", edit(good, "(prediction - y)^2", "((prediction - y)^2"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:13:28: error: expected ')' to close '(' opened at 13:9
  ((prediction - y)^2
                     ^
)msg"},
      {"EmptyExpression", edit(good, "(prediction - y)^2", ""), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:13:8: error: cost.loss is an empty expression
  loss = ""
         ^~
)msg"},
      {"MissingLoss", edit(good, "loss = \"(prediction - y)^2\"", ""), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:12:1: error: [cost] needs loss = "<expression>"
  [cost]
  ^~~~~~
)msg"},
      {"CyclicModelDefinition",
       edit(good, "prediction = \"dot(w, x) + b\"",
            "prediction = \"dot(w, x) + b + 0*other\"\nother = \"2*prediction\""),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:11:12: error: the model expression 'prediction' depends on itself (prediction -> other -> prediction)
  2*prediction
    ^~~~~~~~~~
)msg"},
      {"NonScalarLoss", edit(good, "(prediction - y)^2", "(w*x - y)^2"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:13:8: error: the loss must be a scalar per sample, but it has shape (3)
  loss = "(w*x - y)^2"
         ^~~~~~~~~~~~~
)msg"},
      {"PenaltyThatUsesData",
       edit(good, "loss = \"(prediction - y)^2\"",
            "loss = \"(prediction - y)^2\"\npenalty = \"0.1*sum(x^2)\""),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:14:11: error: a penalty must depend on parameters alone, but this one uses data
  penalty = "0.1*sum(x^2)"
            ^~~~~~~~~~~~~~
)msg"},
      {"NonScalarPenalty",
       edit(good, "loss = \"(prediction - y)^2\"",
            "loss = \"(prediction - y)^2\"\npenalty = \"w^2\""),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:14:11: error: a penalty must be a scalar, but it has shape (3)
  penalty = "w^2"
            ^~~~~
)msg"},
      // ---- [data] and how columns become inputs ---------------------------------------------
      {"MissingDataFile",
       edit(good, "d.csv", "nope.csv"),
       {},
       4,
       R"msg({dir}/c.toml:2:8: error: cannot open data file '{dir}/nope.csv': No such file or directory
  file = "nope.csv"
         ^~~~~~~~~~
)msg"},
      {"ColumnRangeRunsBackwards", edit(good, "x1..x3", "x3..x1"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:3:16: error: the column range 'x3..x1' runs backwards: 'x1' comes before 'x3' in {dir}/d.csv
  inputs = { x = "x3..x1", y = "y" }
                 ^~~~~~~~
)msg"},
      {"UnknownColumnInInputs", edit(good, "y = \"y\"", "y = \"target\""), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:3:30: error: data file '{dir}/d.csv' has no column 'target'
  inputs = { x = "x1..x3", y = "target" }
                               ^~~~~~~~
note: the columns are: x1, x2, x3, y
)msg"},
      {"UnknownColumnInRange", edit(good, "x1..x3", "x1..x9"), csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:3:16: error: data file '{dir}/d.csv' has no column 'x9'; did you mean 'x1'?
  inputs = { x = "x1..x9", y = "y" }
                 ^~~~~~~~
note: the columns are: x1, x2, x3, y
)msg"},
      {"ClassesNameAnUnknownInput", edit(good, "y = \"y\" }\n", "y = \"y\" }\nclasses = [\"z\"]\n"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:4:12: error: data.classes names 'z', which is not an input; did you mean 'x'?
  classes = ["z"]
             ^~~
note: the inputs are: x, y
)msg"},
      {"CsvAndNpyTogether", edit(good, "y = \"y\" }\n", "y = \"y\" }\nnpy = { z = \"z.npy\" }\n"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:4:1: error: [data] takes either file and inputs (a CSV file) or npy (one .npy file per input), not both
  npy = { z = "z.npy" }
  ^~~
)msg"},
      {"NoTrainingRowsLeft", edit(good, "y = \"y\" }\n", "y = \"y\" }\nvalidation = 0.9\n"),
       csv("x1,x2,x3,y\n1,2,3,4\n"), 2,
       R"msg({dir}/c.toml:4:14: error: data.validation = 0.9 holds out 1 of the 1 row for validation, which leaves none to train on
  validation = 0.9
               ^~~
)msg"},
      {"ValidationHoldsOutNoRow", edit(good, "y = \"y\" }\n", "y = \"y\" }\nvalidation = 1e-300\n"),
       csv(kGoodCsv), 2,
       R"msg({dir}/c.toml:4:14: error: data.validation = 1e-300 holds out 0 of the 3 rows for validation
  validation = 1e-300
               ^~~~~~
note: with 3 rows, a fraction of at least 1/6 holds out one row; or remove data.validation
)msg"},
      // ---- CSV files ------------------------------------------------------------------------
      {"CsvRaggedRow", good, csv("x1,x2,x3,y\n1,2,3,4\n5,6,7\n9,10,11,12\n"), 2,
       R"msg({dir}/d.csv:3:6: error: row has 3 fields, the header has 4
  5,6,7
       ^
)msg"},
      {"CsvNonNumericCell", good, csv("x1,x2,x3,y\n1,2,3,4\n5,abc,7,8\n9,10,11,12\n"), 2,
       R"msg({dir}/d.csv:3:3: error: expected a number in column 'x2', found 'abc'
  5,abc,7,8
    ^~~
)msg"},
      {"CsvNaN", good, csv("x1,x2,x3,y\n1,2,3,4\n5,nan,7,8\n9,10,11,12\n"), 2,
       R"msg({dir}/d.csv:3:3: error: non-finite value 'nan' in column 'x2'; descent does not train on NaN/inf data
  5,nan,7,8
    ^~~
)msg"},
      {"CsvInfinity", good, csv("x1,x2,x3,y\n1,2,3,4\n5,inf,7,8\n9,10,11,12\n"), 2,
       R"msg({dir}/d.csv:3:3: error: non-finite value 'inf' in column 'x2'; descent does not train on NaN/inf data
  5,inf,7,8
    ^~~
)msg"},
      {"CsvEmptyCell", good, csv("x1,x2,x3,y\n1,2,3,4\n5,,7,8\n9,10,11,12\n"), 2,
       R"msg({dir}/d.csv:3:3: error: empty value in column 'x2'
  5,,7,8
    ^
)msg"},
      {"CsvUnterminatedQuote", good, csv("x1,x2,x3,y\n1,2,3,4\n5,\"6,7,8\n"), 2,
       R"msg({dir}/d.csv:3:3: error: unterminated quoted field
  5,"6,7,8
    ^
note: a quoted field ends at the next '"' that is not doubled
)msg"},
      {"CsvEmptyFile", good, csv(""), 2,
       "{dir}/d.csv:1:1: error: the data file is empty\n  \n  ^\n"},
      {"CsvHeaderOnly", good, csv("x1,x2,x3,y\n"), 2,
       R"msg({dir}/d.csv:1:1: error: no data rows after the header
  x1,x2,x3,y
  ^~~~~~~~~~
)msg"},
      {"CsvDuplicateColumn", good, csv("x1,x2,x2,y\n1,2,3,4\n"), 2,
       R"msg({dir}/d.csv:1:7: error: duplicate column name 'x2'
  x1,x2,x2,y
        ^~
note: column 2 has the same name
)msg"},
      // ---- .npy files -----------------------------------------------------------------------
      {"NpyMissing",
       kNpyData + kRest,
       {},
       4,
       R"msg({dir}/c.toml:2:13: error: cannot open data file '{dir}/X.npy': No such file or directory
  npy = { x = "X.npy", y = "y.npy" }
              ^~~~~~~
)msg"},
      {"NpyNotAnNpyFile",
       kNpyData + kRest,
       {{"X.npy", "not an npy file"}, {"y.npy", "nope"}},
       2,
       R"msg({dir}/c.toml:2:13: error: {dir}/X.npy: not a NumPy .npy file: it does not start with "\x93NUMPY" (byte offset 0)
  npy = { x = "X.npy", y = "y.npy" }
              ^~~~~~~
)msg"},
      {"NpyTruncated",
       kNpyData + kRest,
       {{"X.npy", npy_bytes({2, 3}, X23).substr(0, 128 + 40)}, {"y.npy", npy_bytes({2}, {1, 2})}},
       2,
       R"msg({dir}/c.toml:2:13: error: {dir}/X.npy: truncated data: shape (2, 3) of '<f8' needs 48 bytes from byte offset 128, but the file ends 40 bytes later
  npy = { x = "X.npy", y = "y.npy" }
              ^~~~~~~
)msg"},
      {"NpyRowCountsDiffer",
       kNpyData + kRest,
       {{"X.npy", npy_bytes({2, 3}, X23)}, {"y.npy", npy_bytes({3}, {1, 2, 3})}},
       2,
       R"msg({dir}/c.toml:2:26: error: '{dir}/y.npy' has 3 rows, but the other inputs have 2
  npy = { x = "X.npy", y = "y.npy" }
                           ^~~~~~~
)msg"},
      {"NpyNaN",
       kNpyData + kRest,
       {{"X.npy", npy_bytes({2, 3}, {1, 2, 3, 4, std::nan(""), 6})},
        {"y.npy", npy_bytes({2}, {1, 2})}},
       2,
       R"msg({dir}/c.toml:2:13: error: non-finite value in '{dir}/X.npy' at row 2; descent does not train on NaN/inf data
  npy = { x = "X.npy", y = "y.npy" }
              ^~~~~~~
)msg"},
      {"NpyWrongWidthForTheModel",
       kNpyData + kRest,
       {{"X.npy", npy_bytes({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})}, {"y.npy", npy_bytes({2}, {1, 2})}},
       2,
       R"msg({dir}/c.toml:9:15: error: dot expects two vectors of the same length, got shapes (3) and (4)
  dot(w, x) + b
  ^~~~~~~~~
)msg"},
  };
  return cases;
}

// Writes the case's files into `dir`.
void write_case(const ErrorCase& c, const fs::path& dir) {
  write_file(dir / "c.toml", c.config);
  for (const auto& [name, bytes] : c.files) write_file(dir / name, bytes);
}

class TrainErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(TrainErrors, ExitCodeMessageAndNoRunDirectory) {
  const ErrorCase& c = GetParam();
  TempDir tmp("descent_errors");
  write_case(c, tmp.path());
  const fs::path run = tmp / "run";
  const CliResult r = run_descent(
      {"train", (tmp / "c.toml").string(), "--out", run.string(), "--quiet"}, tmp.path());
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_EQ(r.err, substitute(c.expected_stderr, "dir", tmp.path().string()));
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(run)) << "a failed run must not leave a run directory";
  EXPECT_TRUE(leftover_temporaries(tmp.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(MalformedConfigsAndData, TrainErrors, testing::ValuesIn(error_cases()),
                         [](const testing::TestParamInfo<ErrorCase>& param) {
                           return param.param.name;
                         });

TEST(TrainErrorsSetup, AtLeastThirtyCasesAndTheUneditedExperimentTrains) {
  EXPECT_GE(error_cases().size(), 30u);
  // The cases are meaningful only if what they edit is valid: the base experiment, with CSV
  // and with .npy data, trains (exit 0) and writes its run directory.
  TempDir tmp("descent_errors");
  write_file(tmp / "c.toml", kData + kRest);
  write_file(tmp / "d.csv", kGoodCsv);
  write_file(tmp / "n.toml", kNpyData + kRest);
  write_file(tmp / "X.npy", npy_bytes({2, 3}, {1, 2, 3, 4, 5, 6}));
  write_file(tmp / "y.npy", npy_bytes({2}, {1, 2}));
  for (const std::string name : {"c.toml", "n.toml"}) {
    const fs::path run = tmp / ("run-" + name);
    const CliResult r =
        run_descent({"train", (tmp / name).string(), "--out", run.string(), "--quiet"}, tmp.path());
    EXPECT_EQ(r.exit_code, 0) << name << ": " << r.err;
    EXPECT_TRUE(fs::exists(run / "params.json")) << name;
  }
}

// ---------------------------------------------------------------------------------------------
// Command-line mistakes: the same promises (exit code, message, no run directory).

struct CliCase {
  std::string name;
  std::vector<std::string>
      args;  // "{dir}" stands for the test's folder, which holds c.toml + d.csv
  int exit_code;
  std::string expected_stderr;
};

std::vector<CliCase> cli_cases() {
  return {
      {"MissingConfigFile",
       {"train", "{dir}/nothere.toml", "--out", "{dir}/run", "--quiet"},
       4,
       "error: cannot open config '{dir}/nothere.toml': No such file or directory\n"},
      {"SetWithoutValue",
       {"train", "{dir}/c.toml", "--set", "train.lr", "--out", "{dir}/run", "--quiet"},
       2,
       R"msg(--set:1:1: error: malformed --set 'train.lr': expected SECTION.KEY=VALUE, e.g. train.lr=0.1
  train.lr
  ^~~~~~~~
)msg"},
      {"SetUnknownSection",
       {"train", "{dir}/c.toml", "--set", "nosuch.x=1", "--out", "{dir}/run", "--quiet"},
       2,
       R"msg(--set:1:1: error: unknown section [nosuch]
  nosuch.x=1
  ^~~~~~
note: the sections are [experiment], [data], [params], [constants], [model], [cost], [metrics] and [train]
)msg"},
      {"SetWrongType",
       {"train", "{dir}/c.toml", "--set", "train.lr=abc", "--out", "{dir}/run", "--quiet"},
       2,
       R"msg(--set:1:10: error: expected a number for train.lr, found a string
  train.lr=abc
           ^~~
)msg"},
      {"NoConfig",
       {"train", "--out", "{dir}/run", "--quiet"},
       2,
       "error: train: a CONFIG file (or --resume RUN_DIR) is required\n"},
      {"ResumeWithAConfig",
       {"train", "{dir}/c.toml", "--resume", "{dir}/run", "--quiet"},
       2,
       "error: --resume continues a run with its own saved config; drop CONFIG, --set, --plan and "
       "--threads\n"},
      {"ResumeOfAFolderThatIsNoRun",
       {"train", "--resume", "{dir}", "--quiet"},
       4,
       "error: --resume: '{dir}' is not a run directory (no config.resolved.toml)\n"},
  };
}

class TrainCliErrors : public testing::TestWithParam<CliCase> {};

TEST_P(TrainCliErrors, ExitCodeMessageAndNoRunDirectory) {
  const CliCase& c = GetParam();
  TempDir tmp("descent_errors");
  write_file(tmp / "c.toml", kData + kRest);
  write_file(tmp / "d.csv", kGoodCsv);
  std::vector<std::string> args;
  for (const std::string& a : c.args) args.push_back(substitute(a, "dir", tmp.path().string()));
  const CliResult r = run_descent(args, tmp.path());
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_EQ(r.err, substitute(c.expected_stderr, "dir", tmp.path().string()));
  EXPECT_FALSE(fs::exists(tmp / "run"));
  EXPECT_TRUE(leftover_temporaries(tmp.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(BadCommandLines, TrainCliErrors, testing::ValuesIn(cli_cases()),
                         [](const testing::TestParamInfo<CliCase>& param) {
                           return param.param.name;
                         });

TEST(TrainCliErrorsMore, UnknownFlagIsBadInput) {
  TempDir tmp("descent_errors");
  write_file(tmp / "c.toml", kData + kRest);
  write_file(tmp / "d.csv", kGoodCsv);
  const CliResult r = run_descent(
      {"train", (tmp / "c.toml").string(), "--bogus", "--out", (tmp / "run").string()}, tmp.path());
  EXPECT_EQ(r.exit_code, 2);
  // The wording is CLI11's; only that it names the flag is ours to promise.
  EXPECT_NE(r.err.find("--bogus"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

TEST(TrainCliErrorsMore, ARunDirectoryThatHoldsFilesIsLeftAlone) {
  TempDir tmp("descent_errors");
  write_file(tmp / "c.toml", kData + kRest);
  write_file(tmp / "d.csv", kGoodCsv);
  fs::create_directory(tmp / "run");
  write_file(tmp / "run" / "mine.txt", "precious");
  const CliResult r = run_descent(
      {"train", (tmp / "c.toml").string(), "--out", (tmp / "run").string(), "--quiet"}, tmp.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "error: the run directory '" + (tmp / "run").string() +
                       "' already holds files; pass another --out, or --resume it\n");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(tmp / "run"))
    names.push_back(entry.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"mine.txt"});
  EXPECT_EQ(read_file(tmp / "run" / "mine.txt"), "precious");
}

TEST(TrainCliErrorsMore, ResumeWithAMissingOrDamagedCheckpointIsAnIoError) {
  TempDir tmp("descent_errors");
  write_file(tmp / "c.toml", kData + kRest);
  write_file(tmp / "d.csv", kGoodCsv);
  const fs::path run = tmp / "run";
  ASSERT_EQ(run_descent({"train", (tmp / "c.toml").string(), "--out", run.string(), "--quiet"},
                        tmp.path())
                .exit_code,
            0);
  const std::string params_before = read_file(run / "params.json");

  const std::string bytes = read_file(run / "checkpoint.bin");
  write_file(run / "checkpoint.bin", bytes.substr(0, bytes.size() / 2));
  CliResult r = run_descent({"train", "--resume", run.string(), "--quiet"}, tmp.path());
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(
      r.err.rfind("error: checkpoint '" + (run / "checkpoint.bin").string() + "' is damaged: ", 0),
      0u)
      << r.err;

  fs::remove(run / "checkpoint.bin");
  r = run_descent({"train", "--resume", run.string(), "--quiet"}, tmp.path());
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ(r.err, "error: cannot open checkpoint '" + (run / "checkpoint.bin").string() + "'\n");
  // Neither attempt touched the finished run's outputs.
  EXPECT_EQ(read_file(run / "params.json"), params_before);
  EXPECT_TRUE(leftover_temporaries(tmp.path()).empty());
}

}  // namespace
}  // namespace descent::test
