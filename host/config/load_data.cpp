// [data]: where the samples come from and how their columns become named inputs.
// Does not open the data files (host/data/dataset.cpp does, and expands column ranges).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "common/suggest.hpp"
#include "config/config_fields.hpp"
#include "config/load_sections.hpp"

namespace descent::config {

namespace {

std::string element_label(const std::string& label, std::size_t i) {
  return fmt::format("{}[{}]", label, i);
}

// A column name, or a range "a..b" of columns in header order.
void check_column(const TomlDocument& doc, const toml::node& node, const std::string& column,
                  const std::string& label) {
  if (column.empty()) {
    throw input_error(fmt::format("{} is an empty column name", label), doc.span_of(node));
  }
  const std::size_t dots = column.find("..");
  if (dots != std::string::npos && (dots == 0 || dots + 2 == column.size())) {
    throw input_error(fmt::format("{} = \"{}\" is not a range: a range names its first and last "
                                  "column, e.g. \"x1..x8\"",
                                  label, column),
                      doc.span_of(node));
  }
}

// inputs = { x = "x1..x8", y = "label", z = ["a", "b"] }
std::vector<InputSpec> read_csv_inputs(const TableReader& inputs, NameTable& names) {
  const TomlDocument& doc = inputs.doc();
  std::vector<InputSpec> out;
  for (const TomlEntry& entry : inputs.entries()) {
    InputSpec spec;
    spec.name = std::string(entry.key->str());
    spec.where = doc.span_of(*entry.value);
    names.declare(spec.name, "input", doc.span_of(*entry.key));
    const std::string label = inputs.label(spec.name);
    if (const auto* one = entry.value->as_string()) {
      check_column(doc, *entry.value, one->get(), label);
      spec.columns = {one->get()};
      spec.is_vector = one->get().find("..") != std::string::npos;
    } else if (const auto* list = entry.value->as_array()) {
      if (list->empty()) {
        throw input_error(fmt::format("{} is an empty list of columns", label), spec.where);
      }
      std::unordered_set<std::string_view> listed;
      for (std::size_t i = 0; i < list->size(); ++i) {
        const std::string item = element_label(label, i);
        const std::string& column = string_value(doc, (*list)[i], item);
        check_column(doc, (*list)[i], column, item);
        if (!listed.insert(column).second) {
          throw input_error(fmt::format("{} lists the column '{}' twice", label, column),
                            doc.span_of((*list)[i]));
        }
        spec.columns.push_back(column);
      }
      spec.is_vector = true;
    } else {
      throw type_error(doc, *entry.value, "a column name or an array of column names", label);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

// npy = { x = "X.npy", y = "y.npy" }
std::vector<InputSpec> read_npy_inputs(const TableReader& npy, const std::string& dir,
                                       NameTable& names) {
  const TomlDocument& doc = npy.doc();
  std::vector<InputSpec> out;
  for (const TomlEntry& entry : npy.entries()) {
    InputSpec spec;
    spec.name = std::string(entry.key->str());
    spec.where = doc.span_of(*entry.value);
    names.declare(spec.name, "input", doc.span_of(*entry.key));
    const std::string label = npy.label(spec.name);
    spec.npy_file_as_written = string_value(doc, *entry.value, label);
    if (spec.npy_file_as_written.empty()) {
      throw input_error(fmt::format("{} is an empty path", label), spec.where);
    }
    spec.npy_file = resolve_path(dir, spec.npy_file_as_written);
    out.push_back(std::move(spec));
  }
  return out;
}

// classes = ["y"] / standardize = ["x"]: sets `flag` on each input listed.
void mark_inputs(const TableReader& data, std::string_view key, bool InputSpec::*flag,
                 std::vector<InputSpec>& inputs) {
  const toml::array* list = data.array_at(key);
  if (list == nullptr) return;
  const TomlDocument& doc = data.doc();
  const std::string label = data.label(key);
  std::vector<std::string> input_names;
  std::unordered_map<std::string_view, InputSpec*> by_name;
  for (InputSpec& spec : inputs) {
    input_names.push_back(spec.name);
    by_name.emplace(spec.name, &spec);
  }
  std::unordered_set<std::string_view> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const toml::node& node = (*list)[i];
    const std::string& name = string_value(doc, node, element_label(label, i));
    const auto found = by_name.find(name);
    if (found == by_name.end()) {
      throw input_error(fmt::format("{} names '{}', which is not an input{}", label, name,
                                    did_you_mean(name, input_names)),
                        doc.span_of(node),
                        fmt::format("the inputs are: {}", fmt::join(input_names, ", ")));
    }
    if (!seen.insert(name).second) {
      throw input_error(fmt::format("{} lists '{}' twice", label, name), doc.span_of(node));
    }
    InputSpec* spec = found->second;
    if (flag == &InputSpec::classes && spec->is_vector) {
      throw input_error(fmt::format("the input '{}' cannot hold class labels: it has several "
                                    "columns, and labels come from one column",
                                    name),
                        doc.span_of(node));
    }
    if (flag == &InputSpec::standardize && spec->classes) {
      throw input_error(fmt::format("the input '{}' holds class labels (data.classes), which "
                                    "cannot be standardized",
                                    name),
                        doc.span_of(node));
    }
    (*spec).*flag = true;
  }
}

}  // namespace

std::string resolve_path(const std::string& dir, const std::string& path) {
  const std::filesystem::path written(path);
  if (written.is_absolute() || dir.empty() || dir == ".") return path;
  return (std::filesystem::path(dir) / written).string();
}

DataConfig read_data(const TableReader& data, const std::string& dir, NameTable& names,
                     std::optional<std::uint64_t>& seed) {
  data.reject_unknown_keys(kDataKeys, kDataAliases);
  const TomlDocument& doc = data.doc();
  DataConfig out;
  out.present = true;
  out.where = data.span();

  const std::optional<std::string> file = data.string("file");
  const toml::table* inputs = data.table_at("inputs");
  const toml::table* npy = data.table_at("npy");
  if (npy != nullptr && (file || inputs != nullptr)) {
    throw input_error(
        "[data] takes either file and inputs (a CSV file) or npy (one .npy file per "
        "input), not both",
        data.key_span("npy"));
  }
  if (file && inputs == nullptr) {
    throw input_error(
        "[data] has a file but no inputs; name them, e.g. "
        "inputs = { x = \"x1..x8\", y = \"label\" }",
        data.key_span("file"));
  }
  if (inputs != nullptr && !file) {
    throw input_error("data.inputs names CSV columns, but [data] has no file",
                      data.key_span("inputs"));
  }
  if (!file && npy == nullptr) {
    throw input_error("[data] needs file and inputs (a CSV file) or npy (one .npy file per input)",
                      data.span());
  }
  if (file) {
    if (file->empty()) throw input_error("data.file is an empty path", data.value_span("file"));
    out.file_as_written = *file;
    out.file_where = data.value_span("file");
    out.file = resolve_path(dir, *file);
    out.inputs = read_csv_inputs(TableReader(doc, *inputs, data.label("inputs")), names);
  } else {
    out.inputs = read_npy_inputs(TableReader(doc, *npy, data.label("npy")), dir, names);
  }
  if (out.inputs.empty()) {
    throw input_error(fmt::format("{} declares no inputs", data.label(file ? "inputs" : "npy")),
                      data.value_span(file ? "inputs" : "npy"));
  }
  mark_inputs(data, "classes", &InputSpec::classes, out.inputs);
  mark_inputs(data, "standardize", &InputSpec::standardize, out.inputs);

  if (const std::optional<double> validation = data.number("validation")) {
    if (*validation < 0 || *validation >= 1) {
      throw data.out_of_range("validation", *validation, "in [0, 1)");
    }
    out.validation = *validation;
    out.validation_where = data.value_span("validation");
  }
  out.shuffle = data.boolean("shuffle").value_or(true);
  if (const std::optional<long> written = data.integer_at_least("seed", 0)) {
    seed = static_cast<std::uint64_t>(*written);
  }
  return out;
}

}  // namespace descent::config
