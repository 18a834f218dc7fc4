// The record splitter of the CSV reader (csv.hpp): a CSV file's records split into fields,
// RFC 4180 style, over a window of the file's text that slides forward a block at a time, so
// that a file of any size is read in a few MiB of memory. CRLF line ends become LF as the text
// is read (dropping the CR of a line end moves no character to another line or column), a UTF-8
// byte-order mark is skipped, and blank lines (and, when asked, '#' comment lines) between
// records are skipped.
//
// Positions: an error's Span holds a Source of just the lines it points at, numbered as in the
// file, so that it outlives the window. Does not parse numbers or labels (csv.cpp does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/source.hpp"
#include "data/data_file.hpp"

namespace descent {

// One field of the current record, as offsets into the window's text.
struct CsvField {
  std::size_t raw_begin = 0;  // what the user wrote, blanks trimmed, quotes included
  std::size_t raw_end = 0;
  std::size_t content_begin = 0;  // inside the quotes for a quoted field
  std::size_t content_end = 0;
  bool has_doubled_quotes = false;  // the content holds "" pairs that each stand for one quote
};

class CsvRecords {
 public:
  // Opens the file and reads its first block. An empty file is an input_error.
  CsvRecords(const std::string& path, char delimiter);

  // Moves to the next record that is not blank (nor, when asked, a '#' comment line) and
  // splits it into fields(). False at the end of the file. An unterminated quoted field, or
  // text after a closing quote, is an input_error.
  bool next_record(bool skip_comment_lines);

  // From now on the text before the current record may be dropped (it is kept until then, so
  // that spans into the lines before the header stay valid while the header is looked for).
  void forget_read_records() { forget_ = true; }

  const std::vector<CsvField>& fields() const { return fields_; }
  std::size_t record_begin() const { return record_begin_; }
  std::size_t record_end() const { return record_end_; }

  // The field's content with "" pairs undone. The view lives until the next call.
  std::string_view content(const CsvField& field);

  // [begin, end) of the window's text (offsets as fields() gives them), as a Span of a Source
  // that holds the lines from the one holding `begin` to the one holding `end`.
  Span span(std::size_t begin, std::size_t end) const;
  Span span(const CsvField& field) const { return span(field.raw_begin, field.raw_end); }

 private:
  enum class Skip : std::uint8_t { at_record, at_end, need_more };

  bool is_blank(char c) const { return (c == ' ' || c == '\t' || c == '\r') && c != delimiter_; }
  Skip skip_to_record(bool skip_comment_lines);
  bool split_record();
  bool split_field(CsvField& field);
  bool split_quoted(CsvField& field);
  // Reads the next block (drops the text before pos_ first, once forget_read_records() was
  // called); at least as many bytes as the window holds, so that a record of any length is
  // re-split O(log length) times.
  void read_more();

  DataFile file_;
  char delimiter_;
  std::string text_;             // the window; text_[visible_] on is a CR that may start a CRLF
  std::size_t visible_ = 0;      // the bytes of text_ that the splitter reads
  bool at_eof_ = false;          // the whole file has been read
  bool forget_ = false;          // text before the current record may be dropped
  std::int64_t first_line_ = 1;  // the file line of text_[0]
  std::size_t pos_ = 0;
  std::size_t record_begin_ = 0;
  std::size_t record_end_ = 0;
  std::vector<CsvField> fields_;
  std::string unquoted_;
};

}  // namespace descent
