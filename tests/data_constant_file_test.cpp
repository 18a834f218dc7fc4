// Covers host/data/constant_file.cpp: the files of [constants] read into values and shapes
// (.npy of 0, 1 and 2 axes; CSV shaped as numpy.loadtxt shapes it), and every way a file can be
// wrong, each a bad-input error (exit code 2) at the file's name in the config, or inside the
// CSV file at the offending field with the config's position in the note.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "config/experiment.hpp"
#include "data/constant_file.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

// A '<f8' .npy file of `shape`, written from the format's specification.
std::string npy_bytes(const std::vector<std::size_t>& shape, const std::vector<double>& values) {
  std::string dims;
  for (std::size_t d : shape) dims += std::to_string(d) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);
  if (shape.size() == 1) dims.resize(dims.size() - 1);
  std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  std::string data(values.size() * sizeof(double), '\0');
  if (!values.empty()) std::memcpy(data.data(), values.data(), data.size());
  return bytes + data;
}

class ConstantFiles : public ::testing::Test {
 protected:
  // The config "cfg.toml" with one constant `c = { file = FILE }` on line 4, read with its file.
  ExperimentConfig read(const std::string& file) {
    const std::string config =
        "[params]\nx = 0.5\n[constants]\nc = { file = \"" + file + "\" }\n[cost]\nloss = \"x^2\"\n";
    ExperimentConfig loaded = load_experiment(write_config(config));
    read_constant_files(loaded);
    return loaded;
  }
  std::string write_config(const std::string& text) {
    write_file(dir_ / "cfg.toml", text);
    return (dir_ / "cfg.toml").string();
  }
  // The error of reading FILE's constant, rendered, with the folder shown as "{dir}".
  Error error_of(const std::string& file) {
    try {
      read(file);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
      return e;
    }
    ADD_FAILURE() << "no error for " << file;
    return Error(ExitCode::ok, "");
  }
  std::string shown(const std::string& text) const {
    return substitute(text, "dir", dir_.path().string());
  }

  TempDir dir_{"descent_constant_files"};
};

TEST_F(ConstantFiles, NpyArraysOfEachRank) {
  write_file(dir_ / "s.npy", npy_bytes({}, {2.5}));
  write_file(dir_ / "v.npy", npy_bytes({3}, {1, 2, 3}));
  write_file(dir_ / "m.npy", npy_bytes({2, 3}, {1, 2, 3, 4, 5, 6}));
  const ExperimentConfig s = read("s.npy");
  EXPECT_TRUE(s.constants[0].file_read);
  EXPECT_EQ(s.constants[0].shape, Shape::scalar());
  EXPECT_EQ(s.constants[0].values, std::vector<double>{2.5});
  const ExperimentConfig v = read("v.npy");
  EXPECT_EQ(v.constants[0].shape, Shape::vector(3));
  EXPECT_EQ(v.constants[0].values, (std::vector<double>{1, 2, 3}));
  const ExperimentConfig m = read("m.npy");
  EXPECT_EQ(m.constants[0].shape, Shape::matrix(2, 3));
  EXPECT_EQ(m.constants[0].values, (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST_F(ConstantFiles, CsvIsShapedLikeNumpyLoadtxt) {
  write_file(dir_ / "one.csv", "# a comment\n 4.5 \n");
  write_file(dir_ / "row.csv", "1, 2,3\n");
  write_file(dir_ / "column.csv", "1\n\n2\r\n+3\n");
  write_file(dir_ / "matrix.csv", "1,2\n3,4\n5,-6e-1\n");
  EXPECT_EQ(read("one.csv").constants[0].shape, Shape::scalar());
  EXPECT_EQ(read("one.csv").constants[0].values, std::vector<double>{4.5});
  EXPECT_EQ(read("row.csv").constants[0].shape, Shape::vector(3));
  const ExperimentConfig column = read("column.csv");
  EXPECT_EQ(column.constants[0].shape, Shape::vector(3));
  EXPECT_EQ(column.constants[0].values, (std::vector<double>{1, 2, 3}));
  const ExperimentConfig matrix = read("matrix.csv");
  EXPECT_EQ(matrix.constants[0].shape, Shape::matrix(3, 2));
  EXPECT_EQ(matrix.constants[0].values, (std::vector<double>{1, 2, 3, 4, 5, -0.6}));
}

TEST_F(ConstantFiles, AMissingFileIsAnErrorAtItsNameInTheConfig) {
  const Error e = error_of("gone.npy");
  EXPECT_EQ(e.span().where(), (dir_ / "cfg.toml").string() + ":4:14");
  EXPECT_EQ(e.message(), "constants.c: the file 'gone.npy' does not exist");
  EXPECT_EQ(e.note(), shown("looked for {dir}/gone.npy"));
}

TEST_F(ConstantFiles, AFolderIsNoFile) {
  fs::create_directory(dir_ / "folder.csv");
  const Error e = error_of("folder.csv");
  EXPECT_EQ(e.span().where(), (dir_ / "cfg.toml").string() + ":4:14");
  EXPECT_EQ(e.message(), "constants.c: 'folder.csv' is a folder, not a file");
}

TEST_F(ConstantFiles, NpyDefectsAreErrorsAtTheFilesName) {
  write_file(dir_ / "short.npy", npy_bytes({4}, {1, 2, 3, 4}).substr(0, 100));
  write_file(dir_ / "three.npy", npy_bytes({1, 2, 2}, {1, 2, 3, 4}));
  write_file(dir_ / "nan.npy", npy_bytes({3}, {1, std::nan(""), 3}));
  write_file(dir_ / "empty.npy", npy_bytes({0}, {}));
  const std::string at = (dir_ / "cfg.toml").string() + ":4:14";
  const Error short_file = error_of("short.npy");
  EXPECT_EQ(short_file.span().where(), at);
  EXPECT_TRUE(short_file.message().starts_with("constants.c: ")) << short_file.message();
  EXPECT_NE(short_file.message().find("short.npy"), std::string::npos) << short_file.message();
  const Error three = error_of("three.npy");
  EXPECT_EQ(three.span().where(), at);
  EXPECT_EQ(three.message(),
            "constants.c: 'three.npy' holds an array of 3 axes, but a constant has at most 2");
  const Error nan = error_of("nan.npy");
  EXPECT_EQ(nan.message(),
            "constants.c: 'nan.npy' holds nan at flat index 1; a constant must be finite");
  const Error empty = error_of("empty.npy");
  EXPECT_EQ(empty.message(), "constants.c: 'empty.npy' holds an empty array");
}

TEST_F(ConstantFiles, CsvDefectsPointIntoTheCsvFile) {
  write_file(dir_ / "header.csv", "a,b\n1,2\n");
  write_file(dir_ / "ragged.csv", "1,2\n3\n");
  write_file(dir_ / "empty_field.csv", "1,,2\n");
  write_file(dir_ / "inf.csv", "1,inf\n");
  write_file(dir_ / "nothing.csv", "# only a comment\n\n");
  const std::string note = "read for constants.c (" + (dir_ / "cfg.toml").string() + ":4:14)";
  const Error header = error_of("header.csv");
  EXPECT_EQ(header.span().where(), (dir_ / "header.csv").string() + ":1:1");
  EXPECT_EQ(header.message(), "'a' is not a number");
  EXPECT_EQ(header.note(), note);
  const Error ragged = error_of("ragged.csv");
  EXPECT_EQ(ragged.span().where(), (dir_ / "ragged.csv").string() + ":2:1");
  EXPECT_EQ(ragged.message(),
            "this row has 1 number but the first has 2: a constant's rows must be of one length");
  const Error empty = error_of("empty_field.csv");
  EXPECT_EQ(empty.span().where(), (dir_ / "empty_field.csv").string() + ":1:3");
  EXPECT_EQ(empty.message(), "an empty field; a constant's CSV file holds numbers only");
  const Error inf = error_of("inf.csv");
  EXPECT_EQ(inf.span().where(), (dir_ / "inf.csv").string() + ":1:3");
  EXPECT_EQ(inf.message(), "'inf' is not finite; a constant must be finite");
  const Error nothing = error_of("nothing.csv");
  EXPECT_EQ(nothing.span().where(), (dir_ / "cfg.toml").string() + ":4:14");
  EXPECT_EQ(nothing.message(), "constants.c: 'nothing.csv' holds no numbers");
}

}  // namespace
}  // namespace descent::test
