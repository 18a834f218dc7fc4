// The collected form of a polynomial in one scalar variable (see printer.hpp): its
// coefficients by degree, worked out over the graph, printed in rising powers. It does not
// decide whether the collected or the tree form is printed (print_expression does).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/printer.hpp"

namespace descent {

namespace {

// Coefficients by degree of a polynomial in one scalar variable, or nothing: every node below
// the root a scalar constant, the variable, a sum, difference, product or negation of such, or
// one raised to a whole constant power; the degree at most kMaxDegree.
constexpr std::size_t kMaxDegree = 32;
using Coefficients = std::vector<double>;

Coefficients times(const Coefficients& a, const Coefficients& b) {
  if (a.size() + b.size() - 1 > kMaxDegree + 1) return {};
  Coefficients c(a.size() + b.size() - 1, 0.0);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j) c[i + j] += a[i] * b[j];
  return c;
}

Coefficients plus(const Coefficients& a, const Coefficients& b, double sign) {
  Coefficients c(std::max(a.size(), b.size()), 0.0);
  for (std::size_t i = 0; i < a.size(); ++i) c[i] += a[i];
  for (std::size_t i = 0; i < b.size(); ++i) c[i] += sign * b[i];
  return c;
}

std::optional<Coefficients> polynomial_of(const Graph& g, NodeId root, NodeId& variable) {
  std::unordered_map<NodeId, Coefficients> poly;
  for (NodeId id : g.reachable({root})) {
    const Node& n = g[id];
    if (!n.shape.is_scalar()) return std::nullopt;
    Coefficients c;
    switch (n.op) {
      case Op::constant:
        if (!std::isfinite(n.value)) return std::nullopt;
        c = {n.value};
        break;
      case Op::variable:
        if (variable != kNoNode && variable != id) return std::nullopt;
        variable = id;
        c = {0.0, 1.0};
        break;
      case Op::neg:
        c = plus({}, poly.at(n[0]), -1.0);
        break;
      case Op::add:
      case Op::sub:
        c = plus(poly.at(n[0]), poly.at(n[1]), n.op == Op::add ? 1.0 : -1.0);
        break;
      case Op::mul:
        c = times(poly.at(n[0]), poly.at(n[1]));
        break;
      case Op::pow: {
        const Node& e = g[n[1]];
        if (e.op != Op::constant || !(e.value >= 0 && e.value <= static_cast<double>(kMaxDegree)) ||
            std::floor(e.value) != e.value)
          return std::nullopt;
        c = {1.0};
        for (int k = 0; k < static_cast<int>(e.value) && !c.empty(); ++k)
          c = times(c, poly.at(n[0]));
        break;
      }
      default:
        return std::nullopt;
    }
    if (c.empty()) return std::nullopt;  // over kMaxDegree
    for (double v : c)
      if (!std::isfinite(v)) return std::nullopt;
    poly.emplace(id, std::move(c));
  }
  if (variable == kNoNode) return std::nullopt;  // a number: the tree prints it already
  return poly.at(root);
}

}  // namespace

std::string print_collected_polynomial(const Graph& graph, NodeId id) {
  NodeId variable = kNoNode;
  const std::optional<Coefficients> c = polynomial_of(graph, id, variable);
  if (!c) return {};
  const std::string& x = graph[variable].name;
  // Rising powers, led by a positive term when there is one (as sums print: "2*x - 2").
  std::vector<std::size_t> degrees;
  for (std::size_t k = 0; k < c->size(); ++k)
    if ((*c)[k] != 0.0) degrees.push_back(k);
  std::stable_partition(degrees.begin(), degrees.end(), [&](std::size_t k) { return (*c)[k] > 0; });
  std::string out;
  for (const std::size_t k : degrees) {
    const double v = (*c)[k];
    out += out.empty() ? (v < 0 ? "-" : "") : (v < 0 ? " - " : " + ");
    const double magnitude = std::fabs(v);
    if (k == 0) {
      out += format_number(magnitude);
      continue;
    }
    if (magnitude != 1.0) out += format_number(magnitude) + "*";
    out += x;
    if (k > 1) out += "^" + std::to_string(k);
  }
  return out.empty() ? "0" : out;
}

}  // namespace descent
