// Reading and transforming new rows for a trained run (see new_rows.hpp).
#include "predict/new_rows.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>

#include "common/error.hpp"
#include "data/csv.hpp"
#include "data/npy.hpp"

namespace descent {

namespace {

bool is_identifier(const std::string& text) {
  if (text.empty() || std::isdigit(static_cast<unsigned char>(text[0]))) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string joined(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : ", ") + item;
  return text;
}

// The run's index of a class label: the label itself, or, when training's labels were the whole
// numbers 0..K-1, a field that reads as one of them ("2.0").
double class_index(const SavedInput& in, const std::string& label, const std::string& where) {
  const auto found = std::find(in.labels.begin(), in.labels.end(), label);
  if (found != in.labels.end()) return static_cast<double>(found - in.labels.begin());
  bool numeric = true;
  for (std::size_t i = 0; i < in.labels.size(); ++i)
    numeric = numeric && in.labels[i] == std::to_string(i);
  char* end = nullptr;
  const double v = std::strtod(label.c_str(), &end);
  if (numeric && !label.empty() && *end == '\0' && v >= 0 && std::floor(v) == v &&
      v < static_cast<double>(in.labels.size()))
    return v;
  throw input_error("the label '" + label + "' in " + where + " was not seen in training", Span{},
                    "the labels of '" + in.name + "': " + joined(in.labels));
}

void standardize(const SavedInput& in, std::vector<double>& values) {
  if (in.mean.empty()) return;
  const std::size_t size = in.mean.size();
  for (std::size_t k = 0; k < values.size(); ++k)
    values[k] = (values[k] - in.mean[k % size]) / in.scale[k % size];
}

class RowReader {
 public:
  RowReader(const TrainedRun& run, std::string purpose) : run_(run), purpose_(std::move(purpose)) {}

  void add_source(const std::string& source) {
    const std::size_t eq = source.find('=');
    if (eq != std::string::npos && is_identifier(source.substr(0, eq)) &&
        saved(source.substr(0, eq)) != nullptr) {
      npy_[source.substr(0, eq)] = source.substr(eq + 1);
      return;
    }
    if (!csv_.empty())
      throw input_error("--data names two CSV files ('" + csv_ + "' and '" + source +
                        "'); give one file, or NAME=FILE.npy per input");
    csv_ = source;
  }

  NewRows read(const std::vector<std::string>& needed) {
    NewRows out;
    for (const std::string& name : needed) {
      const SavedInput& in = *saved(name);
      NamedRows rows{name, Tensor{in.shape, 0, {}}};
      std::int64_t count = 0;
      if (const auto it = npy_.find(name); it != npy_.end()) {
        rows.rows.data = read_npy_input(in, it->second, count);
      } else if (!csv_.empty() && !in.columns.empty()) {
        rows.rows.data = read_csv_input(in, count);
      } else {
        throw input_error(
            "no rows for the input '" + name + "', which " + purpose_ + " needs", Span{},
            in.columns.empty()
                ? "the run read it from '" + in.npy_file + "': give --data " + name + "=FILE.npy"
                : "give a CSV file with the column(s) " + joined(in.columns));
      }
      if (out.rows > 0 && count != out.rows)
        throw input_error("the input '" + name + "' has " + std::to_string(count) +
                          " rows, but the other inputs have " + std::to_string(out.rows));
      out.rows = count;
      standardize(in, rows.rows.data);
      rows.rows.batch = count;
      out.inputs.push_back(std::move(rows));
    }
    if (!needed.empty() && out.rows == 0)
      throw input_error("the data given has no rows to evaluate");
    return out;
  }

 private:
  const SavedInput* saved(const std::string& name) const {
    for (const SavedInput& in : run_.data.inputs)
      if (in.name == name) return &in;
    return nullptr;
  }

  const CsvTable& table() {
    if (!table_) {
      CsvOptions options;
      for (const SavedInput& in : run_.data.inputs)
        if (!in.labels.empty())
          options.categorical.insert(options.categorical.end(), in.columns.begin(),
                                     in.columns.end());
      options.categorical_may_be_absent = true;
      table_ = read_csv(csv_, options);
    }
    return *table_;
  }

  std::vector<double> read_csv_input(const SavedInput& in, std::int64_t& rows) {
    const CsvTable& t = table();
    rows = static_cast<std::int64_t>(t.rows);
    const std::size_t width = in.columns.size();
    std::vector<double> values(t.rows * width);
    for (std::size_t c = 0; c < width; ++c) {
      const auto column =
          std::find_if(t.columns.begin(), t.columns.end(),
                       [&](const CsvColumn& col) { return col.name == in.columns[c]; });
      if (column == t.columns.end()) {
        std::vector<std::string> names;
        for (const CsvColumn& col : t.columns) names.push_back(col.name);
        throw input_error("data file '" + csv_ + "' has no column '" + in.columns[c] +
                              "', which the input '" + in.name + "' needs for " + purpose_,
                          Span{}, "the columns are: " + joined(names));
      }
      for (std::size_t r = 0; r < t.rows; ++r) {
        const double v = column->values[r];
        values[r * width + c] = in.labels.empty()
                                    ? v
                                    : class_index(in, column->labels[static_cast<std::size_t>(v)],
                                                  "column '" + column->name + "' of '" + csv_ +
                                                      "' (row " + std::to_string(r + 1) + ")");
      }
    }
    return values;
  }

  std::vector<double> read_npy_input(const SavedInput& in, const std::string& path,
                                     std::int64_t& rows) const {
    NpyArray array = read_npy(path);
    std::vector<std::size_t> expected{array.shape.empty() ? 0 : array.shape[0]};
    for (int a = 0; a < in.shape.rank; ++a)
      expected.push_back(static_cast<std::size_t>(in.shape.dims[a]));
    if (array.shape.empty() || array.shape != expected) {
      std::string found;
      for (std::size_t d : array.shape) found += (found.empty() ? "" : ", ") + std::to_string(d);
      throw input_error("'" + path + "' must hold one row per sample of the input '" + in.name +
                        "' (of shape " + in.shape.to_string() +
                        " each), but its array has shape (" + found + ")");
    }
    for (double v : array.values)
      if (!std::isfinite(v))
        throw input_error("'" + path +
                          "' holds a non-finite value; descent does not evaluate "
                          "NaN/inf data");
    rows = static_cast<std::int64_t>(array.shape[0]);
    return std::move(array.values);
  }

  const TrainedRun& run_;
  std::string purpose_;
  std::string csv_;
  std::map<std::string, std::string> npy_;
  std::optional<CsvTable> table_;
};

}  // namespace

NewRows read_new_rows(const TrainedRun& run, const std::vector<std::string>& sources,
                      const std::vector<std::string>& needed, const std::string& purpose) {
  RowReader reader(run, purpose);
  for (const std::string& source : sources) reader.add_source(source);
  return reader.read(needed);
}

}  // namespace descent
