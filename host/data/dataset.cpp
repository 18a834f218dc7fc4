// Loading a DataConfig into a Dataset (see dataset.hpp).
#include "data/dataset.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <optional>
#include <unordered_set>

#include "common/checked.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/random.hpp"
#include "config/limits.hpp"
#include "data/csv.hpp"
#include "data/data_file.hpp"
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

// Class labels to indices, in place over the input's values (each the index of the row's
// label in order of first appearance): labels that are all whole numbers keep their value
// (0, 1, 2 stay themselves); other labels get their position in sorted order.
void map_classes(const CsvReader::Labels& labels, DatasetInput& input) {
  bool numeric = true;
  std::vector<double> as_number;
  for (const std::string& label : labels.sorted) {
    char* end = nullptr;
    const double v = std::strtod(label.c_str(), &end);
    numeric = numeric && !label.empty() && *end == '\0' && v >= 0 && std::floor(v) == v && v < 1e6;
    as_number.push_back(v);
  }
  std::vector<double> value_of(labels.sorted_index.size());
  if (numeric) {
    const double k = *std::max_element(as_number.begin(), as_number.end()) + 1;
    input.labels.resize(static_cast<std::size_t>(k));
    for (std::size_t i = 0; i < input.labels.size(); ++i) input.labels[i] = std::to_string(i);
    for (std::size_t id = 0; id < value_of.size(); ++id)
      value_of[id] = as_number[static_cast<std::size_t>(labels.sorted_index[id])];
  } else {
    input.labels = labels.sorted;
    value_of = labels.sorted_index;
  }
  for (double& v : input.values) v = value_of[static_cast<std::size_t>(v)];
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

// The inputs with their values in file order, before the split.
struct FileRows {
  std::vector<DatasetInput> inputs;
  std::int64_t rows = 0;
};

FileRows read_csv_inputs(const DataConfig& data) {
  CsvOptions options;
  for (const InputSpec& spec : data.inputs)
    if (spec.classes)
      for (const std::string& c : spec.columns) options.categorical.push_back(c);
  return read_or_point_at(data.file_where, [&] {
    CsvReader reader(data.file, options);
    // A row takes at least one line, so the file's line count bounds the rows, and every
    // input's values are reserved once and filled in place (the pages past the last row are
    // never touched, so they take no memory). A pipe cannot be counted: its arrays grow.
    const std::optional<std::int64_t> lines = count_newlines(data.file);
    FileRows out;
    std::vector<std::vector<std::size_t>> columns_of;  // per input: its columns' positions
    for (const InputSpec& spec : data.inputs) {
      DatasetInput input;
      input.name = spec.name;
      const std::vector<std::size_t> columns = expand_columns(spec, reader.header());
      for (std::size_t c : columns) input.columns.push_back(reader.header().columns[c].name);
      const std::int64_t width = static_cast<std::int64_t>(columns.size());
      input.shape = spec.is_vector ? Shape::vector(width) : Shape::scalar();
      if (spec.classes && columns.size() != 1)
        throw input_error("class labels come from one column, but '" + spec.name + "' names " +
                              std::to_string(columns.size()),
                          spec.where);
      if (lines) {
        // Each line holds at least one byte per column, so this fits; checked all the same.
        const std::int64_t most_rows = std::min(*lines + 1, kMaxDataRows + 1);
        const std::optional<std::int64_t> count = checked_mul(most_rows, width);
        if (!count)
          throw input_error("the input '" + spec.name + "' is too large: up to " +
                                std::to_string(most_rows) + " rows of " + std::to_string(width) +
                                " columns",
                            spec.where);
        input.values.reserve(static_cast<std::size_t>(*count));
      }
      out.inputs.push_back(std::move(input));
      columns_of.push_back(columns);
    }
    for (std::span<const double> row; !(row = reader.next_row()).empty();)
      for (std::size_t k = 0; k < out.inputs.size(); ++k)
        for (std::size_t c : columns_of[k]) out.inputs[k].values.push_back(row[c]);
    out.rows = static_cast<std::int64_t>(reader.rows());
    for (std::size_t k = 0; k < out.inputs.size(); ++k)
      if (data.inputs[k].classes) map_classes(reader.labels(columns_of[k][0]), out.inputs[k]);
    return out;
  });
}

FileRows read_npy_inputs(const DataConfig& data) {
  FileRows out;
  out.rows = -1;
  for (const InputSpec& spec : data.inputs) {
    const auto reader =
        read_or_point_at(spec.where, [&] { return std::make_unique<NpyReader>(spec.npy_file); });
    const std::vector<std::size_t>& shape = reader->shape();
    if (shape.empty() || shape.size() > 3)
      throw input_error("'" + spec.npy_file + "' must hold one row per sample (1 to 3 axes), not " +
                            std::to_string(shape.size()) + " axes",
                        spec.where);
    for (std::size_t axis = 1; axis < shape.size(); ++axis)
      if (shape[axis] == 0)
        throw input_error("'" + spec.npy_file + "' has an empty axis (axis " +
                              std::to_string(axis) + " has length 0), so its samples hold nothing",
                          spec.where);
    if (shape[0] > static_cast<std::size_t>(kMaxDataRows))
      throw input_error("'" + spec.npy_file + "' has " + std::to_string(shape[0]) +
                            " rows, more than descent reads (at most " + limit_text(kMaxDataRows) +
                            ")",
                        spec.where);
    const auto rows = static_cast<std::int64_t>(shape[0]);
    if (out.rows >= 0 && rows != out.rows)
      throw input_error("'" + spec.npy_file + "' has " + std::to_string(rows) +
                            " rows, but the other inputs have " + std::to_string(out.rows),
                        spec.where);
    out.rows = rows;
    DatasetInput input;
    input.name = spec.name;
    if (shape.size() == 1) input.shape = Shape::scalar();
    if (shape.size() == 2) input.shape = Shape::vector(static_cast<std::int64_t>(shape[1]));
    if (shape.size() == 3)
      input.shape =
          Shape::matrix(static_cast<std::int64_t>(shape[1]), static_cast<std::int64_t>(shape[2]));
    input.values.resize(reader->count());
    read_or_point_at(spec.where, [&] { reader->read_values(input.values.data()); });
    // A file of no rows has no values (and is refused once every input is read).
    const std::size_t row_size =
        shape[0] == 0 ? 1 : std::max<std::size_t>(1, input.values.size() / shape[0]);
    for (std::size_t i = 0; i < input.values.size(); ++i)
      if (!std::isfinite(input.values[i]))
        throw input_error("non-finite value in '" + spec.npy_file + "' at row " +
                              std::to_string(i / row_size + 1) +
                              "; descent does not train on NaN/inf data",
                          spec.where);
    out.inputs.push_back(std::move(input));
  }
  return out;
}

// Puts row order[i] of `values` (rows of `size` values) at row i, for every i, in place: each
// cycle of the permutation is followed with one row held aside, so the data is never copied
// whole.
void permute_rows(LargeBuffer& values, std::int64_t size, const std::vector<std::int64_t>& order) {
  const auto row = [&](std::int64_t r) { return values.begin() + r * size; };
  std::vector<bool> placed(order.size(), false);
  std::vector<double> held(static_cast<std::size_t>(size));
  for (std::int64_t start = 0; start < static_cast<std::int64_t>(order.size()); ++start) {
    if (placed[static_cast<std::size_t>(start)]) continue;
    std::copy_n(row(start), size, held.begin());
    for (std::int64_t to = start;;) {
      placed[static_cast<std::size_t>(to)] = true;
      const std::int64_t from = order[static_cast<std::size_t>(to)];
      if (from == start) {
        std::copy_n(held.begin(), size, row(to));
        break;
      }
      std::copy_n(row(from), size, row(to));
      to = from;
    }
  }
}

// Standardizes every row of the input, in place, by the statistics of its first `train_rows`
// rows. Each element's sums take its rows in order (the data is read row by row, one running
// sum per element).
void standardize(DatasetInput& input, std::int64_t train_rows) {
  const auto size = static_cast<std::size_t>(input.shape.size());
  const LargeBuffer& values = input.values;
  std::vector<double> sum(size, 0.0);
  for (std::int64_t r = 0; r < train_rows; ++r)
    for (std::size_t i = 0; i < size; ++i) sum[i] += values[static_cast<std::size_t>(r) * size + i];
  input.mean.assign(size, 0.0);
  for (std::size_t i = 0; i < size; ++i) input.mean[i] = sum[i] / static_cast<double>(train_rows);
  std::vector<double> squares(size, 0.0);
  for (std::int64_t r = 0; r < train_rows; ++r)
    for (std::size_t i = 0; i < size; ++i) {
      const double d = values[static_cast<std::size_t>(r) * size + i] - input.mean[i];
      squares[i] += d * d;
    }
  input.scale.assign(size, 1.0);
  for (std::size_t i = 0; i < size; ++i) {
    const double sd = std::sqrt(squares[i] / static_cast<double>(train_rows));
    if (sd > 0) {
      input.scale[i] = sd;
    } else {
      spdlog::warn("warning: element {} of input '{}' is constant; it is centred, not scaled", i,
                   input.name);
    }
  }
  for (std::size_t k = 0; k < input.values.size(); ++k) {
    const std::size_t i = k % size;
    input.values[k] = (input.values[k] - input.mean[i]) / input.scale[i];
  }
}

}  // namespace

Dataset load_dataset(const DataConfig& data, std::uint64_t seed) {
  const bool npy = !data.inputs.empty() && !data.inputs[0].npy_file.empty();
  FileRows columns = npy ? read_npy_inputs(data) : read_csv_inputs(data);

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

  // Row i of every input becomes file row order[i]: the training rows, then the validation
  // rows, each split in the order that the permutation gives.
  for (std::size_t k = 0; k < columns.inputs.size(); ++k) {
    DatasetInput input = std::move(columns.inputs[k]);
    if (data.validation > 0) permute_rows(input.values, input.shape.size(), order);
    if (data.inputs[k].standardize) standardize(input, dataset.train_rows);
    dataset.inputs.push_back(std::move(input));
  }
  dataset.file_rows = std::move(order);
  return dataset;
}

}  // namespace descent
