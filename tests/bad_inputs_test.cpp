// The bad-input corpus (tests/bad_inputs/): configs and data files that descent must refuse,
// each with the answer it must give, run through the real binary (`descent train CASE`).
// A case is a .toml file whose first comment lines state what is expected:
//   # exit: 2                     the exit code
//   # at: 12:10                   where the error points: line:col in the case itself,
//   # at: ragged.csv:3:6          or in a data file beside it, or in an override
//   # at: --set:1:14              ("--set:LINE:COL"); "-" when it has no position
//   # message: text               a substring of the error's first line ("{dir}" stands for
//                                 the folder of the cases)
//   # args: --set train.lr=0.1    extra arguments (optional, split at blanks)
// Data files (*.csv, *.npy) lie beside the cases. For every case the test checks the exit
// code, that the first line of stderr is "PATH:LINE:COL: error: ..." with the message in it,
// that nothing went to stdout and that no run directory was created. The classes it covers:
// sizes and limits, recursion and cycles among model definitions, the validation split,
// duplicates, and the README's config rules one by one (see README, "Config files").
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace descent::test {
namespace {

const fs::path kCases = kSourceDir / "tests" / "bad_inputs";

struct BadInput {
  std::string name;  // the file's stem
  fs::path path;
  int exit_code = -1;
  std::string at;  // "LINE:COL", "FILE:LINE:COL" or "-"
  std::string message;
  std::vector<std::string> args;
};

std::ostream& operator<<(std::ostream& out, const BadInput& c) { return out << c.name; }

// The expectations at the top of a case file.
BadInput read_case(const fs::path& path) {
  BadInput c;
  c.name = path.stem().string();
  c.path = path;
  std::istringstream lines(read_file(path));
  for (std::string line; std::getline(lines, line) && line.starts_with("#");) {
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(1, colon - 1);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    if (key == " exit") c.exit_code = std::stoi(value);
    if (key == " at") c.at = value;
    if (key == " message") c.message = substitute(value, "dir", kCases.string());
    if (key == " args") {
      std::istringstream words(value);
      for (std::string word; words >> word;) c.args.push_back(word);
    }
  }
  return c;
}

std::vector<BadInput> all_cases() {
  std::vector<BadInput> cases;
  for (const auto& entry : fs::directory_iterator(kCases))
    if (entry.path().extension() == ".toml") cases.push_back(read_case(entry.path()));
  std::sort(cases.begin(), cases.end(),
            [](const BadInput& a, const BadInput& b) { return a.name < b.name; });
  return cases;
}

// The position prefix the error's first line must start with.
std::string expected_prefix(const BadInput& c) {
  if (c.at == "-") return "error: ";
  if (c.at.starts_with("--set:")) return c.at + ": error: ";
  if (std::count(c.at.begin(), c.at.end(), ':') == 1)
    return c.path.string() + ":" + c.at + ": error: ";
  const std::size_t colon = c.at.find(':');
  return (kCases / c.at.substr(0, colon)).string() + c.at.substr(colon) + ": error: ";
}

class BadInputs : public testing::TestWithParam<BadInput> {};

TEST_P(BadInputs, ExitCodeMessageAndPosition) {
  const BadInput& c = GetParam();
  ASSERT_NE(c.exit_code, -1) << c.path << " has no '# exit:' line";
  ASSERT_FALSE(c.at.empty()) << c.path << " has no '# at:' line";
  ASSERT_FALSE(c.message.empty()) << c.path << " has no '# message:' line";
  TempDir tmp("descent_bad_input");
  const fs::path run = tmp / "run";
  std::vector<std::string> args{"train", c.path.string(), "--out", run.string(), "--quiet"};
  args.insert(args.end(), c.args.begin(), c.args.end());
  const CliResult r = run_descent(args, tmp.path());
  const std::string first_line = r.err.substr(0, r.err.find('\n'));
  EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
  EXPECT_TRUE(first_line.starts_with(expected_prefix(c)))
      << "expected the error at " << expected_prefix(c) << "\n got: " << r.err;
  EXPECT_NE(first_line.find(c.message), std::string::npos)
      << "expected the message '" << c.message << "'\n got: " << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(fs::exists(run)) << "a refused run must not leave a run directory";
}

INSTANTIATE_TEST_SUITE_P(Corpus, BadInputs, testing::ValuesIn(all_cases()),
                         [](const testing::TestParamInfo<BadInput>& param) {
                           std::string name = param.param.name;
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char ch) {
                                 return !std::isalnum(static_cast<unsigned char>(ch));
                               },
                               '_');
                           return name;
                         });

TEST(BadInputsCorpus, HoldsTheCasesItPromises) {
  // Together with tests/train_errors_test.cpp and tests/config_load_test.cpp's malformed
  // configs this makes more than 150 cases of bad input with their exact answers.
  EXPECT_GE(all_cases().size(), 80u);
}

}  // namespace
}  // namespace descent::test
