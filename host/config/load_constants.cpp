// [constants]: values that expressions use by name, like parameters, but that are never trained.
//   lambda = 0.01                      a number: a scalar
//   shift = [1.0, -2.0]                numbers: a vector; rows of numbers: a matrix
//   W0 = { file = "w0.npy" }           a .npy or .csv file, relative to the config's folder
// Names share the namespace of inputs, parameters and model expressions. A table takes the one
// key `file`; the file is read later, by host/data/constant_file.hpp (the readers of .npy and
// CSV live there), whose errors point back at the file's name here.
//
// Does not: read files, or put constants into the graph (host/program does: a scalar constant
// becomes a number of the graph, a tensor a variable that every backend binds once).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>

#include "config/config_fields.hpp"
#include "config/load_sections.hpp"

namespace descent::config {

namespace {

// `name` ends with `suffix`, ignoring case.
bool has_extension(const std::string& name, std::string_view suffix) {
  if (name.size() < suffix.size()) return false;
  return std::equal(suffix.begin(), suffix.end(), name.end() - static_cast<long>(suffix.size()),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) ==
                             std::tolower(static_cast<unsigned char>(b));
                    });
}

// { file = "shift.npy" }
void read_constant_table(const TableReader& table, const std::string& dir, ConstantSpec& out) {
  table.reject_unknown_keys(kConstantKeys, kConstantAliases);
  const std::optional<std::string> file = table.string("file");
  if (!file)
    throw input_error(fmt::format("{} needs file = \"<path>\" (a .npy or .csv file)", table.path()),
                      table.span(),
                      "a constant is a number, an array of numbers, or { file = \"<path>\" }");
  if (!has_extension(*file, ".npy") && !has_extension(*file, ".csv"))
    throw input_error(fmt::format("{} = \"{}\" but a constant's file must be a .npy or a .csv file",
                                  table.label("file"), *file),
                      table.value_span("file"));
  out.file_as_written = *file;
  out.file = resolve_path(dir, *file);
  out.where = table.value_span("file");
}

}  // namespace

std::vector<ConstantSpec> read_constants(const TableReader& constants, const std::string& dir,
                                         NameTable& names) {
  const TomlDocument& doc = constants.doc();
  std::vector<ConstantSpec> out;
  for (const TomlEntry& entry : constants.entries()) {
    ConstantSpec constant;
    constant.name = std::string(entry.key->str());
    constant.where = doc.span_of(*entry.value);
    names.declare(constant.name, "constant", doc.span_of(*entry.key));
    const std::string label = constants.label(constant.name);
    if (entry.value->is_number()) {
      constant.shape = Shape::scalar();
      constant.values = {number_value(doc, *entry.value, label)};
    } else if (const auto* array = entry.value->as_array()) {
      read_number_array(doc, *array, label, "a constant", constant.shape, constant.values);
    } else if (const auto* table = entry.value->as_table()) {
      read_constant_table(TableReader(doc, *table, label), dir, constant);
    } else {
      throw type_error(doc, *entry.value,
                       "a number, an array of numbers or a table { file = \"<path>\" }", label);
    }
    out.push_back(std::move(constant));
  }
  return out;
}

}  // namespace descent::config
