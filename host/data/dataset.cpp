// Loading a DataConfig into a Dataset (see dataset.hpp).
#include "data/dataset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "common/checked.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/random.hpp"
#include "config/limits.hpp"
#include "data/csv.hpp"
#include "data/npy.hpp"

namespace descent {

namespace {

// The positions in the header of the columns `spec` names, "a..b" expanded to the header's
// columns from a to b inclusive. A column named twice (also through overlapping ranges) is an
// error, so an input is never wider than the file.
std::vector<std::size_t> expand_columns(const InputSpec& spec, const CsvTable& table) {
  std::vector<std::size_t> out;
  std::unordered_set<std::size_t> seen;
  auto add = [&](std::size_t position) {
    if (!seen.insert(position).second)
      throw input_error("the input '" + spec.name + "' names the column '" +
                            table.columns[position].name + "' more than once",
                        spec.where);
    out.push_back(position);
  };
  for (const std::string& item : spec.columns) {
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) {
      add(table.position(item, spec.where));
      continue;
    }
    const std::string first = item.substr(0, dots), last = item.substr(dots + 2);
    const std::size_t a = table.position(first, spec.where);
    const std::size_t b = table.position(last, spec.where);
    if (b < a)
      throw input_error("the column range '" + item + "' runs backwards: '" + last +
                            "' comes before '" + first + "' in " + table.path,
                        spec.where);
    for (std::size_t i = a; i <= b; ++i) add(i);
  }
  return out;
}

// Class labels to indices: labels that are all whole numbers keep their value (0, 1, 2 stay
// themselves); other labels get their position in sorted order.
void map_classes(const CsvColumn& column, DatasetInput& input, std::vector<double>& values) {
  bool numeric = true;
  std::vector<double> as_number;
  for (const std::string& label : column.labels) {
    char* end = nullptr;
    const double v = std::strtod(label.c_str(), &end);
    numeric = numeric && !label.empty() && *end == '\0' && v >= 0 && std::floor(v) == v && v < 1e6;
    as_number.push_back(v);
  }
  values.resize(column.values.size());
  if (numeric) {
    const double k = *std::max_element(as_number.begin(), as_number.end()) + 1;
    input.labels.resize(static_cast<std::size_t>(k));
    for (std::size_t i = 0; i < input.labels.size(); ++i) input.labels[i] = std::to_string(i);
    for (std::size_t r = 0; r < values.size(); ++r)
      values[r] = as_number[static_cast<std::size_t>(column.values[r])];
  } else {
    input.labels = column.labels;
    values = column.values;
  }
}

// Reads a data file; an error that carries no position of its own (a missing file, a damaged
// binary file) is given the position in the config that named the file.
template <class Read>
auto read_or_point_at(const Span& named_at, Read read) {
  try {
    return read();
  } catch (const Error& e) {
    if (e.span().valid() || !named_at.valid()) throw;
    throw Error(e.code(), e.message(), named_at, e.note());
  }
}

struct Columns {
  std::vector<DatasetInput> inputs;
  std::vector<std::vector<double>> all;  // per input: rows * size, file order
  std::int64_t rows = 0;
};

Columns read_csv_inputs(const DataConfig& data) {
  CsvOptions options;
  for (const InputSpec& spec : data.inputs)
    if (spec.classes)
      for (const std::string& c : spec.columns) options.categorical.push_back(c);
  const CsvTable table =
      read_or_point_at(data.file_where, [&] { return read_csv(data.file, options); });
  Columns out;
  out.rows = static_cast<std::int64_t>(table.rows);
  for (const InputSpec& spec : data.inputs) {
    DatasetInput input;
    input.name = spec.name;
    const std::vector<std::size_t> columns = expand_columns(spec, table);
    for (std::size_t c : columns) input.columns.push_back(table.columns[c].name);
    const std::int64_t width = static_cast<std::int64_t>(columns.size());
    input.shape = spec.is_vector ? Shape::vector(width) : Shape::scalar();
    if (spec.classes && columns.size() != 1)
      throw input_error("class labels come from one column, but '" + spec.name + "' names " +
                            std::to_string(columns.size()),
                        spec.where);
    // Each row holds at least one byte per column, so this fits; checked all the same.
    const std::optional<std::int64_t> count = checked_mul(out.rows, width);
    if (!count)
      throw input_error("the input '" + spec.name + "' is too large: " + std::to_string(out.rows) +
                            " rows of " + std::to_string(width) + " columns",
                        spec.where);
    std::vector<double> values(static_cast<std::size_t>(*count));
    for (std::int64_t c = 0; c < width; ++c) {
      const CsvColumn& column = table.columns[columns[static_cast<std::size_t>(c)]];
      std::vector<double> mapped;
      if (spec.classes)
        map_classes(column, input, mapped);
      else
        mapped = column.values;
      for (std::int64_t r = 0; r < out.rows; ++r)
        values[static_cast<std::size_t>(r * width + c)] = mapped[static_cast<std::size_t>(r)];
    }
    out.inputs.push_back(std::move(input));
    out.all.push_back(std::move(values));
  }
  return out;
}

Columns read_npy_inputs(const DataConfig& data) {
  Columns out;
  out.rows = -1;
  for (const InputSpec& spec : data.inputs) {
    NpyArray array = read_or_point_at(spec.where, [&] { return read_npy(spec.npy_file); });
    if (array.shape.empty() || array.shape.size() > 3)
      throw input_error("'" + spec.npy_file + "' must hold one row per sample (1 to 3 axes), not " +
                            std::to_string(array.shape.size()) + " axes",
                        spec.where);
    for (std::size_t axis = 1; axis < array.shape.size(); ++axis)
      if (array.shape[axis] == 0)
        throw input_error("'" + spec.npy_file + "' has an empty axis (axis " +
                              std::to_string(axis) + " has length 0), so its samples hold nothing",
                          spec.where);
    if (array.shape[0] > static_cast<std::size_t>(kMaxDataRows))
      throw input_error("'" + spec.npy_file + "' has " + std::to_string(array.shape[0]) +
                            " rows, more than descent reads (at most " + limit_text(kMaxDataRows) +
                            ")",
                        spec.where);
    const auto rows = static_cast<std::int64_t>(array.shape[0]);
    if (out.rows >= 0 && rows != out.rows)
      throw input_error("'" + spec.npy_file + "' has " + std::to_string(rows) +
                            " rows, but the other inputs have " + std::to_string(out.rows),
                        spec.where);
    out.rows = rows;
    for (std::size_t i = 0; i < array.values.size(); ++i)
      if (!std::isfinite(array.values[i]))
        throw input_error(
            "non-finite value in '" + spec.npy_file + "' at row " +
                std::to_string(i / std::max<std::size_t>(1, array.values.size() / array.shape[0]) +
                               1) +
                "; descent does not train on NaN/inf data",
            spec.where);
    DatasetInput input;
    input.name = spec.name;
    if (array.shape.size() == 1) input.shape = Shape::scalar();
    if (array.shape.size() == 2)
      input.shape = Shape::vector(static_cast<std::int64_t>(array.shape[1]));
    if (array.shape.size() == 3)
      input.shape = Shape::matrix(static_cast<std::int64_t>(array.shape[1]),
                                  static_cast<std::int64_t>(array.shape[2]));
    out.inputs.push_back(std::move(input));
    out.all.push_back(std::move(array.values));
  }
  return out;
}

void standardize(DatasetInput& input, std::int64_t train_rows) {
  const std::int64_t size = input.shape.size();
  input.mean.assign(static_cast<std::size_t>(size), 0.0);
  input.scale.assign(static_cast<std::size_t>(size), 1.0);
  for (std::int64_t i = 0; i < size; ++i) {
    double sum = 0.0;
    for (std::int64_t r = 0; r < train_rows; ++r)
      sum += input.train[static_cast<std::size_t>(r * size + i)];
    const double mean = sum / static_cast<double>(train_rows);
    double sq = 0.0;
    for (std::int64_t r = 0; r < train_rows; ++r) {
      const double d = input.train[static_cast<std::size_t>(r * size + i)] - mean;
      sq += d * d;
    }
    const double sd = std::sqrt(sq / static_cast<double>(train_rows));
    input.mean[static_cast<std::size_t>(i)] = mean;
    if (sd > 0) {
      input.scale[static_cast<std::size_t>(i)] = sd;
    } else {
      spdlog::warn("warning: element {} of input '{}' is constant; it is centred, not scaled", i,
                   input.name);
    }
  }
  auto apply = [&](LargeBuffer& values) {
    for (std::size_t k = 0; k < values.size(); ++k) {
      const std::size_t i = k % static_cast<std::size_t>(size);
      values[k] = (values[k] - input.mean[i]) / input.scale[i];
    }
  };
  apply(input.train);
  apply(input.validation);
}

}  // namespace

Dataset load_dataset(const DataConfig& data, std::uint64_t seed) {
  const bool npy = !data.inputs.empty() && !data.inputs[0].npy_file.empty();
  Columns columns = npy ? read_npy_inputs(data) : read_csv_inputs(data);

  if (columns.rows > kMaxDataRows)
    throw input_error("the data has " + std::to_string(columns.rows) +
                          " rows, more than descent reads (at most " + limit_text(kMaxDataRows) +
                          ")",
                      data.file_where.valid() ? data.file_where : data.where);
  if (columns.rows == 0) throw input_error("the data has no rows", data.where);

  // Split: a seeded permutation; the last `validation` fraction is held out. A fraction that
  // holds out no row (early stopping would watch nothing) or every row is refused.
  std::vector<std::int64_t> order(static_cast<std::size_t>(columns.rows));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  if (data.validation > 0) rng.shuffle(order);
  const auto held_out =
      static_cast<std::int64_t>(std::llround(data.validation * static_cast<double>(columns.rows)));
  const Span validation_at = data.validation_where.valid() ? data.validation_where : data.where;
  const std::string rows_text =
      std::to_string(columns.rows) + " row" + (columns.rows == 1 ? "" : "s");
  if (data.validation > 0 && held_out == 0)
    throw input_error("data.validation = " + format_shortest(data.validation) +
                          " holds out 0 of the " + rows_text + " for validation",
                      validation_at,
                      "with " + rows_text + ", a fraction of at least 1/" +
                          std::to_string(2 * columns.rows) +
                          " holds out one row; or remove data.validation");
  Dataset dataset;
  dataset.validation_rows = held_out;
  dataset.train_rows = columns.rows - held_out;
  if (dataset.train_rows < 1)
    throw input_error("data.validation = " + format_shortest(data.validation) + " holds out " +
                          std::to_string(held_out) + " of the " + rows_text +
                          " for validation, which leaves none to train on",
                      validation_at);

  for (std::size_t k = 0; k < columns.inputs.size(); ++k) {
    DatasetInput input = std::move(columns.inputs[k]);
    const std::int64_t size = input.shape.size();
    const std::vector<double>& all = columns.all[k];
    auto gather = [&](std::int64_t from, std::int64_t to, LargeBuffer& out) {
      out.resize(static_cast<std::size_t>((to - from) * size));
      for (std::int64_t r = from; r < to; ++r)
        std::copy_n(all.begin() + order[static_cast<std::size_t>(r)] * size, size,
                    out.begin() + (r - from) * size);
    };
    gather(0, dataset.train_rows, input.train);
    gather(dataset.train_rows, columns.rows, input.validation);
    const InputSpec& spec = data.inputs[k];
    if (spec.standardize) standardize(input, dataset.train_rows);
    dataset.inputs.push_back(std::move(input));
  }
  dataset.file_rows = std::move(order);
  return dataset;
}

}  // namespace descent
