// Fuzz target: the CSV reader (host/data/csv.cpp) on the bytes of a file, then the data set
// built from it (host/data/dataset.cpp): a vector input over a range of columns, the last
// column as a scalar or class-label input, standardization and a validation split.
// Input: one byte of options, then the file. Option bits: 0-1 the delimiter (, ; tab |),
// 2 allow nan/inf, 3 the last column holds class labels, 4 standardize, 5-7 the validation
// fraction in eighths of 1/2.
// Bad input must end in a descent::Error; a crash, a sanitizer report, another exception or
// an "internal" error is a finding.
#include "data/csv.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "data/dataset.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace descent;

constexpr char kDelimiters[] = {',', ';', '\t', '|'};

void read_and_load(const std::string& path, std::uint8_t options_byte) {
  CsvOptions options;
  options.delimiter = kDelimiters[options_byte & 3];
  options.allow_non_finite = (options_byte & 4) != 0;
  const CsvTable table = read_csv(path, options);
  descent::fuzz::require(!table.columns.empty() && table.rows > 0, "an empty table was read");
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    descent::fuzz::require(table.columns[i].values.size() == table.rows, "a short column");
    descent::fuzz::require(table.position(table.columns[i].name) == i, "a column lookup is wrong");
  }
  if (options.allow_non_finite || table.columns.size() < 2) return;

  // x = "first..second-to-last", y = "last": the data set a fit config would read.
  DataConfig data;
  data.present = true;
  data.file = path;
  InputSpec x;
  x.name = "x";
  x.columns = {table.columns.front().name + ".." + table.columns[table.columns.size() - 2].name};
  x.is_vector = true;
  x.standardize = (options_byte & 16) != 0;
  InputSpec y;
  y.name = "y";
  y.columns = {table.columns.back().name};
  y.classes = (options_byte & 8) != 0;
  data.inputs = {x, y};
  data.validation = static_cast<double>(options_byte >> 5) / 16.0;
  data.seed = 7;
  const Dataset dataset = load_dataset(data, data.seed);
  descent::fuzz::require(
      dataset.train_rows + dataset.validation_rows == static_cast<std::int64_t>(table.rows),
      "the split lost rows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > descent::fuzz::kMaxInputBytes) return 0;
  static const descent::fuzz::InputFile file;
  if (size == 0) return 0;
  file.write(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));
  descent::fuzz::expect_clean([&] { read_and_load(file.path(), data[0]); });
  return 0;
}
