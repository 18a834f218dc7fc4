// AST → graph: names through a NameScope, operators and calls through the op table.
#include "graph/lower.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/suggest.hpp"
#include "graph/window.hpp"

namespace descent {

namespace {

Op binary_op(char op) {
  switch (op) {
    case '+':
      return Op::add;
    case '-':
      return Op::sub;
    case '*':
      return Op::mul;
    case '/':
      return Op::div;
    case '^':
      return Op::pow;
    case '<':
      return Op::less;
    case 'L':
      return Op::less_equal;
    case '>':
      return Op::greater;
    case 'G':
      return Op::greater_equal;
    case '=':
      return Op::equal;
    case '!':
      return Op::not_equal;
    default:
      return Op::matmul;
  }
}

// A call argument that must be a positive integer written as a literal (onehot's k, sum_to's
// dimensions): shapes are static, so they cannot be computed.
std::int64_t literal_count(const expr::Ast& arg, const std::string& what) {
  if (arg.kind == expr::AstKind::number && arg.number >= 1 && arg.number <= 1e9 &&
      std::floor(arg.number) == arg.number)
    return static_cast<std::int64_t>(arg.number);
  throw input_error(what + " must be a positive whole number written as a literal", arg.span);
}

// A call argument that must be a whole number >= 0 written as a literal (pad's widths).
std::int64_t literal_width(const expr::Ast& arg, const std::string& what) {
  if (arg.kind == expr::AstKind::number && arg.number >= 0 && arg.number <= 1e9 &&
      std::floor(arg.number) == arg.number)
    return static_cast<std::int64_t>(arg.number);
  throw input_error(what + " must be a whole number >= 0 written as a literal", arg.span);
}

// A subscript's bound: a whole number written as a literal, maybe negative (x[-1]).
std::int64_t literal_index(const expr::Ast& bound) {
  const bool negative = bound.kind == expr::AstKind::negate;
  const expr::Ast& number = negative ? *bound.args[0] : bound;
  if (number.kind == expr::AstKind::number && number.number <= 1e15 &&
      std::floor(number.number) == number.number) {
    const auto value = static_cast<std::int64_t>(number.number);
    return negative ? -value : value;
  }
  throw input_error("an index must be a whole number written as a literal (shapes are static)",
                    bound.span);
}

std::string axis_text(int axis, std::int64_t length) {
  return "axis " + std::to_string(axis) + " of length " + std::to_string(length);
}

// The window that subscripts `subs` select from a value of shape `shape`, as NumPy reads them
// (a negative index counts from the end, an open end is the axis's end, axes not written are
// whole) but stricter: an index or a slice bound out of range, or an empty slice, is an error.
Slicing slicing_for(const std::vector<expr::Subscript>& subs, const Shape& shape,
                    const Span& span) {
  if (shape.rank == 0) throw input_error("a scalar cannot be indexed", span);
  if (subs.size() > static_cast<std::size_t>(shape.rank))
    throw input_error("too many indices: a value of shape " + shape.to_string() +
                          " takes at most " + std::to_string(shape.rank) + ", got " +
                          std::to_string(subs.size()),
                      span);
  Slicing slicing;
  slicing.rank = shape.rank;
  for (int k = 0; k < shape.rank; ++k) {
    const std::int64_t n = shape.dims[k];
    SliceAxis& axis = slicing.axis[k];
    axis = {0, n, false};
    if (static_cast<std::size_t>(k) >= subs.size()) continue;
    const expr::Subscript& sub = subs[static_cast<std::size_t>(k)];
    if (!sub.slice) {
      const std::int64_t i = literal_index(*sub.start);
      if (i < -n || i >= n)
        throw input_error("index " + std::to_string(i) + " is out of range for " + axis_text(k, n) +
                              ": expected " + std::to_string(-n) + " to " + std::to_string(n - 1),
                          sub.span);
      const std::int64_t at = i < 0 ? i + n : i;
      axis = {at, at + 1, true};
      continue;
    }
    const auto bound = [&](const std::unique_ptr<expr::Ast>& ast, std::int64_t open) {
      if (!ast) return open;
      const std::int64_t b = literal_index(*ast);
      if (b < -n || b > n)
        throw input_error("slice bound " + std::to_string(b) + " is out of range for " +
                              axis_text(k, n) + ": expected " + std::to_string(-n) + " to " +
                              std::to_string(n),
                          ast->span);
      return b < 0 ? b + n : b;
    };
    axis.start = bound(sub.start, 0);
    axis.stop = bound(sub.stop, n);
    if (axis.start >= axis.stop)
      throw input_error("the slice is empty on " + axis_text(k, n) + " (from " +
                            std::to_string(axis.start) + " to " + std::to_string(axis.stop) +
                            "): expected its start before its stop",
                        sub.span);
  }
  return slicing;
}

class Lowerer {
 public:
  Lowerer(Graph& graph, const NameScope& scope) : graph_(graph), scope_(scope) {}

  NodeId lower(const expr::Ast& ast) {
    switch (ast.kind) {
      case expr::AstKind::number:
        return graph_.constant(ast.number);
      case expr::AstKind::name: {
        const NodeId id = scope_.lookup(ast.name, ast.span);
        if (id == kNoNode)
          throw input_error(
              "unknown name '" + ast.name + "'" + did_you_mean(ast.name, scope_.known_names),
              ast.span);
        return id;
      }
      case expr::AstKind::negate: {
        const expr::Ast& operand = *ast.args[0];
        if (operand.kind == expr::AstKind::number) return graph_.constant(-operand.number);
        return graph_.apply(Op::neg, lower(operand), ast.span);
      }
      case expr::AstKind::binary: {
        // Walk a left-leaning chain (a + b + c + ...) with a loop, not recursion, so that a
        // long sum cannot overflow the stack.
        std::vector<const expr::Ast*> spine;
        const expr::Ast* left = &ast;
        while (left->kind == expr::AstKind::binary) {
          spine.push_back(left);
          left = left->args[0].get();
        }
        NodeId value = lower(*left);
        for (auto it = spine.rbegin(); it != spine.rend(); ++it) {
          const NodeId right = lower(*(*it)->args[1]);
          value = graph_.apply(binary_op((*it)->op), value, right, (*it)->span);
        }
        return value;
      }
      case expr::AstKind::call:
        return lower_call(ast);
      case expr::AstKind::index: {
        const NodeId value = lower(*ast.args[0]);
        const Slicing slicing = slicing_for(ast.subscripts, graph_[value].shape, ast.span);
        if (slicing.whole(graph_[value].shape)) return value;  // x[:] is x
        return graph_.apply_with_attr(Op::slice, value, pack(slicing), ast.span);
      }
    }
    throw Error(ExitCode::failure, "internal: unknown syntax node", ast.span);
  }

 private:
  void expect_arity(const expr::Ast& call, std::size_t n) {
    if (call.args.size() == n) return;
    throw input_error("'" + call.name + "' takes " + std::to_string(n) + " argument" +
                          (n == 1 ? "" : "s") + ", got " + std::to_string(call.args.size()),
                      call.span);
  }

  // An op with an attribute: its operand, then the attribute's whole-number literals (shapes
  // are static): onehot(y, k), sum_to(v, m), sum_to(v, m, n), pad(v, 1, 0), pad(A, 1, 0, 0, 2).
  NodeId lower_with_attribute(Op op, const expr::Ast& call) {
    const OpInfo& info = op_info(op);
    const std::string name(info.name);
    Shape attr;
    if (info.attr == OpAttr::widths) {
      if (call.args.size() != 3 && call.args.size() != 5)
        throw input_error("'" + name +
                              "' takes a value and 2 widths (before, after) for a vector or 4 "
                              "(top, bottom, left, right) for a matrix, got " +
                              std::to_string(call.args.size()) + " argument" +
                              (call.args.size() == 1 ? "" : "s"),
                          call.span);
      Padding padding;
      padding.rank = static_cast<int>(call.args.size() - 1) / 2;
      const std::string label = name + "'s width";
      for (int k = 0; k < padding.rank; ++k) {
        const std::size_t before = 1 + 2 * static_cast<std::size_t>(k);  // args: v, b0, a0, b1, a1
        padding.before[k] = literal_width(*call.args[before], label);
        padding.after[k] = literal_width(*call.args[before + 1], label);
      }
      return graph_.apply_with_attr(op, lower(*call.args[0]), pack(padding), call.span);
    }
    if (info.attr == OpAttr::count) {
      expect_arity(call, 2);
      attr =
          Shape::vector(literal_count(*call.args[1], name + "'s " + std::string(info.attr_name)));
    } else {
      if (call.args.size() != 2 && call.args.size() != 3)
        throw input_error("'" + name + "' takes a value and 1 or 2 dimensions, got " +
                              std::to_string(call.args.size()) + " argument" +
                              (call.args.size() == 1 ? "" : "s"),
                          call.span);
      const std::string label(info.attr_name);
      attr = Shape::vector(literal_count(*call.args[1], label));
      if (call.args.size() == 3)
        attr = Shape::matrix(attr.dims[0], literal_count(*call.args[2], label));
    }
    return graph_.apply_with_attr(op, lower(*call.args[0]), attr, call.span);
  }

  // ones(n), ones(m, n): a constant (no op), which printed derivatives write where a filled
  // constant's shape matters (pad(2*ones(3), 1, 0)).
  NodeId lower_ones(const expr::Ast& call) {
    if (call.args.empty() || call.args.size() > 2)
      throw input_error(
          "'ones' takes 1 or 2 dimensions, got " + std::to_string(call.args.size()) + " arguments",
          call.span);
    Shape shape = Shape::vector(literal_count(*call.args[0], "a dimension of ones"));
    if (call.args.size() == 2)
      shape = Shape::matrix(shape.dims[0], literal_count(*call.args[1], "a dimension of ones"));
    return graph_.constant(1.0, shape);
  }

  NodeId lower_call(const expr::Ast& call) {
    if (call.name == kOnesFunction) return lower_ones(call);
    const auto op = op_for_function(call.name);
    if (!op)
      throw input_error(
          "unknown function '" + call.name + "'" + did_you_mean(call.name, function_names()),
          call.name_span);
    if (op_info(*op).attr != OpAttr::none) return lower_with_attribute(*op, call);
    const OpInfo& info = op_info(*op);
    expect_arity(call, static_cast<std::size_t>(info.arity));
    const NodeId a = lower(*call.args[0]);
    if (info.arity == 1) return graph_.apply(*op, a, call.span);
    return graph_.apply(*op, a, lower(*call.args[1]), call.span);
  }

  Graph& graph_;
  const NameScope& scope_;
};

}  // namespace

std::vector<std::string> function_names() {
  std::vector<std::string> names{std::string(kOnesFunction)};
  for (std::size_t i = 0; i < kOpCount; ++i) {
    const OpInfo& info = op_info(static_cast<Op>(i));
    if (op_for_function(info.name)) names.emplace_back(info.name);
  }
  return names;
}

NameScope free_variable_scope(Graph& graph) {
  NameScope scope;
  scope.lookup = [&graph](const std::string& name, const Span& span) {
    return graph.variable(name, VarKind::free, Shape::scalar(), span);
  };
  return scope;
}

NodeId lower_expression(Graph& graph, const expr::Ast& ast, const NameScope& scope) {
  return Lowerer(graph, scope).lower(ast);
}

}  // namespace descent
