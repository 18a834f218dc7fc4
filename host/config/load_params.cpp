// [params]: the trainable parameters, their shapes, how each starts (and the helpers for
// settings written per element, which load_bounds.cpp shares).
//   w = { shape = [8], init = "normal", std = 0.1 }   an initializer (see kInitChoices)
//   v = { shape = [2], init = "uniform", low = [-1.5, -3], high = [4, 4] }
//                                                     a setting per element, shaped like w
//   c = 0.5   v = [1.0, 2.0]   M = [[1, 2], [3, 4]]   a literal scalar, vector or matrix
// Does not draw initial values (host/program/init.cpp does).
#include <fmt/format.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "common/checked.hpp"
#include "common/suggest.hpp"
#include "config/config_fields.hpp"
#include "config/limits.hpp"
#include "config/load_sections.hpp"

namespace descent::config {

namespace {

// "label[i]"
std::string indexed(std::string_view label, std::size_t i) {
  return fmt::format("{}[{}]", label, i);
}

}  // namespace

const toml::node& element_node(const toml::array& array, const Shape& shape, std::int64_t i) {
  if (shape.rank < 2) return array[static_cast<std::size_t>(i)];
  const auto cols = shape.cols();
  return (
      *array[static_cast<std::size_t>(i / cols)].as_array())[static_cast<std::size_t>(i % cols)];
}

std::string element_label(const std::string& label, const Shape& shape, std::int64_t i) {
  if (shape.rank < 2) return indexed(label, static_cast<std::size_t>(i));
  return indexed(indexed(label, static_cast<std::size_t>(i / shape.cols())),
                 static_cast<std::size_t>(i % shape.cols()));
}

std::vector<double> read_per_element(const TableReader& param, std::string_view key,
                                     const toml::array& array, const Shape& shape,
                                     NumberReader number) {
  const TomlDocument& doc = param.doc();
  const std::string label = param.label(key);
  const auto mismatch = [&](const toml::array& where, std::string_view found) {
    return input_error(
        fmt::format("{} has {}, but {} has shape {}", label, found, param.path(),
                    shape.to_string()),
        doc.span_of(where),
        "write one number for every element, shaped like the parameter, or one number for all");
  };
  const auto count = [](std::size_t n, std::string_view what) {
    return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
  };
  if (shape.rank == 0)
    throw input_error(fmt::format("{} is an array, but {} is a scalar", label, param.path()),
                      doc.span_of(array), "a scalar parameter takes one number");
  const auto rows = static_cast<std::size_t>(shape.rank == 2 ? shape.rows() : shape.dims[0]);
  if (array.size() != rows)
    throw mismatch(array, count(array.size(), shape.rank == 2 ? "row" : "number"));
  std::vector<double> values;
  values.reserve(static_cast<std::size_t>(shape.size()));
  for (std::size_t r = 0; r < rows; ++r) {
    const std::string row_label = indexed(label, r);
    if (shape.rank == 1) {
      values.push_back(number(doc, array[r], row_label));
      continue;
    }
    const toml::array* row = array[r].as_array();
    if (row == nullptr)
      throw type_error(doc, array[r], "an array (a row of the matrix)", row_label);
    if (row->size() != static_cast<std::size_t>(shape.cols()))
      throw input_error(fmt::format("{} has {}, but {} has shape {}", row_label,
                                    count(row->size(), "number"), param.path(), shape.to_string()),
                        doc.span_of(*row));
    for (std::size_t c = 0; c < row->size(); ++c)
      values.push_back(number(doc, (*row)[c], indexed(row_label, c)));
  }
  return values;
}

void read_number_array(const TomlDocument& doc, const toml::array& array, const std::string& label,
                       std::string_view what, Shape& shape, std::vector<double>& values) {
  if (array.empty()) {
    throw input_error(
        fmt::format("{} is an empty array; {} needs at least one number", label, what),
        doc.span_of(array));
  }
  if (!array[0].is_array()) {
    for (std::size_t i = 0; i < array.size(); ++i) {
      values.push_back(number_value(doc, array[i], indexed(label, i)));
    }
    shape = Shape::vector(static_cast<std::int64_t>(array.size()));
    return;
  }
  std::size_t cols = 0;
  for (std::size_t r = 0; r < array.size(); ++r) {
    const std::string row_label = indexed(label, r);
    const toml::array* row = array[r].as_array();
    if (row == nullptr)
      throw type_error(doc, array[r], "an array (a row of the matrix)", row_label);
    if (row->empty()) {
      throw input_error(fmt::format("{} is an empty row", row_label), doc.span_of(*row));
    }
    if (r == 0) cols = row->size();
    if (row->size() != cols) {
      throw input_error(
          fmt::format("{} has {} number{} but {}[0] has {}: a matrix must be "
                      "rectangular",
                      row_label, row->size(), row->size() == 1 ? "" : "s", label, cols),
          doc.span_of(*row));
    }
    for (std::size_t c = 0; c < cols; ++c) {
      values.push_back(number_value(doc, (*row)[c], indexed(row_label, c)));
    }
  }
  shape = Shape::matrix(static_cast<std::int64_t>(array.size()), static_cast<std::int64_t>(cols));
}

namespace {

// shape = [] | [n] | [rows, cols], every size >= 1.
Shape read_shape(const TableReader& param) {
  const toml::array* dims = param.array_at("shape");
  if (dims == nullptr) return Shape::scalar();
  const TomlDocument& doc = param.doc();
  const std::string label = param.label("shape");
  if (dims->size() > 2) {
    throw input_error(
        fmt::format("{} has {} sizes, but a parameter has at most 2 axes", label, dims->size()),
        doc.span_of(*dims));
  }
  std::int64_t sizes[2] = {1, 1};
  for (std::size_t i = 0; i < dims->size(); ++i) {
    const std::string item = indexed(label, i);
    const long size = integer_value(doc, (*dims)[i], item);
    if (size < 1) {
      throw input_error(fmt::format("{} = {} but it must be >= 1", item, size),
                        doc.span_of((*dims)[i]));
    }
    if (size > kMaxParamElements) {
      throw input_error(fmt::format("{} = {} but it must be at most {}", item, size,
                                    limit_text(kMaxParamElements)),
                        doc.span_of((*dims)[i]));
    }
    sizes[i] = size;
  }
  const std::optional<std::int64_t> elements =
      checked_mul_within(sizes[0], sizes[1], kMaxParamElements);
  if (!elements) {
    throw input_error(fmt::format("{} = [{}, {}] has more elements than a parameter may hold "
                                  "(at most {})",
                                  label, sizes[0], sizes[1], limit_text(kMaxParamElements)),
                      doc.span_of(*dims));
  }
  if (dims->size() == 0) return Shape::scalar();
  if (dims->size() == 1) return Shape::vector(sizes[0]);
  return Shape::matrix(sizes[0], sizes[1]);
}

// A setting of the initializer: one number, or one per element (see read_per_element).
void read_init_setting(const TableReader& param, const InitSetting& setting, ParamSpec& out) {
  if (const toml::array* array = param.find(setting.key)->as_array()) {
    out.each.*setting.each = read_per_element(param, setting.key, *array, out.shape);
    return;
  }
  const toml::node& node = *param.find(setting.key);
  if (!node.is_number())
    throw type_error(param.doc(), node, "a number or an array of numbers",
                     param.label(setting.key));
  out.*setting.member = *param.number(setting.key);
}

// uniform: low < high and normal: std > 0, element by element. The error points at the value
// that breaks the rule (for low/high: high, or its element, when written; else low).
void check_init_ranges(const TableReader& param, const InitChoice& kind, const ParamSpec& out) {
  const auto per_element = [&](std::string_view key, const std::vector<double>& each,
                               std::int64_t i) -> std::pair<std::string, Span> {
    if (each.empty()) return {param.label(key), param.value_span(key)};
    return {element_label(param.label(key), out.shape, i),
            param.doc().span_of(element_node(*param.find(key)->as_array(), out.shape, i))};
  };
  const std::int64_t size =
      out.each.low.empty() && out.each.high.empty() && out.each.std.empty() ? 1 : out.shape.size();
  for (std::int64_t i = 0; i < size; ++i) {
    if (kind.kind == InitKind::uniform) {
      const double low = ParamSpec::element(out.low, out.each.low, i);
      const double high = ParamSpec::element(out.high, out.each.high, i);
      if (low < high) continue;
      const Span at = param.has("high") ? per_element("high", out.each.high, i).second
                                        : per_element("low", out.each.low, i).second;
      if (out.each.low.empty() && out.each.high.empty())
        throw input_error(
            fmt::format("{}: low = {} but it must be below high = {}", param.path(), low, high),
            at);
      throw input_error(fmt::format("{} = {} but it must be below {} = {}",
                                    per_element("low", out.each.low, i).first, low,
                                    per_element("high", out.each.high, i).first, high),
                        at);
    }
    if (kind.kind == InitKind::normal) {
      const double sd = ParamSpec::element(out.std, out.each.std, i);
      if (sd > 0) continue;
      const auto [label, span] = per_element("std", out.each.std, i);
      throw input_error(fmt::format("{} = {} but it must be > 0", label, sd), span);
    }
  }
}

const InitChoice& read_init_kind(const TableReader& param) {
  const std::string name = param.string("init").value_or("zeros");
  for (const InitChoice& kind : kInitChoices) {
    if (kind.name == name) return kind;
  }
  std::array<std::string_view, std::size(kInitChoices)> choices;
  for (std::size_t i = 0; i < choices.size(); ++i) choices[i] = kInitChoices[i].name;
  throw unknown_choice_error("init kind", name, choices, param.value_span("init"));
}

// w = { shape = [8], init = "normal", std = 0.1 }
void read_param_table(const TableReader& param, ParamSpec& out) {
  param.reject_unknown_keys(kParamKeys, kParamAliases);
  out.shape = read_shape(param);
  const InitChoice& kind = read_init_kind(param);
  out.init = kind.kind;
  for (const InitSetting& setting : kInitSettings) {
    if (!param.has(setting.key)) continue;
    if (setting.key != kind.settings[0] && setting.key != kind.settings[1]) {
      const std::string takes =
          kind.settings[0].empty()
              ? "takes no settings"
              : fmt::format("takes {}",
                            kind.settings[1].empty()
                                ? std::string(kind.settings[0])
                                : fmt::format("{}, {}", kind.settings[0], kind.settings[1]));
      throw input_error(fmt::format("'{}' does not apply to init = \"{}\"", setting.key, kind.name),
                        param.key_span(setting.key),
                        fmt::format("init = \"{}\" {}", kind.name, takes));
    }
    read_init_setting(param, setting, out);
  }
  if (kind.name == "constant" && !param.has("value")) {
    throw input_error("init = \"constant\" needs value = <number>", param.value_span("init"));
  }
  check_init_ranges(param, kind, out);
  read_bounds(param, out);
}

}  // namespace

std::vector<ParamSpec> read_params(const TableReader& params, NameTable& names) {
  const TomlDocument& doc = params.doc();
  std::vector<ParamSpec> out;
  for (const TomlEntry& entry : params.entries()) {
    ParamSpec param;
    param.name = std::string(entry.key->str());
    param.where = doc.span_of(*entry.value);
    names.declare(param.name, "parameter", doc.span_of(*entry.key));
    const std::string label = params.label(param.name);
    if (entry.value->is_number()) {
      param.init = InitKind::literal;
      param.literal = {number_value(doc, *entry.value, label)};
    } else if (const auto* array = entry.value->as_array()) {
      param.init = InitKind::literal;
      read_number_array(doc, *array, label, "a literal parameter", param.shape, param.literal);
    } else if (const auto* table = entry.value->as_table()) {
      read_param_table(TableReader(doc, *table, label), param);
    } else {
      throw type_error(doc, *entry.value, "a number, an array of numbers or a table", label);
    }
    out.push_back(std::move(param));
  }
  return out;
}

void check_param_sizes(const std::vector<ParamSpec>& params, std::int64_t copies,
                       const Span& copies_at) {
  std::int64_t total = 0;
  for (const ParamSpec& param : params) {
    const std::optional<std::int64_t> elements =
        checked_mul_within(param.shape.size(), copies, kMaxParamElements);
    if (!elements) {
      throw input_error(
          fmt::format("train.starts = {} copies of the parameter '{}' ({} elements "
                      "each) make more elements than a parameter may hold (at "
                      "most {})",
                      copies, param.name, param.shape.size(), limit_text(kMaxParamElements)),
          copies_at);
    }
    const std::optional<std::int64_t> sum = checked_add(total, *elements);
    if (!sum || *sum > kMaxParamElements) {
      throw input_error(
          fmt::format("with the parameter '{}' the parameters hold more than {} elements in all{}",
                      param.name, limit_text(kMaxParamElements),
                      copies > 1 ? fmt::format(" ({} starts each)", copies) : ""),
          param.where);
    }
    total = *sum;
  }
}

}  // namespace descent::config
