// Loading a DataConfig into a Dataset (see dataset.hpp).
#include "data/dataset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/error.hpp"
#include "common/random.hpp"
#include "data/csv.hpp"
#include "data/npy.hpp"

namespace descent {

namespace {

// Expands "a..b" into the header's columns from a to b inclusive.
std::vector<std::string> expand_columns(const InputSpec& spec, const CsvTable& table) {
  std::vector<std::string> out;
  for (const std::string& item : spec.columns) {
    const std::size_t dots = item.find("..");
    if (dots == std::string::npos) {
      out.push_back(table.column(item, spec.where).name);
      continue;
    }
    const std::string first = item.substr(0, dots), last = item.substr(dots + 2);
    const CsvColumn* a = &table.column(first, spec.where);
    const CsvColumn* b = &table.column(last, spec.where);
    const auto ia = a - table.columns.data(), ib = b - table.columns.data();
    if (ib < ia)
      throw input_error("the column range '" + item + "' runs backwards: '" + last +
                            "' comes before '" + first + "' in " + table.path,
                        spec.where);
    for (auto i = ia; i <= ib; ++i) out.push_back(table.columns[static_cast<std::size_t>(i)].name);
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
    const std::vector<std::string> columns = expand_columns(spec, table);
    input.columns = columns;
    const std::int64_t width = static_cast<std::int64_t>(columns.size());
    input.shape = spec.is_vector ? Shape::vector(width) : Shape::scalar();
    if (spec.classes && columns.size() != 1)
      throw input_error("class labels come from one column, but '" + spec.name + "' names " +
                            std::to_string(columns.size()),
                        spec.where);
    std::vector<double> values(static_cast<std::size_t>(out.rows * width));
    for (std::int64_t c = 0; c < width; ++c) {
      const CsvColumn& column = table.column(columns[static_cast<std::size_t>(c)], spec.where);
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

  // Split: a seeded permutation; the last `validation` fraction is held out.
  std::vector<std::int64_t> order(static_cast<std::size_t>(columns.rows));
  std::iota(order.begin(), order.end(), 0);
  Rng rng(seed);
  if (data.validation > 0) rng.shuffle(order);
  const auto held_out =
      static_cast<std::int64_t>(std::llround(data.validation * static_cast<double>(columns.rows)));
  Dataset dataset;
  dataset.validation_rows = held_out;
  dataset.train_rows = columns.rows - held_out;
  if (dataset.train_rows < 1)
    throw input_error("no training rows are left after holding out " + std::to_string(held_out) +
                          " for validation",
                      data.where);

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
