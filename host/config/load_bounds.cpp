// A parameter's bounds: `bounds = [low, high]` in its table, the box that projected gradient
// descent keeps it in (the update rules clamp every element after every step).
//   x = { init = "uniform", low = 0, high = 1, bounds = [0, inf] }     one box for every element
//   xy = { shape = [2], bounds = [[-1.5, -3], [4, 4]] }                a side per element
// A side is a number, -inf or inf (open), or an array shaped like the parameter. Rules, each an
// error at the value responsible: exactly two sides; no NaN; low <= high element by element; a
// lower side of inf or an upper side of -inf leaves no room; and an init whose values are known
// before training (zeros, constant) must start inside the box. Random inits (uniform, normal,
// xavier, he) are drawn as written and then projected into the box (host/program/bounds.hpp).
//
// Does not: project anything (host/program/bounds.cpp, optim/update_rules.hpp).
#include <fmt/format.h>

#include <cmath>
#include <string>

#include "config/config_fields.hpp"
#include "config/load_sections.hpp"

namespace descent::config {

namespace {

// A number, -inf or inf; NaN is no bound.
double bound_value(const TomlDocument& doc, const toml::node& node, std::string_view label) {
  if (const auto* f = node.as_floating_point()) {
    if (std::isinf(f->get())) return f->get();
    if (std::isnan(f->get()))
      throw input_error(fmt::format("{} = nan but a bound must be a number, -inf or inf", label),
                        doc.span_of(node));
  }
  return number_value(doc, node, label);
}

// One side of the box, bounds[side]: a number, or an array shaped like the parameter.
void read_side(const TableReader& param, const toml::node& node, int side, ParamSpec& out) {
  const std::string key = fmt::format("bounds[{}]", side);
  double& scalar = side == 0 ? out.bounds.low : out.bounds.high;
  std::vector<double>& each = side == 0 ? out.bounds.each_low : out.bounds.each_high;
  if (const toml::array* array = node.as_array()) {
    each = read_per_element(param, key, *array, out.shape, bound_value);
    return;
  }
  if (!node.is_number())
    throw type_error(param.doc(), node, "a number, -inf, inf or an array of numbers",
                     param.label(key));
  scalar = bound_value(param.doc(), node, param.label(key));
}

// Element i of bounds[side] as written: its label and its node.
struct SideElement {
  std::string label;
  const toml::node* node;
};
SideElement side_element(const TableReader& param, const toml::array& pair, int side,
                         const ParamSpec& out, std::int64_t i) {
  const std::string label = param.label(fmt::format("bounds[{}]", side));
  const toml::node& node = pair[static_cast<std::size_t>(side)];
  const std::vector<double>& each = side == 0 ? out.bounds.each_low : out.bounds.each_high;
  if (each.empty()) return {label, &node};
  return {element_label(label, out.shape, i), &element_node(*node.as_array(), out.shape, i)};
}

// Every element: low < inf, high > -inf, low <= high.
void check_box(const TableReader& param, const toml::array& pair, const ParamSpec& out) {
  const TomlDocument& doc = param.doc();
  const bool per_element = !out.bounds.each_low.empty() || !out.bounds.each_high.empty();
  const std::int64_t size = per_element ? out.shape.size() : 1;
  for (std::int64_t i = 0; i < size; ++i) {
    const double low = out.lower_bound(i), high = out.upper_bound(i);
    if (std::isinf(low) && low > 0) {
      const SideElement at = side_element(param, pair, 0, out, i);
      throw input_error(fmt::format("{} = inf but a lower bound must be below inf (write -inf "
                                    "for no lower bound)",
                                    at.label),
                        doc.span_of(*at.node));
    }
    if (std::isinf(high) && high < 0) {
      const SideElement at = side_element(param, pair, 1, out, i);
      throw input_error(fmt::format("{} = -inf but an upper bound must be above -inf (write inf "
                                    "for no upper bound)",
                                    at.label),
                        doc.span_of(*at.node));
    }
    if (low <= high) continue;
    const SideElement lo = side_element(param, pair, 0, out, i);
    const SideElement hi = side_element(param, pair, 1, out, i);
    throw input_error(fmt::format("{} = {} is above {} = {}: the lower bound must not exceed the "
                                  "upper one",
                                  lo.label, low, hi.label, high),
                      doc.span_of(*lo.node));
  }
}

// zeros and constant start at values known now: each must lie in the box. The error points at
// the value (or its element) for constant, at the side it crosses for zeros.
void check_start_inside(const TableReader& param, const toml::array& pair, const ParamSpec& out) {
  if (out.init != InitKind::zeros && out.init != InitKind::constant) return;
  const TomlDocument& doc = param.doc();
  const bool per_element =
      !out.bounds.each_low.empty() || !out.bounds.each_high.empty() || !out.each.value.empty();
  const std::int64_t size = per_element ? out.shape.size() : 1;
  for (std::int64_t i = 0; i < size; ++i) {
    const double start =
        out.init == InitKind::zeros ? 0.0 : ParamSpec::element(out.value, out.each.value, i);
    const bool below = start < out.lower_bound(i);
    if (!below && start <= out.upper_bound(i)) continue;
    const SideElement side = side_element(param, pair, below ? 0 : 1, out, i);
    const std::string crossed =
        fmt::format("{} its {} bound {} = {}", below ? "below" : "above", below ? "lower" : "upper",
                    side.label, below ? out.lower_bound(i) : out.upper_bound(i));
    const std::string note =
        "start inside the box: a constant init with a value in it, or a random init "
        "(uniform, normal, xavier, he), whose draws are projected into the box";
    if (out.init == InitKind::zeros) {
      const std::string what = size == 1 ? param.path() : element_label(param.path(), out.shape, i);
      throw input_error(fmt::format("{} starts at 0 (init = \"zeros\"{}), {}", what,
                                    param.has("init") ? "" : ", the default", crossed),
                        doc.span_of(*side.node), note);
    }
    const bool value_each = !out.each.value.empty();
    const std::string label =
        value_each ? element_label(param.label("value"), out.shape, i) : param.label("value");
    const Span at = value_each
                        ? doc.span_of(element_node(*param.find("value")->as_array(), out.shape, i))
                        : param.value_span("value");
    throw input_error(fmt::format("{} = {} starts {}", label, start, crossed), at, note);
  }
}

}  // namespace

void read_bounds(const TableReader& param, ParamSpec& out) {
  const toml::node* node = param.find("bounds");
  if (node == nullptr) return;
  const TomlDocument& doc = param.doc();
  const toml::array* pair = node->as_array();
  if (pair == nullptr) throw type_error(doc, *node, "an array [low, high]", param.label("bounds"));
  if (pair->size() != 2)
    throw input_error(
        fmt::format("{} has {} entr{}, but it must be [low, high]", param.label("bounds"),
                    pair->size(), pair->size() == 1 ? "y" : "ies"),
        doc.span_of(*pair), "write -inf or inf for a side without a bound");
  out.bounds.present = true;
  out.bounds.where = doc.span_of(*pair);
  read_side(param, (*pair)[0], 0, out);
  read_side(param, (*pair)[1], 1, out);
  check_box(param, *pair, out);
  check_start_inside(param, *pair, out);
}

}  // namespace descent::config
