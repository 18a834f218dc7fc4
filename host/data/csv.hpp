// Reads a CSV data file into columns of doubles: the numbers of numeric columns, and for
// categorical columns the index of each row's label among the column's sorted labels.
//
// The format: a header row of unique, non-empty names, then one row per sample with as many
// fields as the header. Fields are separated by `delimiter`, surrounding blanks are trimmed,
// and a field may be double-quoted (a quote inside it is written ""; a quoted field may span
// lines). CRLF or LF line ends, a UTF-8 byte-order mark, blank lines anywhere and '#' comment
// lines before the header are accepted. Numbers are parsed with std::from_chars (independent
// of the locale) and must fill the whole field; a leading '+' is allowed, hexadecimal is not.
// A number too small for a double rounds to zero; one too large is an error.
//
// Every defect is an input_error pointing at the file, line and column of the bad field.
// The file is read a block at a time (csv_records.hpp): CsvReader hands out one row after the
// other, so that a caller can keep the values where it wants them and the file's text is never
// held whole; read_csv keeps them as columns.
// Does not: guess the delimiter or whether a column is categorical, accept missing values, or
// convert encodings (bytes are compared as they are).
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/source.hpp"

namespace descent {

struct CsvOptions {
  // Columns whose fields are kept as labels rather than parsed as numbers.
  std::vector<std::string> categorical;
  // A `categorical` column missing from the header is skipped instead of an error (descent
  // predict: the label column of new rows may be absent).
  bool categorical_may_be_absent = false;
  // Accept nan/inf fields; by default they are an error, because descent does not train on them.
  bool allow_non_finite = false;
  char delimiter = ',';
};

struct CsvColumn {
  std::string name;
  // One value per row. For a categorical column: the row's label's index in `labels`.
  std::vector<double> values;
  // Categorical columns only: the distinct labels, sorted bytewise ("10" sorts before "9").
  std::vector<std::string> labels;
};

// Hash lookups by string_view in maps keyed by std::string (labels, column names).
struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

struct CsvTable {
  std::string path;
  std::vector<CsvColumn> columns;  // in header order
  std::size_t rows = 0;
  // Column name → position in `columns` (read_csv fills it; lookups in a table built without
  // it scan the columns).
  std::unordered_map<std::string, std::size_t, StringViewHash, std::equal_to<>> positions;

  // The column named `name`, or its position in `columns`. An unknown name throws an
  // input_error at `asked_at` (where the config names the column) that lists the columns and
  // suggests the nearest one.
  const CsvColumn& column(std::string_view name, const Span& asked_at = {}) const;
  std::size_t position(std::string_view name, const Span& asked_at = {}) const;
};

class CsvRecords;

// A CSV file read row by row. The constructor reads and checks the header.
class CsvReader {
 public:
  CsvReader(const std::string& path, const CsvOptions& options = {});
  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // The header as a table of no rows: its path, the columns' names and positions.
  const CsvTable& header() const { return header_; }

  // The next row's values, one per column in header order; for a categorical column, the
  // index of the row's label in order of first appearance (labels() maps it to its sorted
  // index). The view lives until the next call. Empty after the last row; a file with no data
  // row is an input_error at its header.
  std::span<const double> next_row();
  std::size_t rows() const { return rows_; }

  // After the last row, the labels of a categorical column (sorted bytewise) and, for each
  // index that next_row gave, the label's index among them; empty for a numeric column.
  struct Labels {
    std::vector<std::string> sorted;
    std::vector<double> sorted_index;  // by index of first appearance
  };
  Labels labels(std::size_t column) const;

 private:
  struct ColumnState;
  CsvOptions options_;
  std::unique_ptr<CsvRecords> records_;
  std::vector<ColumnState> columns_;
  CsvTable header_;
  Span header_span_;
  std::vector<double> row_;
  std::size_t rows_ = 0;
};

// Reads and checks the whole file. Throws Error(io_error) when it cannot be read and an
// input_error (exit code 2) for any defect in its content.
CsvTable read_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace descent
