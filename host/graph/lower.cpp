// AST → graph: names through a NameScope, operators and calls through the op table.
#include "graph/lower.hpp"

#include <cmath>

#include "common/error.hpp"
#include "common/suggest.hpp"

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
  // are static): onehot(y, k), sum_to(v, m) and sum_to(v, m, n).
  NodeId lower_with_attribute(Op op, const expr::Ast& call) {
    const OpInfo& info = op_info(op);
    const std::string name(info.name);
    Shape attr;
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

  NodeId lower_call(const expr::Ast& call) {
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
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kOpCount; ++i) {
    const OpInfo& info = op_info(static_cast<Op>(i));
    if (info.kind != OpKind::leaf && info.kind != OpKind::batch) names.emplace_back(info.name);
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
