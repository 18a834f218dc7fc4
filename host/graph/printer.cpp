// Infix printing with precedence-driven parentheses (see printer.hpp).
#include "graph/printer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "graph/window.hpp"

namespace descent {

namespace {

// Binding strength of printed forms; a child printed where at least `need` is required is
// parenthesized when its own level is lower.
enum Level : int { kCompare = 0, kSum = 1, kProduct = 2, kUnary = 3, kPower = 4, kAtom = 5 };

enum class Form { leaf, call, sum, product, power, matmul, compare, index };

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
  {Op::max, Form::call},        {Op::xlogy, Form::call},
  {Op::less, Form::compare},    {Op::less_equal, Form::compare}, {Op::greater, Form::compare},
  {Op::greater_equal, Form::compare}, {Op::equal, Form::compare}, {Op::not_equal, Form::compare},
  {Op::sum, Form::call},
  {Op::mean, Form::call},       {Op::dot, Form::call},       {Op::matmul, Form::matmul},
  {Op::outer, Form::call},      {Op::transpose, Form::call}, {Op::softmax, Form::call},
  {Op::logsumexp, Form::call},  {Op::norm, Form::call},      {Op::argmax, Form::call},
  {Op::onehot, Form::call},     {Op::sum_to, Form::call},    {Op::slice, Form::index},
  {Op::pad, Form::call},        {Op::batch_mean, Form::call}, {Op::batch_sum, Form::call},
}};
// clang-format on
static_assert(rows_follow_op_order(kSpellings), "kSpellings rows must follow the order of enum Op");

// Writes into one string as it walks the expression: no text is built and then copied into
// its parent's, so printing costs O(printed length) however deep the expression. Sums and
// products are flattened with explicit stacks, so a long chain of them does not recurse. The
// walk reads node heads (op, children, a constant's value) and reads a node itself only for what
// a head lacks (a variable's name, a tensor's shape, an attribute), and the factors and terms it
// gathers live in lists kept between calls, so a term costs no allocation.
class Printer {
 public:
  Printer(const Graph& graph, std::string& out) : g_(graph), out_(out) {}
  Printer(const Graph& graph, std::string& out, const NodeNames& names, NodeId root,
          std::vector<NodeId>* used)
      : g_(graph), out_(out), names_(names.empty() ? nullptr : &names), root_(root), used_(used) {}

  void print(NodeId id, int need) {
    if (named(id)) {  // an atom
      out_ += names_->at(id);
      if (used_) used_->push_back(id);
      return;
    }
    const NodeHead n = g_.head(id);
    switch (form_of(n)) {
      case Form::leaf: {
        // "-inf" binds like a negation: (-inf)^2, not -inf^2.
        const int level = n.op == Op::constant && n.value() < 0 ? kUnary : kAtom;
        open(level, need);
        if (n.op == Op::constant)
          append_number(n.value());
        else
          out_ += g_[id].name;
        close(level, need);
        return;
      }
      case Form::call:
        print_call(id, n);  // an atom: never parenthesized
        return;
      case Form::index:  // an atom: x[1:], (a + b)[0]
        print_shaped(n.child[0], kAtom);
        out_ += '[';
        out_ += bracket_text(slicing_of(g_.attr(id)), shape_of(n.child[0]));
        out_ += ']';
        return;
      case Form::sum:
        open(kSum, need);
        print_sum(id);
        close(kSum, need);
        return;
      case Form::product: {
        const Marks marks = mark();
        Factors f;
        collect_factors(id, f);
        const bool negative = f.coefficient < 0;
        const int level = negative ? kUnary : kProduct;
        open(level, need);
        if (negative) out_ += '-';  // "-x^2" reads as -(x^2); a bare "-2" is a number.
        print_unsigned_product(f);
        close(level, need);
        release(marks);
        return;
      }
      case Form::power:
        open(kPower, need);
        // The base binds tighter than '^'; the exponent may itself be a power (right assoc).
        print(n.child[0], kAtom);
        out_ += '^';
        print_exponent(n.child[1]);
        close(kPower, need);
        return;
      case Form::compare:  // comparisons do not chain: a comparison operand is parenthesized
        open(kCompare, need);
        print(n.child[0], kSum);
        out_ += ' ';
        out_ += op_info(n.op).symbol;
        out_ += ' ';
        print(n.child[1], kSum);
        close(kCompare, need);
        return;
      case Form::matmul:
        open(kProduct, need);
        print_shaped(n.child[0], kProduct);
        out_ += " @ ";
        print_shaped(n.child[1], kUnary);
        close(kProduct, need);
        return;
    }
  }

 private:
  // A node that prints as its name: the flattening of sums and products stops there.
  bool named(NodeId id) const { return names_ && id != root_ && names_->count(id); }

  void open(int level, int need) {
    if (level < need) out_ += '(';
  }
  void close(int level, int need) {
    if (level < need) out_ += ')';
  }
  void append_number(double value) { out_ += format_number(value); }

  Shape shape_of(NodeId id) const { return g_.head(id).plain_scalar() ? Shape{} : g_[id].shape; }

  bool is_negative_power(const NodeHead& n) const {
    return n.op == Op::pow && g_.is_constant(n.child[1]) && g_.value(n.child[1]) < 0;
  }

  // A negative number prints as a signed product ("-3*x" gathers its sign); a non-finite
  // constant is always a leaf: -inf is no product of a sign and a number, and treating it as
  // one sent the printer back to the same node without end.
  Form form_of(const NodeHead& n) const {
    if (n.op == Op::constant)
      return n.value() < 0 && std::isfinite(n.value()) ? Form::product : Form::leaf;
    if (is_negative_power(n)) return Form::product;
    return kSpellings[op_index(n.op)].form;
  }

  void print_exponent(NodeId id) {
    const NodeHead e = g_.head(id);
    if (e.op == Op::constant)
      append_number(e.value());  // "x^-2" parses as x^(-2)
    else
      print(id, kPower);
  }

  // The shape that the printed text of `id` lowers to: a filled constant prints as its number,
  // so 2*ones(3) prints as "2"; elementwise ops broadcast what their operands print as. Every
  // other op prints its own shape (print_shaped keeps its operands' shapes). A loop with a
  // memo, not recursion: the expression may be deep.
  Shape printed_shape(NodeId root) {
    std::vector<NodeId> stack{root};
    while (!stack.empty()) {
      const NodeId id = stack.back();
      if (printed_shapes_.count(id)) {
        stack.pop_back();
        continue;
      }
      const Node& n = g_[id];
      const OpKind kind = op_info(n.op).kind;
      const bool broadcasts =
          kind == OpKind::unary || kind == OpKind::binary || kind == OpKind::batch;
      if (!broadcasts || named(id)) {
        printed_shapes_[id] = n.op == Op::constant && !named(id) ? Shape::scalar() : n.shape;
        stack.pop_back();
        continue;
      }
      bool ready = true;
      for (int i = 0; i < n.arity; ++i)
        if (!printed_shapes_.count(n[i])) {
          stack.push_back(n[i]);
          ready = false;
        }
      if (!ready) continue;
      Shape shape = printed_shapes_.at(n[0]);
      if (n.arity == 2) shape = broadcast_shapes(shape, printed_shapes_.at(n[1])).value_or(n.shape);
      printed_shapes_[id] = shape;
      stack.pop_back();
    }
    return printed_shapes_.at(root);
  }

  // An operand whose shape its op reads (a call on tensors, an index, '@'): when its text would
  // lower to a smaller shape (a product with a filled constant, 2*ones(3), prints as "2"), it is
  // multiplied by ones of its shape: pad(2*ones(3), 1, 0), never pad(2, 1, 0).
  void print_shaped(NodeId id, int need) {
    const Shape shape = shape_of(id);
    if (printed_shape(id) == shape) {
      print(id, need);
      return;
    }
    std::string ones = "ones(" + std::to_string(shape.dims[0]);
    if (shape.rank == 2) ones += ", " + std::to_string(shape.dims[1]);
    ones += ')';
    open(kProduct, need);
    if (!g_.is_constant(id, 1.0)) {
      print(id, kProduct);
      out_ += '*';
    }
    out_ += ones;
    close(kProduct, need);
  }

  void print_call(NodeId id, const NodeHead& n) {
    const OpInfo& info = op_info(n.op);
    // The attribute, read from the node only for an op that has one.
    const Shape attr = info.attr == OpAttr::none ? Shape{} : g_.attr(id);
    // Summing down to a scalar is a plain sum.
    if (info.attr == OpAttr::dims && attr.rank == 0) {
      out_ += "sum(";
      print_shaped(n.child[0], kCompare);
      out_ += ')';
      return;
    }
    const bool tensor = info.kind == OpKind::tensor;
    out_ += op_name(n.op);
    out_ += '(';
    if (tensor)
      print_shaped(n.child[0], kCompare);
    else
      print(n.child[0], kCompare);
    if (info.attr == OpAttr::widths) {
      const Padding p = padding_of(attr);
      for (int k = 0; k < p.rank; ++k)
        out_ += ", " + std::to_string(p.before[k]) + ", " + std::to_string(p.after[k]);
    } else if (info.attr != OpAttr::none) {  // the attribute's literals after the operand
      for (int i = 0; i < attr.rank; ++i) out_ += ", " + std::to_string(attr.dims[i]);
    } else if (n.arity == 2) {
      out_ += ", ";
      if (tensor)
        print_shaped(n.child[1], kCompare);
      else
        print(n.child[1], kCompare);
    }
    out_ += ')';
  }

  // What a denominator factor prints as: a number, a node where at least a power is needed,
  // or a node (printed as an atom) raised to a number.
  struct Denominator {
    enum Kind { number, at_power, raised } kind;
    NodeId node;
    double value;  // the number, or the exponent
  };
  // Factors of a product: coefficient, and the ranges of numerators_ and denominators_ that
  // hold its numerator and denominator factors.
  struct Factors {
    double coefficient = 1.0;
    std::size_t numerator_begin = 0, numerator_end = 0;
    std::size_t denominator_begin = 0, denominator_end = 0;
  };
  // The lists' lengths before a product or sum gathered into them: printing it nests (a factor
  // or term may be a product or sum itself), and each level gives back what it took when done.
  struct Marks {
    std::size_t terms, numerators, denominators;
  };
  Marks mark() const { return {terms_.size(), numerators_.size(), denominators_.size()}; }
  void release(const Marks& m) {
    terms_.resize(m.terms);
    numerators_.resize(m.numerators);
    denominators_.resize(m.denominators);
  }

  // Walks products, quotients and negations from the left, as the written order.
  void collect_factors(NodeId root, Factors& f) {
    f.numerator_begin = numerators_.size();
    f.denominator_begin = denominators_.size();
    // (node, in the denominator); the loop prints nothing, so one buffer serves every call.
    std::vector<std::pair<NodeId, bool>>& stack = factor_walk_;
    stack.assign(1, {root, false});
    while (!stack.empty()) {
      const auto [id, in_denominator] = stack.back();
      stack.pop_back();
      const NodeHead n = g_.head(id);
      if (named(id)) {
        if (in_denominator)
          denominators_.push_back({Denominator::at_power, id, 0.0});
        else
          numerators_.push_back(id);
      } else if (n.op == Op::mul) {
        stack.emplace_back(n.child[1], in_denominator);
        stack.emplace_back(n.child[0], in_denominator);
      } else if (n.op == Op::div) {
        stack.emplace_back(n.child[1], !in_denominator);
        stack.emplace_back(n.child[0], in_denominator);
      } else if (n.op == Op::neg) {
        f.coefficient = -f.coefficient;
        stack.emplace_back(n.child[0], in_denominator);
      } else if (n.op == Op::constant && n.value() != 0.0 && std::isfinite(n.value())) {
        const double value = n.value();
        if (!in_denominator) {
          f.coefficient *= value;
          continue;
        }
        if (value < 0) f.coefficient = -f.coefficient;
        if (std::fabs(value) != 1.0)
          denominators_.push_back({Denominator::number, kNoNode, std::fabs(value)});
      } else if (is_negative_power(n) && !in_denominator) {
        const double e = -g_.value(n.child[1]);
        denominators_.push_back(e == 1.0 ? Denominator{Denominator::at_power, n.child[0], 0.0}
                                         : Denominator{Denominator::raised, n.child[0], e});
      } else if (in_denominator) {
        denominators_.push_back({Denominator::at_power, id, 0.0});
      } else {
        numerators_.push_back(id);
      }
    }
    f.numerator_end = numerators_.size();
    f.denominator_end = denominators_.size();
  }

  // Copies, not references, of list entries: printing one may grow the lists.
  void print_denominator(const Denominator d) {
    switch (d.kind) {
      case Denominator::number:
        append_number(d.value);
        return;
      case Denominator::at_power:
        print(d.node, kPower);
        return;
      case Denominator::raised:
        print(d.node, kAtom);
        out_ += '^';
        append_number(d.value);
        return;
    }
  }

  void print_factor(NodeId id) {
    if (g_.head(id).op == Op::matmul)
      print(id, kAtom);  // a product inside a product: (A @ x)
    else
      print(id, kUnary);
  }

  void print_unsigned_product(const Factors& f) {
    const double magnitude = std::fabs(f.coefficient);
    bool first = true;
    if (magnitude != 1.0 || f.numerator_begin == f.numerator_end) {
      append_number(magnitude);
      first = false;
    }
    for (std::size_t k = f.numerator_begin; k < f.numerator_end; ++k) {
      if (!first) out_ += '*';
      first = false;
      print_factor(numerators_[k]);
    }
    const std::size_t denominators = f.denominator_end - f.denominator_begin;
    if (denominators == 0) return;
    out_ += '/';
    if (denominators == 1) {
      print_denominator(denominators_[f.denominator_begin]);
      return;
    }
    out_ += '(';
    for (std::size_t k = f.denominator_begin; k < f.denominator_end; ++k) {
      if (k != f.denominator_begin) out_ += '*';
      print_denominator(denominators_[k]);
    }
    out_ += ')';
  }

  // One term of a sum: its sign as printed, and what follows the sign.
  struct Term {
    NodeId node;
    bool negative;
    enum Kind { product, infinity, other } kind;
    Factors factors;  // a product's
  };

  void print_sum(NodeId root) {
    const Marks marks = mark();
    // Terms with their signs, flattening nested sums and differences from the left.
    // (node, negated); the walk prints nothing (printing the terms comes after it), so one
    // buffer serves every call.
    std::vector<std::pair<NodeId, bool>>& stack = sum_walk_;
    stack.assign(1, {root, false});
    while (!stack.empty()) {
      const auto [id, negated] = stack.back();
      stack.pop_back();
      if (named(id)) {
        terms_.push_back(Term{id, negated, Term::other, {}});
        continue;
      }
      const NodeHead n = g_.head(id);
      if (n.op == Op::add || n.op == Op::sub) {
        stack.emplace_back(n.child[1], n.op == Op::sub ? !negated : negated);
        stack.emplace_back(n.child[0], negated);
        continue;
      }
      Term t{id, negated, Term::other, {}};
      if (form_of(n) == Form::product) {
        t.kind = Term::product;
        collect_factors(id, t.factors);
        t.negative = (t.factors.coefficient < 0) != negated;
      } else if (n.op == Op::constant && n.value() < 0) {  // -inf: "x - inf", not "x + -inf"
        t.kind = Term::infinity;
        t.negative = !negated;
      }
      terms_.push_back(t);
    }
    // Lead with a positive term when there is one: "1 - y" rather than "-y + 1" (a stable
    // partition: positive terms first, each group in its order).
    const std::size_t end = terms_.size();
    negative_terms_.clear();
    std::size_t kept = marks.terms;
    for (std::size_t i = marks.terms; i < end; ++i) {
      if (terms_[i].negative)
        negative_terms_.push_back(terms_[i]);
      else
        terms_[kept++] = terms_[i];
    }
    std::copy(negative_terms_.begin(), negative_terms_.end(), terms_.begin() + kept);
    for (std::size_t i = marks.terms; i < end; ++i) {
      const Term t = terms_[i];
      if (i == marks.terms)
        out_ += t.negative ? "-" : "";
      else
        out_ += t.negative ? " - " : " + ";
      switch (t.kind) {
        case Term::product:
          print_unsigned_product(t.factors);
          break;
        case Term::infinity:
          append_number(-g_.value(t.node));
          break;
        case Term::other:
          print(t.node, kProduct);
          break;
      }
    }
    release(marks);
  }

  const Graph& g_;
  std::string& out_;
  std::unordered_map<NodeId, Shape> printed_shapes_;  // printed_shape's memo
  const NodeNames* names_ = nullptr;                  // null when there are none
  NodeId root_ = kNoNode;
  std::vector<NodeId>* used_ = nullptr;
  // The work lists of collect_factors and of print_sum's walk, kept between calls.
  std::vector<std::pair<NodeId, bool>> factor_walk_, sum_walk_;
  // The factors and terms of the products and sums being printed, innermost last (see Marks).
  std::vector<NodeId> numerators_;
  std::vector<Denominator> denominators_;
  std::vector<Term> terms_;
  std::vector<Term> negative_terms_;  // print_sum's partition
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

std::string print_tree(const Graph& graph, NodeId id) {
  std::string out;
  Printer(graph, out).print(id, kCompare);
  return out;
}

std::string print_expression(const Graph& graph, NodeId id) {
  std::string tree = print_tree(graph, id);
  std::string collected = print_collected_polynomial(graph, id);
  return !collected.empty() && collected.size() < tree.size() ? collected : tree;
}

std::string print_expression(const Graph& graph, NodeId id, const NodeNames& names,
                             std::vector<NodeId>* used) {
  std::string out;
  Printer(graph, out, names, id, used).print(id, kCompare);
  return out;
}

std::size_t printed_size_estimate(const Graph& graph, NodeId root, std::size_t limit) {
  std::vector<std::size_t> size(graph.size(), 0);
  for (NodeId id : graph.reachable({root})) {
    const Node& n = graph[id];
    std::size_t s = n.op == Op::variable ? n.name.size() : 8;
    for (int i = 0; i < n.arity; ++i) s = std::min(limit, s + size[n[i]] + 2);
    size[id] = s;
  }
  return size[root];
}

}  // namespace descent
