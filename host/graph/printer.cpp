// Infix printing with precedence-driven parentheses (see printer.hpp).
#include "graph/printer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <unordered_map>

namespace descent {

namespace {

// Binding strength of printed forms; a child printed where at least `need` is required is
// parenthesized when its own level is lower.
enum Level : int { kSum = 1, kProduct = 2, kUnary = 3, kPower = 4, kAtom = 5 };

enum class Form { leaf, call, sum, product, power, matmul };

struct Spelling {
  Op op;
  Form form;
};

// The printed-spelling column of the op table.
// clang-format off
constexpr std::array<Spelling, kOpCount> kSpellings = {{
  {Op::constant, Form::leaf},   {Op::variable, Form::leaf},  {Op::neg, Form::product},
  {Op::exp, Form::call},        {Op::log, Form::call},       {Op::log1p, Form::call},
  {Op::expm1, Form::call},      {Op::sqrt, Form::call},      {Op::abs, Form::call},
  {Op::sin, Form::call},        {Op::cos, Form::call},       {Op::tan, Form::call},
  {Op::tanh, Form::call},       {Op::sigmoid, Form::call},   {Op::softplus, Form::call},
  {Op::relu, Form::call},       {Op::sign, Form::call},      {Op::step, Form::call},
  {Op::add, Form::sum},         {Op::sub, Form::sum},        {Op::mul, Form::product},
  {Op::div, Form::product},     {Op::pow, Form::power},      {Op::min, Form::call},
  {Op::max, Form::call},        {Op::xlogy, Form::call},     {Op::sum, Form::call},
  {Op::mean, Form::call},       {Op::dot, Form::call},       {Op::matmul, Form::matmul},
  {Op::outer, Form::call},      {Op::transpose, Form::call}, {Op::softmax, Form::call},
  {Op::logsumexp, Form::call},  {Op::norm, Form::call},      {Op::onehot, Form::call},
  {Op::sum_to, Form::call},     {Op::batch_mean, Form::call}, {Op::batch_sum, Form::call},
}};
// clang-format on
static_assert(rows_follow_op_order(kSpellings), "kSpellings rows must follow the order of enum Op");

class Printer {
 public:
  explicit Printer(const Graph& graph) : g_(graph) {}

  std::string print(NodeId id, int need) {
    int level = kAtom;
    std::string text = print_bare(id, level);
    return level < need ? "(" + text + ")" : text;
  }

 private:
  bool is_negative_power(const Node& n) const {
    return n.op == Op::pow && g_.is_constant(n[1]) && g_[n[1]].value < 0;
  }

  // A negative number prints as a signed product ("-3*x" gathers its sign); a non-finite
  // constant is always a leaf: -inf is no product of a sign and a number, and treating it as
  // one sent the printer back to the same node without end.
  Form form_of(const Node& n) const {
    if (n.op == Op::constant)
      return n.value < 0 && std::isfinite(n.value) ? Form::product : Form::leaf;
    if (is_negative_power(n)) return Form::product;
    return kSpellings[op_index(n.op)].form;
  }

  std::string print_bare(NodeId id, int& level) {
    const Node& n = g_[id];
    switch (form_of(n)) {
      case Form::leaf:
        // "-inf" binds like a negation: (-inf)^2, not -inf^2.
        level = n.op == Op::constant && n.value < 0 ? kUnary : kAtom;
        return n.op == Op::constant ? format_number(n.value) : n.name;
      case Form::call:
        level = kAtom;
        return print_call(n);
      case Form::sum:
        level = kSum;
        return print_sum(id);
      case Form::product: {
        bool negative = false;
        std::string text = print_unsigned_product(id, negative);
        level = negative ? kUnary : kProduct;
        if (negative) {
          // "-x^2" reads as -(x^2); a bare "-2" is a number.
          return "-" + text;
        }
        return text;
      }
      case Form::power:
        level = kPower;
        // The base binds tighter than '^'; the exponent may itself be a power (right assoc).
        return print(n[0], kAtom) + "^" + print_exponent(n[1]);
      case Form::matmul:
        level = kProduct;
        return print(n[0], kProduct) + " @ " + print(n[1], kUnary);
    }
    return {};
  }

  std::string print_exponent(NodeId id) {
    const Node& e = g_[id];
    if (e.op == Op::constant) return format_number(e.value);  // "x^-2" parses as x^(-2)
    return print(id, kPower);
  }

  std::string print_call(const Node& n) {
    // Summing down to a scalar is a plain sum.
    if (n.op == Op::sum_to && n.attr.rank == 0) return "sum(" + print(n[0], kSum) + ")";
    std::string text(op_name(n.op));
    text += "(" + print(n[0], kSum);
    if (n.op == Op::onehot) {
      text += ", " + std::to_string(n.shape.dims[0]);
    } else if (n.op == Op::sum_to) {
      for (int i = 0; i < n.attr.rank; ++i) text += ", " + std::to_string(n.attr.dims[i]);
    } else if (n.arity == 2) {
      text += ", " + print(n[1], kSum);
    }
    return text + ")";
  }

  // Terms of a sum with their signs, flattening nested sums and differences.
  void collect_terms(NodeId id, bool negative, std::vector<std::pair<NodeId, bool>>& terms) {
    const Node& n = g_[id];
    if (n.op == Op::add) {
      collect_terms(n[0], negative, terms);
      collect_terms(n[1], negative, terms);
    } else if (n.op == Op::sub) {
      collect_terms(n[0], negative, terms);
      collect_terms(n[1], !negative, terms);
    } else {
      terms.emplace_back(id, negative);
    }
  }

  std::string print_sum(NodeId id) {
    std::vector<std::pair<NodeId, bool>> terms;
    collect_terms(id, false, terms);
    struct Term {
      bool negative;
      std::string text;
    };
    std::vector<Term> printed;
    for (auto [term, negated] : terms) {
      bool negative = false;
      std::string text;
      const Node& t = g_[term];
      if (form_of(t) == Form::product) {
        text = print_unsigned_product(term, negative);
      } else if (t.op == Op::constant && t.value < 0) {  // -inf: "x - inf", not "x + -inf"
        negative = true;
        text = format_number(-t.value);
      } else {
        text = print(term, kProduct);
      }
      printed.push_back({negative != negated, std::move(text)});
    }
    // Lead with a positive term when there is one: "1 - y" rather than "-y + 1".
    std::stable_partition(printed.begin(), printed.end(),
                          [](const Term& t) { return !t.negative; });
    std::string out;
    for (std::size_t i = 0; i < printed.size(); ++i) {
      if (i == 0)
        out += printed[i].negative ? "-" + printed[i].text : printed[i].text;
      else
        out += (printed[i].negative ? " - " : " + ") + printed[i].text;
    }
    return out;
  }

  // Factors of a product: coefficient, numerator factors and denominator texts.
  struct Factors {
    double coefficient = 1.0;
    std::vector<NodeId> numerator;
    std::vector<std::string> denominator;
  };

  void collect_factors(NodeId id, bool in_denominator, Factors& f) {
    const Node& n = g_[id];
    if (n.op == Op::mul) {
      collect_factors(n[0], in_denominator, f);
      collect_factors(n[1], in_denominator, f);
    } else if (n.op == Op::div) {
      collect_factors(n[0], in_denominator, f);
      collect_factors(n[1], !in_denominator, f);
    } else if (n.op == Op::neg) {
      f.coefficient = -f.coefficient;
      collect_factors(n[0], in_denominator, f);
    } else if (n.op == Op::constant && n.value != 0.0 && std::isfinite(n.value)) {
      if (!in_denominator) {
        f.coefficient *= n.value;
        return;
      }
      if (n.value < 0) f.coefficient = -f.coefficient;
      if (std::fabs(n.value) != 1.0) f.denominator.push_back(format_number(std::fabs(n.value)));
    } else if (is_negative_power(n) && !in_denominator) {
      const double e = -g_[n[1]].value;
      f.denominator.push_back(e == 1.0 ? print(n[0], kPower)
                                       : print(n[0], kAtom) + "^" + format_number(e));
    } else if (in_denominator) {
      f.denominator.push_back(print(id, kPower));
    } else {
      f.numerator.push_back(id);
    }
  }

  std::string factor_text(NodeId id) {
    if (g_[id].op == Op::matmul) return print(id, kAtom);  // a product inside a product: (A @ x)
    return print(id, kUnary);
  }

  std::string print_unsigned_product(NodeId id, bool& negative) {
    Factors f;
    collect_factors(id, false, f);
    negative = f.coefficient < 0;
    const double magnitude = std::fabs(f.coefficient);
    std::string text;
    if (magnitude != 1.0 || f.numerator.empty()) text = format_number(magnitude);
    for (NodeId factor : f.numerator) {
      if (!text.empty()) text += "*";
      text += factor_text(factor);
    }
    if (f.denominator.empty()) return text;
    if (f.denominator.size() == 1) return text + "/" + f.denominator[0];
    std::string den;
    for (std::size_t i = 0; i < f.denominator.size(); ++i) den += (i ? "*" : "") + f.denominator[i];
    return text + "/(" + den + ")";
  }

  const Graph& g_;
};

}  // namespace

std::string format_number(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == 0.0) return "0";
  if (std::fabs(value) < 1e15 && std::floor(value) == value)
    return std::to_string(static_cast<long long>(value));
  char buffer[64];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string print_expression(const Graph& graph, NodeId id) {
  return Printer(graph).print(id, kSum);
}

std::size_t printed_size_estimate(const Graph& graph, NodeId root, std::size_t limit) {
  std::unordered_map<NodeId, std::size_t> size;
  for (NodeId id : graph.reachable({root})) {
    const Node& n = graph[id];
    std::size_t s = n.op == Op::variable ? n.name.size() : 8;
    for (int i = 0; i < n.arity; ++i) s = std::min(limit, s + size[n[i]] + 2);
    size[id] = s;
  }
  return size[root];
}

}  // namespace descent
