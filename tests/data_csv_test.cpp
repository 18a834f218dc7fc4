// Covers host/data/csv.cpp (and host/data/data_file.cpp): the accepted CSV dialect, labels of
// categorical columns, and the exact diagnostic (path:line:col, message, excerpt) of each
// malformed file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/error.hpp"
#include "data/csv.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test (tests/test_support.hpp), removed afterwards.
class CsvTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& content) const {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  CsvTable read(const std::string& content, const CsvOptions& options = {}) const {
    return read_csv(write("data.csv", content), options);
  }

  // The rendered error of reading `content`, with the temporary path shown as "data.csv".
  std::string error_of(const std::string& content, const CsvOptions& options = {}) const {
    const std::string path = write("data.csv", content);
    try {
      read_csv(path, options);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      std::string rendered = e.render();
      for (std::size_t at; (at = rendered.find(path)) != std::string::npos;) {
        rendered.replace(at, path.size(), "data.csv");
      }
      return rendered;
    }
    ADD_FAILURE() << "no error for:\n" << content;
    return {};
  }

  test::TempDir tmp_{"descent_csv"};
  const fs::path& dir_ = tmp_.path();
};

using Values = std::vector<double>;
using Labels = std::vector<std::string>;

// ---- what is accepted -------------------------------------------------------------------

TEST_F(CsvTest, ReadsNumericColumnsInHeaderOrder) {
  const CsvTable table = read("x1,x2,y\n1,2.5,-3\n4e2,-0.125,6\n");
  EXPECT_EQ(table.rows, 2u);
  ASSERT_EQ(table.columns.size(), 3u);
  EXPECT_EQ(table.columns[0].name, "x1");
  EXPECT_EQ(table.columns[0].values, (Values{1, 400}));
  EXPECT_EQ(table.columns[1].values, (Values{2.5, -0.125}));
  EXPECT_EQ(table.column("y").values, (Values{-3, 6}));
  EXPECT_TRUE(table.columns[2].labels.empty());
  EXPECT_EQ(table.path, dir_ / "data.csv");
}

TEST_F(CsvTest, TrimsBlanksAroundFieldsAndNames) {
  const CsvTable table = read("  a ,\tb\t\n 1 ,  2\n\t3\t,4   \n");
  EXPECT_EQ(table.columns[0].name, "a");
  EXPECT_EQ(table.columns[1].name, "b");
  EXPECT_EQ(table.column("a").values, (Values{1, 3}));
  EXPECT_EQ(table.column("b").values, (Values{2, 4}));
}

TEST_F(CsvTest, NumbersAcceptSignsExponentsAndRoundTinyValuesToZero) {
  const CsvTable table = read("x\n+1.5\n-2\n.5\n1.\n1E3\n-4e-1\n1e-400\n-1e-400\n4e-320\n");
  const Values& x = table.column("x").values;
  ASSERT_EQ(x.size(), 9u);
  EXPECT_EQ(x[0], 1.5);
  EXPECT_EQ(x[1], -2);
  EXPECT_EQ(x[2], 0.5);
  EXPECT_EQ(x[3], 1);
  EXPECT_EQ(x[4], 1000);
  EXPECT_EQ(x[5], -0.4);
  EXPECT_EQ(x[6], 0.0);
  EXPECT_EQ(x[7], 0.0);
  EXPECT_TRUE(std::signbit(x[7]));
  EXPECT_EQ(x[8], 4e-320);  // subnormal, kept
}

TEST_F(CsvTest, ParsesShortestRoundTripDigitsExactly) {
  const CsvTable table = read("x\n0.1\n0.30000000000000004\n1.7976931348623157e308\n");
  EXPECT_EQ(table.column("x").values, (Values{0.1, 0.30000000000000004, 1.7976931348623157e308}));
}

TEST_F(CsvTest, CategoricalColumnsMapLabelsToTheirSortedIndex) {
  CsvOptions options;
  options.categorical = {"species"};
  const CsvTable table =
      read("length,species\n1.0,virginica\n2.0,setosa\n3.0,versicolor\n4.0,setosa\n", options);
  const CsvColumn& species = table.column("species");
  EXPECT_EQ(species.labels, (Labels{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(species.values, (Values{2, 0, 1, 0}));
  EXPECT_TRUE(table.column("length").labels.empty());
}

TEST_F(CsvTest, CategoricalLabelsThatLookLikeNumbersSortAsText) {
  CsvOptions options;
  options.categorical = {"digit"};
  const CsvTable table = read("digit\n9\n10\n9\n", options);
  EXPECT_EQ(table.column("digit").labels, (Labels{"10", "9"}));
  EXPECT_EQ(table.column("digit").values, (Values{1, 0, 1}));
}

TEST_F(CsvTest, QuotedFieldsMayHoldDelimitersDoubledQuotesAndNewlines) {
  CsvOptions options;
  options.categorical = {"name"};
  const CsvTable table = read(
      "\"x\",name\n"
      "\"1.5\",\"Smith, J.\"\n"
      "2, \"say \"\"hi\"\"\" \n"
      "3,\"two\nlines\"\n",
      options);
  EXPECT_EQ(table.column("x").values, (Values{1.5, 2, 3}));
  EXPECT_EQ(table.column("name").labels, (Labels{"Smith, J.", "say \"hi\"", "two\nlines"}));
  EXPECT_EQ(table.column("name").values, (Values{0, 1, 2}));
}

TEST_F(CsvTest, AcceptsCrlfCommentsBlankLinesAndAByteOrderMark) {
  const CsvTable table = read(
      "\xEF\xBB\xBF# exported by a spreadsheet\r\n"
      "  # another comment\r\n"
      "\r\n"
      "a,b\r\n"
      "1,2\r\n"
      "\r\n"
      "   \r\n"
      "3,4");  // no final newline
  EXPECT_EQ(table.rows, 2u);
  EXPECT_EQ(table.columns[0].name, "a");
  EXPECT_EQ(table.column("a").values, (Values{1, 3}));
  EXPECT_EQ(table.column("b").values, (Values{2, 4}));
}

TEST_F(CsvTest, OtherDelimiters) {
  CsvOptions tabs;
  tabs.delimiter = '\t';
  const CsvTable tabbed = read("a\tb\n1\t2\n", tabs);
  EXPECT_EQ(tabbed.column("b").values, (Values{2}));

  CsvOptions semicolons;
  semicolons.delimiter = ';';
  const CsvTable european = read("a;b\n1.5;2\n", semicolons);
  EXPECT_EQ(european.column("a").values, (Values{1.5}));
}

TEST_F(CsvTest, NonFiniteValuesOnlyWhenAllowed) {
  CsvOptions options;
  options.allow_non_finite = true;
  const CsvTable table = read("x\nnan\ninf\n-Infinity\n", options);
  const Values& x = table.column("x").values;
  EXPECT_TRUE(std::isnan(x[0]));
  EXPECT_EQ(x[1], INFINITY);
  EXPECT_EQ(x[2], -INFINITY);
}

TEST_F(CsvTest, ManyRowsKeepTheirOrder) {
  std::string content = "i,half\n";
  for (int i = 0; i < 20000; ++i)
    content += std::to_string(i) + "," + std::to_string(i * 0.5) + "\n";
  const CsvTable table = read(content);
  ASSERT_EQ(table.rows, 20000u);
  for (std::size_t i = 0; i < table.rows; ++i) {
    ASSERT_EQ(table.columns[0].values[i], static_cast<double>(i));
    ASSERT_EQ(table.columns[1].values[i], static_cast<double>(i) * 0.5);
  }
}

// ---- column lookup ------------------------------------------------------------------------

TEST_F(CsvTest, UnknownColumnListsTheColumnsAndSuggestsTheNearest) {
  const CsvTable table = read("x1,x2,label\n1,2,3\n");
  auto config = make_source("cfg.toml", "target = \"lable\"");
  try {
    table.column("lable", Span{config, 9, 16});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_EQ(e.render(), "cfg.toml:1:10: error: data file '" + table.path +
                              "' has no column 'lable'; did you mean 'label'?\n"
                              "  target = \"lable\"\n"
                              "           ^~~~~~~\n"
                              "note: the columns are: x1, x2, label");
  }
}

TEST_F(CsvTest, UnknownColumnWithNothingCloseHasNoSuggestion) {
  const CsvTable table = read("x1,x2\n1,2\n");
  try {
    table.column("weight");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.render(), "error: data file '" + table.path +
                              "' has no column 'weight'\nnote: the columns are: x1, x2");
  }
}

// ---- files that cannot be read ------------------------------------------------------------

TEST_F(CsvTest, MissingFileIsAnIoError) {
  const std::string path = (dir_ / "absent.csv").string();
  try {
    read_csv(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(e.render(), "error: cannot open data file '" + path + "': No such file or directory");
  }
}

TEST_F(CsvTest, DirectoryIsAnIoError) {
  try {
    read_csv(dir_.string());
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(e.render(), "error: cannot open data file '" + dir_.string() + "': Is a directory");
  }
}

// ---- malformed files: each with its exact diagnostic ----------------------------------------

TEST_F(CsvTest, RowWithTooFewFields) {
  EXPECT_EQ(error_of("x1,x2,y\n1,2,3\n4,5\n"),
            "data.csv:3:4: error: row has 2 fields, the header has 3\n"
            "  4,5\n"
            "     ^");
}

TEST_F(CsvTest, RowWithTooManyFields) {
  EXPECT_EQ(error_of("x1,x2,y\n1,2,3,4,5\n"),
            "data.csv:2:7: error: row has 5 fields, the header has 3\n"
            "  1,2,3,4,5\n"
            "        ^~~");
}

TEST_F(CsvTest, RowWithTooFewFieldsInACrlfFile) {
  EXPECT_EQ(error_of("a,b\r\n1,2\r\n3\r\n"),
            "data.csv:3:2: error: row has 1 field, the header has 2\n"
            "  3\n"
            "   ^");
}

TEST_F(CsvTest, NonNumericCell) {
  EXPECT_EQ(error_of("x1,x2,y\n1,2,3\n4, abc ,6\n"),
            "data.csv:3:4: error: expected a number in column 'x2', found 'abc'\n"
            "  4, abc ,6\n"
            "     ^~~");
}

TEST_F(CsvTest, NumberWithTrailingText) {
  EXPECT_EQ(error_of("mass\n1.5kg\n"),
            "data.csv:2:1: error: expected a number in column 'mass', found '1.5kg'\n"
            "  1.5kg\n"
            "  ^~~~~");
}

TEST_F(CsvTest, HexadecimalIsNotANumber) {
  EXPECT_EQ(error_of("x\n0x1F\n"),
            "data.csv:2:1: error: expected a number in column 'x', found '0x1F'\n"
            "  0x1F\n"
            "  ^~~~");
}

TEST_F(CsvTest, QuotedCellWithAQuoteInsideIsNotANumber) {
  EXPECT_EQ(error_of("x\n\"1\"\"2\"\n"),
            "data.csv:2:1: error: expected a number in column 'x', found '1\"2'\n"
            "  \"1\"\"2\"\n"
            "  ^~~~~~");
}

TEST_F(CsvTest, CommentAfterTheHeaderIsData) {
  EXPECT_EQ(error_of("x\n1\n# later\n"),
            "data.csv:3:1: error: expected a number in column 'x', found '# later'\n"
            "  # later\n"
            "  ^~~~~~~");
}

TEST_F(CsvTest, NanIsRejectedByDefault) {
  EXPECT_EQ(error_of("x1,x2\n1,nan\n"),
            "data.csv:2:3: error: non-finite value 'nan' in column 'x2'; descent does not train "
            "on NaN/inf data\n"
            "  1,nan\n"
            "    ^~~");
}

TEST_F(CsvTest, InfinityIsRejectedByDefault) {
  EXPECT_EQ(error_of("x1,x2\n-inf,1\n"),
            "data.csv:2:1: error: non-finite value '-inf' in column 'x1'; descent does not train "
            "on NaN/inf data\n"
            "  -inf,1\n"
            "  ^~~~");
}

TEST_F(CsvTest, NumberBeyondTheRangeOfADouble) {
  EXPECT_EQ(error_of("x\n1e400\n"),
            "data.csv:2:1: error: number '1e400' in column 'x' is out of the range of a double\n"
            "  1e400\n"
            "  ^~~~~");
}

TEST_F(CsvTest, EmptyCellBetweenDelimiters) {
  EXPECT_EQ(error_of("x1,x2,y\n1,,3\n"),
            "data.csv:2:3: error: empty value in column 'x2'\n"
            "  1,,3\n"
            "    ^");
}

TEST_F(CsvTest, EmptyCellAfterATrailingDelimiter) {
  EXPECT_EQ(error_of("x1,x2,y\n1,2,\n"),
            "data.csv:2:5: error: empty value in column 'y'\n"
            "  1,2,\n"
            "      ^");
}

TEST_F(CsvTest, EmptyQuotedCell) {
  EXPECT_EQ(error_of("x,y\n1,\"\"\n"),
            "data.csv:2:3: error: empty value in column 'y'\n"
            "  1,\"\"\n"
            "    ^~");
}

TEST_F(CsvTest, EmptyLabel) {
  CsvOptions options;
  options.categorical = {"label"};
  EXPECT_EQ(error_of("x,label\n1,a\n2, \n", options),
            "data.csv:3:4: error: empty value in column 'label'\n"
            "  2, \n"
            "     ^");
}

TEST_F(CsvTest, HeaderOnly) {
  EXPECT_EQ(error_of("x1,x2\n\n  \n"),
            "data.csv:1:1: error: no data rows after the header\n"
            "  x1,x2\n"
            "  ^~~~~");
}

TEST_F(CsvTest, EmptyFile) {
  EXPECT_EQ(error_of(""),
            "data.csv:1:1: error: the data file is empty\n"
            "  \n"
            "  ^");
}

TEST_F(CsvTest, OnlyCommentsAndBlankLines) {
  EXPECT_EQ(error_of("# just a comment\n\n"),
            "data.csv:1:1: error: no header row: the data file holds only blank lines and "
            "comments\n"
            "  # just a comment\n"
            "  ^");
}

TEST_F(CsvTest, UnterminatedQuote) {
  EXPECT_EQ(error_of("x,name\n1,\"abc\n2,def\n"),
            "data.csv:2:3: error: unterminated quoted field\n"
            "  1,\"abc\n"
            "    ^\n"
            "note: a quoted field ends at the next '\"' that is not doubled");
}

TEST_F(CsvTest, TextAfterAClosingQuote) {
  EXPECT_EQ(error_of("x,name\n1,\"ab\"c\n"),
            "data.csv:2:7: error: unexpected 'c' after the closing quote of a field\n"
            "  1,\"ab\"c\n"
            "        ^\n"
            "note: to put a quote inside a quoted field, write it twice (\"\")");
}

TEST_F(CsvTest, DuplicateColumnName) {
  EXPECT_EQ(error_of("x1,x2,x1\n1,2,3\n"),
            "data.csv:1:7: error: duplicate column name 'x1'\n"
            "  x1,x2,x1\n"
            "        ^~\n"
            "note: column 1 has the same name");
}

TEST_F(CsvTest, EmptyColumnName) {
  EXPECT_EQ(error_of("x1,,y\n1,2,3\n"),
            "data.csv:1:4: error: empty column name in the header (column 2)\n"
            "  x1,,y\n"
            "     ^");
}

TEST_F(CsvTest, CategoricalColumnMissingFromTheHeader) {
  CsvOptions options;
  options.categorical = {"lable"};
  EXPECT_EQ(error_of("x,label\n1,a\n", options),
            "data.csv:1:1: error: categorical column 'lable' is not in the header; did you mean "
            "'label'?\n"
            "  x,label\n"
            "  ^~~~~~~\n"
            "note: the columns are: x, label");
}

TEST_F(CsvTest, ErrorAfterAMultiLineFieldPointsAtItsOwnLine) {
  CsvOptions options;
  options.categorical = {"name"};
  EXPECT_EQ(error_of("name,x\n\"two\nlines\",abc\n", options),
            "data.csv:3:8: error: expected a number in column 'x', found 'abc'\n"
            "  lines\",abc\n"
            "         ^~~");
}

TEST_F(CsvTest, TabDelimitedErrorColumn) {
  CsvOptions options;
  options.delimiter = '\t';
  EXPECT_EQ(error_of("a\tb\n1\t2,5\n", options),
            "data.csv:2:3: error: expected a number in column 'b', found '2,5'\n"
            "  1\t2,5\n"
            "   \t^~~");  // the caret line keeps the tab, so it lines up in a terminal
}

TEST_F(CsvTest, LongCellsAreCutInTheMessage) {
  const std::string cell(60, 'z');
  EXPECT_EQ(error_of("x\n" + cell + "\n"),
            "data.csv:2:1: error: expected a number in column 'x', found '" + std::string(40, 'z') +
                "...'\n  " + cell + "\n  ^" + std::string(59, '~'));
}

// ---- wide files ---------------------------------------------------------------------------

// A complexity guard, not a benchmark: the header's duplicate check compared each name with
// every earlier one (160,000 columns took about half a minute); with a hash set a header of
// 300,000 names reads in a fraction of a second. The bound is far above the linear time, even
// under sanitizers.
TEST_F(CsvTest, AWideHeaderIsReadInLinearTime) {
  constexpr int kColumns = 300000;
  std::string header, row;
  for (int i = 0; i < kColumns; ++i) {
    header += (i ? ",c" : "c") + std::to_string(i);
    row += i ? ",1" : "1";
  }
  const std::string path = write("wide.csv", header + "\n" + row + "\n");
  const auto started = std::chrono::steady_clock::now();
  const CsvTable table = read_csv(path);
  ASSERT_EQ(table.columns.size(), static_cast<std::size_t>(kColumns));
  EXPECT_EQ(&table.column("c299999"), &table.columns.back());
  // A duplicate at the very end is still found, and named with the first column of its name.
  try {
    read_csv(write("dup.csv", header + ",c12345\n" + row + ",1\n"));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "duplicate column name 'c12345'");
    EXPECT_EQ(e.note(), "column 12346 has the same name");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_LT(seconds, 10.0) << "reading the header is no longer linear in its length";
}

TEST_F(CsvTest, QuoteCannotBeTheDelimiter) {
  CsvOptions options;
  options.delimiter = '"';
  EXPECT_THROW(read("a\n1\n", options), Error);
}

}  // namespace
}  // namespace descent
