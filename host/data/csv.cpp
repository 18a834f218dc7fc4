// The CSV reader: records from the record splitter (csv_records.hpp), then per-column parsing
// of numbers and labels.
// Performance: the file is read a block at a time, fields are views into the block, and the
// only per-cell work is std::from_chars (numbers) or one hash lookup (labels).
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
#include "data/csv_records.hpp"

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

}  // namespace

// A column while it is read. A categorical column numbers its labels in order of first
// appearance; labels() sorts them.
struct CsvReader::ColumnState {
  bool categorical = false;
  std::vector<std::string> labels;  // by index of first appearance
  // Looking up a known label by string_view allocates nothing.
  std::unordered_map<std::string, std::size_t, StringViewHash, std::equal_to<>> label_ids;

  double label_id(std::string_view label) {
    auto found = label_ids.find(label);
    if (found == label_ids.end()) {
      found = label_ids.emplace(std::string(label), labels.size()).first;
      labels.emplace_back(label);
    }
    return static_cast<double>(found->second);
  }
};

namespace {

// A quote or a line end cannot separate fields: they already mean something else.
void check_delimiter(const std::string& path, char delimiter) {
  if (delimiter == '"' || delimiter == '\n' || delimiter == '\r') {
    throw input_error(fmt::format("'{}' cannot be the delimiter of CSV file '{}'",
                                  shown(std::string_view(&delimiter, 1)), path));
  }
}

// Reads the header row into `table` (names and positions), checking the names. Linear in the
// header's length: a header of a million names is read as fast as a row of a million numbers.
void read_header(CsvRecords& records, CsvTable& table) {
  if (!records.next_record(/*skip_comment_lines=*/true)) {
    throw input_error("no header row: the data file holds only blank lines and comments",
                      records.span(0, 0));
  }
  table.columns.reserve(records.fields().size());
  table.positions.reserve(records.fields().size());
  for (const CsvField& field : records.fields()) {
    std::string name(records.content(field));
    if (name.empty()) {
      throw input_error(
          fmt::format("empty column name in the header (column {})", table.columns.size() + 1),
          records.span(field));
    }
    const auto [earlier, inserted] = table.positions.emplace(name, table.columns.size());
    if (!inserted) {
      throw input_error(fmt::format("duplicate column name '{}'", shown(name)), records.span(field),
                        fmt::format("column {} has the same name", earlier->second + 1));
    }
    CsvColumn column;
    column.name = std::move(name);
    table.columns.push_back(std::move(column));
  }
}

double read_number(CsvRecords& records, const CsvField& field, const std::string& name,
                   const CsvOptions& options) {
  const std::string_view cell = records.content(field);
  double value = 0.0;
  switch (parse_number(cell, value)) {
    case NumberStatus::ok:
      break;
    case NumberStatus::not_a_number:
      throw input_error(
          fmt::format("expected a number in column '{}', found '{}'", name, shown(cell)),
          records.span(field));
    case NumberStatus::out_of_range:
      throw input_error(fmt::format("number '{}' in column '{}' is out of the range of a double",
                                    shown(cell), name),
                        records.span(field));
  }
  if (!options.allow_non_finite && !std::isfinite(value)) {
    throw input_error(fmt::format("non-finite value '{}' in column '{}'; descent does not "
                                  "train on NaN/inf data",
                                  shown(cell), name),
                      records.span(field));
  }
  return value;
}

}  // namespace

CsvReader::CsvReader(const std::string& path, const CsvOptions& options) : options_(options) {
  check_delimiter(path, options.delimiter);
  records_ = std::make_unique<CsvRecords>(path, options.delimiter);
  header_.path = path;
  read_header(*records_, header_);
  header_span_ = records_->span(records_->record_begin(), records_->record_end());
  records_->forget_read_records();
  columns_.resize(header_.columns.size());
  for (const std::string& wanted : options.categorical) {
    const auto found = header_.positions.find(wanted);
    if (found == header_.positions.end() && options.categorical_may_be_absent) continue;
    if (found == header_.positions.end()) {
      std::vector<std::string> names;
      for (const CsvColumn& column : header_.columns) names.push_back(column.name);
      throw input_error(fmt::format("categorical column '{}' is not in the header{}", shown(wanted),
                                    did_you_mean(wanted, names)),
                        header_span_, "the columns are: " + name_list(names));
    }
    columns_[found->second].categorical = true;
  }
  row_.resize(columns_.size());
}

CsvReader::~CsvReader() = default;

std::span<const double> CsvReader::next_row() {
  if (!records_->next_record(/*skip_comment_lines=*/false)) {
    if (rows_ == 0) throw input_error("no data rows after the header", header_span_);
    return {};
  }
  const std::vector<CsvField>& fields = records_->fields();
  if (fields.size() != columns_.size()) {
    // Too many: point at the first extra field. Too few: at the end of the row.
    const Span where =
        fields.size() > columns_.size()
            ? records_->span(fields[columns_.size()].raw_begin, records_->record_end())
            : records_->span(records_->record_end(), records_->record_end());
    throw input_error(fmt::format("row has {}, the header has {}", plural(fields.size(), "field"),
                                  columns_.size()),
                      where);
  }
  for (std::size_t j = 0; j < fields.size(); ++j) {
    const CsvField& field = fields[j];
    const std::string& name = header_.columns[j].name;
    if (field.content_begin == field.content_end) {
      throw input_error(fmt::format("empty value in column '{}'", name), records_->span(field));
    }
    row_[j] = columns_[j].categorical ? columns_[j].label_id(records_->content(field))
                                      : read_number(*records_, field, name, options_);
  }
  ++rows_;
  return row_;
}

CsvReader::Labels CsvReader::labels(std::size_t column) const {
  const ColumnState& state = columns_.at(column);
  Labels out;
  if (!state.categorical) return out;
  std::vector<std::size_t> order(state.labels.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return state.labels[a] < state.labels[b]; });
  out.sorted.resize(order.size());
  out.sorted_index.resize(order.size());
  for (std::size_t rank = 0; rank < order.size(); ++rank) {
    out.sorted_index[order[rank]] = static_cast<double>(rank);
    out.sorted[rank] = state.labels[order[rank]];
  }
  return out;
}

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
  CsvReader reader(path, options);
  CsvTable table = reader.header();
  for (std::span<const double> row; !(row = reader.next_row()).empty();)
    for (std::size_t j = 0; j < row.size(); ++j) table.columns[j].values.push_back(row[j]);
  table.rows = reader.rows();
  for (std::size_t j = 0; j < table.columns.size(); ++j) {
    CsvReader::Labels labels = reader.labels(j);
    if (labels.sorted.empty()) continue;
    CsvColumn& column = table.columns[j];
    for (double& value : column.values)
      value = labels.sorted_index[static_cast<std::size_t>(value)];
    column.labels = std::move(labels.sorted);
  }
  return table;
}

}  // namespace descent
