// Reading the files of [constants] (see constant_file.hpp).
#include "data/constant_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <string_view>
#include <system_error>

#include "common/error.hpp"
#include "config/limits.hpp"
#include "data/data_file.hpp"
#include "data/npy.hpp"

namespace descent {

namespace {

namespace fs = std::filesystem;

std::string label(const ConstantSpec& c) { return "constants." + c.name; }

// An error about the file as a whole, at its name in the config.
Error file_error(const ConstantSpec& c, const std::string& what, std::string note = {}) {
  return input_error(fmt::format("{}: {}", label(c), what), c.where, std::move(note));
}

std::string_view trimmed(std::string_view text) {
  const std::size_t begin = text.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(" \t\r") - begin + 1);
}

// The numbers of a CSV file, row by row; `cols` is the count of every row.
struct CsvNumbers {
  std::vector<double> values;
  std::int64_t rows = 0;
  std::int64_t cols = 0;
};

CsvNumbers parse_csv_numbers(const ConstantSpec& c, std::string text) {
  if (text.size() > std::numeric_limits<std::uint32_t>::max())
    throw file_error(c, fmt::format("'{}' is too large for a CSV constant; write it as .npy",
                                    c.file_as_written));
  const auto source = make_source(c.file, std::move(text));
  const std::string_view all = source->text;
  const std::string note = fmt::format("read for {} ({})", label(c), c.where.where());
  const auto at = [&](std::size_t begin, std::size_t end) {
    return Span{source, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)};
  };
  CsvNumbers out;
  std::size_t line_begin = 0;
  while (line_begin < all.size()) {
    std::size_t line_end = all.find('\n', line_begin);
    if (line_end == std::string_view::npos) line_end = all.size();
    const std::string_view line = all.substr(line_begin, line_end - line_begin);
    const std::string_view content = trimmed(line);
    if (!content.empty() && content[0] != '#') {
      std::int64_t fields = 0;
      std::size_t field_begin = line_begin;
      for (;;) {
        std::size_t comma = all.find(',', field_begin);
        if (comma == std::string_view::npos || comma > line_end) comma = line_end;
        const std::string_view raw = all.substr(field_begin, comma - field_begin);
        const std::string_view field = trimmed(raw);
        const std::size_t begin = field_begin + (field.empty() ? 0 : field.data() - raw.data());
        double value = 0;
        const char* first = field.data();
        const char* last = first + field.size();
        if (!field.empty() && *first == '+') ++first;
        const auto [ptr, ec] = std::from_chars(first, last, value);
        if (field.empty() || ec != std::errc() || ptr != last)
          throw input_error(field.empty() ? std::string("an empty field; a constant's CSV file "
                                                        "holds numbers only")
                                          : fmt::format("'{}' is not a number", field),
                            at(begin, begin + field.size()), note);
        if (!std::isfinite(value))
          throw input_error(fmt::format("'{}' is not finite; a constant must be finite", field),
                            at(begin, begin + field.size()), note);
        out.values.push_back(value);
        ++fields;
        if (comma == line_end) break;
        field_begin = comma + 1;
      }
      if (out.rows == 0) out.cols = fields;
      if (fields != out.cols)
        throw input_error(fmt::format("this row has {} number{} but the first has {}: a "
                                      "constant's rows must be of one length",
                                      fields, fields == 1 ? "" : "s", out.cols),
                          at(line_begin, line_begin + line.size()), note);
      ++out.rows;
    }
    line_begin = line_end + 1;
  }
  if (out.rows == 0) throw file_error(c, fmt::format("'{}' holds no numbers", c.file_as_written));
  return out;
}

void read_csv_constant(ConstantSpec& c, std::string text) {
  const CsvNumbers numbers = parse_csv_numbers(c, std::move(text));
  // As numpy.loadtxt: one number a scalar, one row or one column a vector, else a matrix.
  if (numbers.values.size() == 1)
    c.shape = Shape::scalar();
  else if (numbers.rows == 1 || numbers.cols == 1)
    c.shape = Shape::vector(static_cast<std::int64_t>(numbers.values.size()));
  else
    c.shape = Shape::matrix(numbers.rows, numbers.cols);
  c.values = numbers.values;
}

void read_npy_constant(ConstantSpec& c) {
  NpyArray array;
  try {
    array = read_npy(c.file);
  } catch (const Error& e) {
    throw file_error(c, e.message(), e.note());
  }
  if (array.shape.size() > 2)
    throw file_error(c, fmt::format("'{}' holds an array of {} axes, but a constant has at most 2",
                                    c.file_as_written, array.shape.size()));
  if (array.values.empty())
    throw file_error(c, fmt::format("'{}' holds an empty array", c.file_as_written));
  const auto bad = std::find_if(array.values.begin(), array.values.end(),
                                [](double v) { return !std::isfinite(v); });
  if (bad != array.values.end())
    throw file_error(c, fmt::format("'{}' holds {} at flat index {}; a constant must be finite",
                                    c.file_as_written, *bad, bad - array.values.begin()));
  const auto dim = [&](std::size_t a) { return static_cast<std::int64_t>(array.shape[a]); };
  c.shape = array.shape.empty()       ? Shape::scalar()
            : array.shape.size() == 1 ? Shape::vector(dim(0))
                                      : Shape::matrix(dim(0), dim(1));
  c.values = std::move(array.values);
}

void read_constant_file(ConstantSpec& c) {
  std::error_code ec;
  const fs::file_status status = fs::status(c.file, ec);
  if (!fs::exists(status))
    throw file_error(c, fmt::format("the file '{}' does not exist", c.file_as_written),
                     c.file != c.file_as_written ? "looked for " + c.file : "");
  if (fs::is_directory(status))
    throw file_error(c, fmt::format("'{}' is a folder, not a file", c.file_as_written));
  std::string extension = fs::path(c.file).extension().string();
  for (char& ch : extension) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (extension == ".npy") {
    read_npy_constant(c);
  } else {
    std::string text;
    try {
      text = read_data_file(c.file);
    } catch (const Error& e) {
      throw file_error(c, e.message());
    }
    read_csv_constant(c, std::move(text));
  }
  if (static_cast<std::int64_t>(c.values.size()) > kMaxParamElements)
    throw file_error(
        c, fmt::format("'{}' holds {} values, more than a constant may hold ({})",
                       c.file_as_written, c.values.size(), limit_text(kMaxParamElements)));
  c.file_read = true;
}

}  // namespace

void read_constant_files(ExperimentConfig& config) {
  for (ConstantSpec& c : config.constants)
    if (c.from_file() && !c.file_read) read_constant_file(c);
}

}  // namespace descent
