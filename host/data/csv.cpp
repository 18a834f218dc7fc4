// The CSV reader: a record splitter over the file's text (held once, in a Source, so that
// every error can point into it), then per-column parsing of numbers and labels.
// Performance: the file is read in one call, fields are views into it, and the only per-cell
// work is std::from_chars (numbers) or one hash lookup (labels).
#include "data/csv.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <system_error>
#include <unordered_map>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "data/data_file.hpp"

namespace descent {

namespace {

// Cells longer than this are cut in messages: the excerpt below the message shows the rest.
constexpr std::size_t kMaxQuotedCell = 40;

// `cell` as it is quoted in a message: cut when long, control bytes escaped.
std::string shown(std::string_view cell) {
  std::string out;
  const std::string_view kept = cell.substr(0, kMaxQuotedCell);
  for (const char c : kept) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  if (kept.size() < cell.size()) out += "...";
  return out;
}

std::string plural(std::size_t n, std::string_view word) {
  return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
}

// "a, b, c", cut after a screenful of names.
std::string name_list(const std::vector<std::string>& names) {
  constexpr std::size_t kMaxListed = 20;
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < kMaxListed; ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  if (names.size() > kMaxListed) out += fmt::format(", ... ({} more)", names.size() - kMaxListed);
  return out;
}

// The spans of a Source hold 32-bit offsets; a larger file can still be read, and an error
// past 4 GiB gets a Source holding just the offending line, numbered as in the file.
Span span_in(const std::shared_ptr<const Source>& source, std::size_t begin, std::size_t end) {
  constexpr std::size_t kMaxOffset = std::numeric_limits<std::uint32_t>::max();
  if (end <= kMaxOffset) {
    return Span{source, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)};
  }
  const std::string& text = source->text;
  const std::size_t newline_before = begin == 0 ? std::string::npos : text.rfind('\n', begin - 1);
  const std::size_t line_begin = newline_before == std::string::npos ? 0 : newline_before + 1;
  std::size_t line_end = text.find('\n', begin);
  if (line_end == std::string::npos) line_end = text.size();
  const auto lines_before =
      std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(line_begin), '\n');
  auto line = make_source(source->name, text.substr(line_begin, line_end - line_begin),
                          static_cast<int>(1 + lines_before));
  const std::size_t line_length = line_end - line_begin;
  const auto local = [&](std::size_t offset) {
    return static_cast<std::uint32_t>(std::min(offset - line_begin, line_length));
  };
  return Span{std::move(line), local(begin), local(std::max(begin, end))};
}

// CRLF → LF, in place. Dropping the CR of a line end moves no character to another line or
// column, so positions in the result are positions in the file, and excerpts stay clean.
void drop_carriage_returns_before_newlines(std::string& text) {
  if (text.find("\r\n") == std::string::npos) return;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    text[kept++] = text[i];
  }
  text.resize(kept);
}

// One field of the current record, as offsets into the text.
struct Field {
  std::size_t raw_begin = 0;  // what the user wrote, blanks trimmed, quotes included
  std::size_t raw_end = 0;
  std::size_t content_begin = 0;  // inside the quotes for a quoted field
  std::size_t content_end = 0;
  bool has_doubled_quotes = false;  // the content holds "" pairs that each stand for one quote
};

// Splits the text into records of fields, RFC 4180 style, skipping blank lines.
class RecordSplitter {
 public:
  RecordSplitter(std::shared_ptr<const Source> source, char delimiter)
      : source_(std::move(source)), text_(source_->text), delimiter_(delimiter) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // a UTF-8 byte-order mark
  }

  // Moves to the next record that is not blank (nor, when asked, a '#' comment line) and
  // splits it into fields(). False at the end of the text.
  bool next_record(bool skip_comment_lines) {
    if (!skip_to_record(skip_comment_lines)) return false;
    record_begin_ = pos_;
    fields_.clear();
    for (;;) {
      fields_.push_back(split_field());
      if (pos_ < text_.size() && text_[pos_] == delimiter_) {
        ++pos_;
        continue;
      }
      record_end_ = pos_;  // at the newline or the end of the text
      if (pos_ < text_.size()) ++pos_;
      return true;
    }
  }

  const std::vector<Field>& fields() const { return fields_; }
  std::size_t record_begin() const { return record_begin_; }
  std::size_t record_end() const { return record_end_; }

  // The field's content with "" pairs undone. The view lives until the next call.
  std::string_view content(const Field& field) {
    const std::string_view raw(text_.data() + field.content_begin,
                               field.content_end - field.content_begin);
    if (!field.has_doubled_quotes) return raw;
    unquoted_.clear();
    for (std::size_t i = 0; i < raw.size(); ++i) {
      unquoted_ += raw[i];
      if (raw[i] == '"') ++i;  // the second quote of a pair
    }
    return unquoted_;
  }

  Span span(std::size_t begin, std::size_t end) const { return span_in(source_, begin, end); }
  Span span(const Field& field) const { return span(field.raw_begin, field.raw_end); }

 private:
  bool is_blank(char c) const { return (c == ' ' || c == '\t' || c == '\r') && c != delimiter_; }

  bool skip_to_record(bool skip_comment_lines) {
    while (pos_ < text_.size()) {
      std::size_t first = pos_;
      while (first < text_.size() && is_blank(text_[first])) ++first;
      const bool blank = first == text_.size() || text_[first] == '\n';
      const bool comment = skip_comment_lines && first < text_.size() && text_[first] == '#';
      if (!blank && !comment) return true;
      const std::size_t newline = text_.find('\n', first);
      pos_ = newline == std::string::npos ? text_.size() : newline + 1;
    }
    return false;
  }

  Field split_field() {
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    Field field;
    field.raw_begin = pos_;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      split_quoted(field);
    } else {
      while (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n') ++pos_;
      std::size_t end = pos_;
      while (end > field.raw_begin && is_blank(text_[end - 1])) --end;
      field.content_begin = field.raw_begin;
      field.raw_end = field.content_end = end;
    }
    return field;
  }

  void split_quoted(Field& field) {
    const std::size_t open = pos_;
    field.content_begin = open + 1;
    std::size_t search_from = open + 1;
    for (;;) {
      const std::size_t quote = text_.find('"', search_from);
      if (quote == std::string::npos) {
        throw input_error("unterminated quoted field", span(open, open + 1),
                          "a quoted field ends at the next '\"' that is not doubled");
      }
      if (quote + 1 < text_.size() && text_[quote + 1] == '"') {
        field.has_doubled_quotes = true;
        search_from = quote + 2;
        continue;
      }
      field.content_end = quote;
      field.raw_end = pos_ = quote + 1;
      break;
    }
    while (pos_ < text_.size() && is_blank(text_[pos_])) ++pos_;
    if (pos_ < text_.size() && text_[pos_] != delimiter_ && text_[pos_] != '\n') {
      throw input_error(fmt::format("unexpected '{}' after the closing quote of a field",
                                    shown(std::string_view(&text_[pos_], 1))),
                        span(pos_, pos_ + 1),
                        "to put a quote inside a quoted field, write it twice (\"\")");
    }
  }

  std::shared_ptr<const Source> source_;
  const std::string& text_;
  char delimiter_;
  std::size_t pos_ = 0;
  std::size_t record_begin_ = 0;
  std::size_t record_end_ = 0;
  std::vector<Field> fields_;
  std::string unquoted_;
};

// True when a number whose magnitude does not fit a double is too small rather than too
// large: its leading digit's decimal exponent is negative ("0.000...1", "12e-400").
bool is_underflow(std::string_view number) {
  std::size_t i = 0;
  if (i < number.size() && (number[i] == '-' || number[i] == '+')) ++i;
  std::int64_t lead_exponent = 0;
  bool found_leading_digit = false;
  std::int64_t integer_digits = 0;
  for (; i < number.size() && number[i] >= '0' && number[i] <= '9'; ++i) {
    if (found_leading_digit || number[i] != '0') {
      found_leading_digit = true;
      ++integer_digits;
    }
  }
  if (found_leading_digit) lead_exponent = integer_digits - 1;
  if (i < number.size() && number[i] == '.') {
    ++i;
    std::int64_t zeros = 0;
    for (; i < number.size() && number[i] >= '0' && number[i] <= '9'; ++i) {
      if (found_leading_digit) continue;
      if (number[i] == '0') {
        ++zeros;
      } else {
        found_leading_digit = true;
        lead_exponent = -(zeros + 1);
      }
    }
  }
  if (i < number.size() && (number[i] == 'e' || number[i] == 'E')) {
    ++i;
    const bool negative = i < number.size() && number[i] == '-';
    if (i < number.size() && (number[i] == '-' || number[i] == '+')) ++i;
    std::int64_t exponent = 0;
    for (; i < number.size() && number[i] >= '0' && number[i] <= '9'; ++i) {
      exponent = std::min<std::int64_t>(exponent * 10 + (number[i] - '0'), 1'000'000'000);
    }
    lead_exponent += negative ? -exponent : exponent;
  }
  return lead_exponent < 0;
}

enum class NumberStatus { ok, not_a_number, out_of_range };

// The whole of `cell` as a double, correctly rounded.
NumberStatus parse_number(std::string_view cell, double& value) {
  std::string_view digits = cell;
  // from_chars takes no '+'; accept one sign, not "+-1".
  if (digits.size() > 1 && digits[0] == '+' && digits[1] != '-' && digits[1] != '+') {
    digits.remove_prefix(1);
  }
  const char* end = digits.data() + digits.size();
  const auto [stop, error] = std::from_chars(digits.data(), end, value);
  if (stop != end || error == std::errc::invalid_argument) return NumberStatus::not_a_number;
  if (error == std::errc::result_out_of_range) {
    if (!is_underflow(digits)) return NumberStatus::out_of_range;
    value = digits.starts_with('-') ? -0.0 : 0.0;
  }
  return NumberStatus::ok;
}

// A column while it is read. Categorical columns first number labels in order of first
// appearance; finish() renumbers them in sorted order.
struct ColumnBuilder {
  CsvColumn column;
  bool categorical = false;
  // Looking up a known label by string_view allocates nothing.
  std::unordered_map<std::string, std::size_t, StringViewHash, std::equal_to<>> label_ids;

  double label_id(std::string_view label) {
    auto found = label_ids.find(label);
    if (found == label_ids.end()) {
      found = label_ids.emplace(std::string(label), column.labels.size()).first;
      column.labels.emplace_back(label);
    }
    return static_cast<double>(found->second);
  }

  void finish() {
    if (!categorical) return;
    std::vector<std::size_t> order(column.labels.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return column.labels[a] < column.labels[b]; });
    std::vector<double> rank_of_id(order.size());
    std::vector<std::string> sorted_labels(order.size());
    for (std::size_t rank = 0; rank < order.size(); ++rank) {
      rank_of_id[order[rank]] = static_cast<double>(rank);
      sorted_labels[rank] = std::move(column.labels[order[rank]]);
    }
    for (double& value : column.values) value = rank_of_id[static_cast<std::size_t>(value)];
    column.labels = std::move(sorted_labels);
    label_ids.clear();
  }
};

// A quote or a line end cannot separate fields: they already mean something else.
void check_delimiter(const std::string& path, char delimiter) {
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
    throw input_error(fmt::format("'{}' cannot be the delimiter of CSV file '{}'",
                                  shown(std::string_view(&delimiter, 1)), path));
  }
}

using ColumnPositions =
    std::unordered_map<std::string, std::size_t, StringViewHash, std::equal_to<>>;

// Reads the header row into builders, one per column, checking the names; `positions` maps
// each name to its column. Linear in the header's length: a header of a million names is read
// as fast as a row of a million numbers.
std::vector<ColumnBuilder> read_header(RecordSplitter& splitter, const CsvOptions& options,
                                       ColumnPositions& positions) {
  if (!splitter.next_record(/*skip_comment_lines=*/true)) {
    throw input_error("no header row: the data file holds only blank lines and comments",
                      splitter.span(0, 0));
  }
  std::vector<ColumnBuilder> builders;
  builders.reserve(splitter.fields().size());
  positions.reserve(splitter.fields().size());
  for (const Field& field : splitter.fields()) {
    std::string name(splitter.content(field));
    if (name.empty()) {
      throw input_error(
          fmt::format("empty column name in the header (column {})", builders.size() + 1),
          splitter.span(field));
    }
    const auto [earlier, inserted] = positions.emplace(name, builders.size());
    if (!inserted) {
      throw input_error(fmt::format("duplicate column name '{}'", shown(name)),
                        splitter.span(field),
                        fmt::format("column {} has the same name", earlier->second + 1));
    }
    ColumnBuilder builder;
    builder.column.name = std::move(name);
    builders.push_back(std::move(builder));
  }
  const Span header = splitter.span(splitter.record_begin(), splitter.record_end());
  for (const std::string& wanted : options.categorical) {
    const auto found = positions.find(wanted);
    if (found == positions.end() && options.categorical_may_be_absent) continue;
    if (found == positions.end()) {
      std::vector<std::string> names;
      for (const ColumnBuilder& builder : builders) names.push_back(builder.column.name);
      throw input_error(fmt::format("categorical column '{}' is not in the header{}", shown(wanted),
                                    did_you_mean(wanted, names)),
                        header, "the columns are: " + name_list(names));
    }
    builders[found->second].categorical = true;
  }
  return builders;
}

void read_number(RecordSplitter& splitter, const Field& field, ColumnBuilder& builder,
                 const CsvOptions& options) {
  const std::string_view cell = splitter.content(field);
  const std::string& name = builder.column.name;
  double value = 0.0;
  switch (parse_number(cell, value)) {
    case NumberStatus::ok:
      break;
    case NumberStatus::not_a_number:
      throw input_error(
          fmt::format("expected a number in column '{}', found '{}'", name, shown(cell)),
          splitter.span(field));
    case NumberStatus::out_of_range:
      throw input_error(fmt::format("number '{}' in column '{}' is out of the range of a double",
                                    shown(cell), name),
                        splitter.span(field));
  }
  if (!options.allow_non_finite && !std::isfinite(value)) {
    throw input_error(fmt::format("non-finite value '{}' in column '{}'; descent does not "
                                  "train on NaN/inf data",
                                  shown(cell), name),
                      splitter.span(field));
  }
  builder.column.values.push_back(value);
}

}  // namespace

const CsvColumn& CsvTable::column(std::string_view name, const Span& asked_at) const {
  return columns[position(name, asked_at)];
}

std::size_t CsvTable::position(std::string_view name, const Span& asked_at) const {
  if (const auto found = positions.find(name); found != positions.end()) return found->second;
  if (positions.empty()) {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i].name == name) return i;
  }
  std::vector<std::string> names;
  for (const CsvColumn& c : columns) names.push_back(c.name);
  throw input_error(fmt::format("data file '{}' has no column '{}'{}", path, shown(name),
                                did_you_mean(name, names)),
                    asked_at, "the columns are: " + name_list(names));
}

CsvTable read_csv(const std::string& path, const CsvOptions& options) {
  check_delimiter(path, options.delimiter);
  std::string text = read_data_file(path);
  drop_carriage_returns_before_newlines(text);
  const auto line_count = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  const auto source = make_source(path, std::move(text));
  if (source->text.empty()) throw input_error("the data file is empty", Span{source, 0, 0});

  RecordSplitter splitter(source, options.delimiter);
  ColumnPositions positions;
  std::vector<ColumnBuilder> builders = read_header(splitter, options, positions);
  const Span header = splitter.span(splitter.record_begin(), splitter.record_end());
  // Reserving room for every row spares the growth (and the doubled peak memory) of a million
  // push_backs. Each row takes a line and, its fields being non-empty, at least one byte per
  // column: either bound caps the rows, and the second keeps a wide header over many blank
  // lines from reserving more than the file could hold.
  const std::size_t max_rows = std::min(line_count + 1, source->text.size() / builders.size() + 1);
  for (ColumnBuilder& builder : builders) builder.column.values.reserve(max_rows);

  std::size_t rows = 0;
  while (splitter.next_record(/*skip_comment_lines=*/false)) {
    const std::vector<Field>& fields = splitter.fields();
    if (fields.size() != builders.size()) {
      // Too many: point at the first extra field. Too few: at the end of the row.
      const Span where =
          fields.size() > builders.size()
              ? splitter.span(fields[builders.size()].raw_begin, splitter.record_end())
              : splitter.span(splitter.record_end(), splitter.record_end());
      throw input_error(fmt::format("row has {}, the header has {}", plural(fields.size(), "field"),
                                    builders.size()),
                        where);
    }
    for (std::size_t j = 0; j < fields.size(); ++j) {
      ColumnBuilder& builder = builders[j];
      const Field& field = fields[j];
      if (field.content_begin == field.content_end) {
        throw input_error(fmt::format("empty value in column '{}'", builder.column.name),
                          splitter.span(field));
      }
      if (builder.categorical) {
        builder.column.values.push_back(builder.label_id(splitter.content(field)));
      } else {
        read_number(splitter, field, builder, options);
      }
    }
    ++rows;
  }
  if (rows == 0) throw input_error("no data rows after the header", header);

  CsvTable table;
  table.path = path;
  table.rows = rows;
  table.positions = std::move(positions);
  table.columns.reserve(builders.size());
  for (ColumnBuilder& builder : builders) {
    builder.finish();
    table.columns.push_back(std::move(builder.column));
  }
  return table;
}

}  // namespace descent
