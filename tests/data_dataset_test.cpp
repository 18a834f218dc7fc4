// Covers host/data/dataset.cpp: the validation split (a fraction that holds out no row, or
// every row, is refused at data.validation with the row count), column ranges (expanded in
// time linear in the header; a column named twice through overlapping ranges is refused), and
// .npy inputs with an empty axis.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/experiment.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

class DatasetTest : public ::testing::Test {
 protected:
  Dataset load(const std::string& config_text) const {
    const std::string path = (tmp_ / "cfg.toml").string();
    test::write_file(path, config_text);
    const ExperimentConfig config = load_experiment(path);
    return load_dataset(config.data, config.data.seed);
  }

  // The rendered error of loading the data of `config_text`, the temporary folder shown as
  // "{dir}".
  std::string error_of(const std::string& config_text) const {
    try {
      load(config_text);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      std::string text = e.render();
      const std::string dir = tmp_.path().string();
      for (std::size_t at; (at = text.find(dir)) != std::string::npos;)
        text.replace(at, dir.size(), "{dir}");
      return text;
    }
    ADD_FAILURE() << "no error for:\n" << config_text;
    return {};
  }

  void write(const std::string& name, const std::string& bytes) const {
    test::write_file(tmp_ / name, bytes);
  }

  test::TempDir tmp_{"descent_dataset"};
};

// Lines 1-3; the rest of the config starts on line 4.
std::string fit_config(const std::string& data_lines) {
  return "[data]\nfile = \"d.csv\"\ninputs = { x = \"x\", y = \"y\" }\n" + data_lines +
         "[params]\nw = 1.0\n[cost]\nloss = \"(w*x - y)^2\"\n";
}

const std::string kFourRows = "x,y\n1,2\n3,4\n5,6\n7,8\n";

TEST_F(DatasetTest, ValidationHoldsOutTheRoundedFractionOfTheRows) {
  write("d.csv", kFourRows);
  const Dataset dataset = load(fit_config("validation = 0.25\n"));
  EXPECT_EQ(dataset.train_rows, 3);
  EXPECT_EQ(dataset.validation_rows, 1);
  // The smallest fraction that holds out a row: 1/(2*rows) rounds to one.
  EXPECT_EQ(load(fit_config("validation = 0.125\n")).validation_rows, 1);
}

TEST_F(DatasetTest, AValidationFractionThatHoldsOutNoRowIsRefused) {
  write("d.csv", kFourRows);
  EXPECT_EQ(error_of(fit_config("validation = 1e-300\n")),
            "{dir}/cfg.toml:4:14: error: data.validation = 1e-300 holds out 0 of the 4 rows for "
            "validation\n"
            "  validation = 1e-300\n"
            "               ^~~~~~\n"
            "note: with 4 rows, a fraction of at least 1/8 holds out one row; or remove "
            "data.validation");
  EXPECT_NE(error_of(fit_config("validation = 0.12\n")).find("holds out 0 of the 4 rows"),
            std::string::npos);
}

TEST_F(DatasetTest, AValidationFractionThatHoldsOutEveryRowIsRefused) {
  write("d.csv", kFourRows);
  EXPECT_EQ(error_of(fit_config("validation = 0.9\n")),
            "{dir}/cfg.toml:4:14: error: data.validation = 0.9 holds out 4 of the 4 rows for "
            "validation, which leaves none to train on\n"
            "  validation = 0.9\n"
            "               ^~~");
}

TEST_F(DatasetTest, AColumnNamedTwiceThroughOverlappingRangesIsRefused) {
  write("d.csv", "a,b,c,d,y\n1,2,3,4,5\n");
  EXPECT_EQ(error_of("[data]\nfile = \"d.csv\"\ninputs = { x = [\"a..c\", \"b..d\"], y = \"y\" }\n"
                     "[params]\nw = { shape = [6] }\n[cost]\nloss = \"(dot(w, x) - y)^2\"\n"),
            "{dir}/cfg.toml:3:16: error: the input 'x' names the column 'b' more than once\n"
            "  inputs = { x = [\"a..c\", \"b..d\"], y = \"y\" }\n"
            "                 ^~~~~~~~~~~~~~~~");
}

// A complexity guard, not a benchmark: each column of a range was looked up by a scan of the
// header, which made a range over a wide file quadratic in its width (160,000 columns took
// over a minute). The bound is far above the linear time, even under sanitizers.
TEST_F(DatasetTest, ARangeOverAWideFileIsExpandedInLinearTime) {
  constexpr int kColumns = 200000;
  std::string header, row;
  for (int i = 0; i < kColumns; ++i) {
    header += "c" + std::to_string(i) + ",";
    row += std::to_string(i % 7) + ",";
  }
  write("d.csv", header + "y\n" + row + "1\n" + row + "2\n");
  const auto started = std::chrono::steady_clock::now();
  const Dataset dataset =
      load("[data]\nfile = \"d.csv\"\ninputs = { x = \"c0..c" + std::to_string(kColumns - 1) +
           "\", y = \"y\" }\n[params]\nw = 1.0\n[cost]\nloss = \"(w*sum(x) - y)^2\"\n");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(dataset.inputs.size(), 2u);
  EXPECT_EQ(dataset.inputs[0].shape, Shape::vector(kColumns));
  EXPECT_EQ(dataset.train(dataset.inputs[0])[kColumns - 1], (kColumns - 1) % 7);
  EXPECT_LT(seconds, 10.0) << "expanding a column range is no longer linear in its width";
}

TEST_F(DatasetTest, AnNpyInputWithAnEmptyAxisIsRefused) {
  write_npy((tmp_ / "X.npy").string(), {3, 0}, {});
  write_npy((tmp_ / "y.npy").string(), {3}, std::vector<double>{1, 2, 3});
  const std::string error = error_of(
      "[data]\nnpy = { x = \"X.npy\", y = \"y.npy\" }\n[params]\nw = 1.0\n[cost]\n"
      "loss = \"(w*sum(x) - y)^2\"\n");
  EXPECT_NE(error.find("has an empty axis (axis 1 has length 0)"), std::string::npos) << error;
}

TEST_F(DatasetTest, AnNpyInputWithoutRowsIsRefused) {
  write_npy((tmp_ / "X.npy").string(), {0, 2}, {});
  write_npy((tmp_ / "y.npy").string(), {0}, {});
  const std::string error = error_of(
      "[data]\nnpy = { x = \"X.npy\", y = \"y.npy\" }\n[params]\nw = { shape = [2] }\n"
      "[cost]\nloss = \"(dot(w, x) - y)^2\"\n");
  EXPECT_NE(error.find("error: the data has no rows"), std::string::npos) << error;
}

}  // namespace
}  // namespace descent
