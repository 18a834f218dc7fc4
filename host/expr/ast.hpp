// The syntax tree of the expression language (DESIGN §3), as the parser produces it.
// Knows nothing about shapes, types or which functions exist: host/graph lowers it and
// reports unknown names, wrong arities and shape errors at each node's span.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/source.hpp"

namespace descent::expr {

enum class AstKind {
  number,  // 2, 0.5, 1e-3
  name,    // x, w_1
  negate,  // -a                       args = {a}
  binary,  // a + b, a - b, a * b, a / b, a ^ b (also a ** b), a @ b     args = {a, b}
  call,    // f(a, b, ...)             name = "f", args = the arguments
  index,   // a[i], a[i:j, k], a[:, 1]  args = {a}, subscripts = one per axis written
};

struct Ast;

// One subscript of a[...]: an index `i`, or a slice `i:j` whose ends may be left out.
struct Subscript {
  Span span;  // its text: "1", "1:", ":-1", ":"
  bool slice = false;
  std::unique_ptr<Ast> start;  // the index, or the slice's start (null when left out)
  std::unique_ptr<Ast> stop;   // the slice's stop (null when left out)
};

struct Ast {
  AstKind kind = AstKind::number;
  Span span;            // the whole node's text, e.g. all of "f(a, b)"
  double number = 0.0;  // kind == number
  std::string name;     // kind == name or call
  Span name_span;       // kind == call: the function name alone
  // kind == binary: one of + - * / ^ @ ("**" is stored as '^'), or a comparison: < > = !
  // for <, >, ==, != and L G for <=, >=
  char op = 0;
  std::vector<std::unique_ptr<Ast>> args;
  std::vector<Subscript> subscripts;  // kind == index

  Ast() = default;
  Ast(const Ast&) = delete;
  Ast& operator=(const Ast&) = delete;
  // Frees the subtree with a loop, so that a long chain like x+x+...+x cannot overflow the
  // stack when it is destroyed.
  ~Ast();
};
using AstPtr = std::unique_ptr<Ast>;

// Maximum nesting depth of parentheses, calls and unary/binary operators on the right.
inline constexpr int kMaxExpressionDepth = 200;

// Parses the whole source text as one expression. Throws descent::Error (exit code 2) with a
// compiler-style message on the first syntax error.
AstPtr parse_expression(std::shared_ptr<const Source> source);

// Convenience for tests and the command line: parse `text` with source name `name`.
AstPtr parse_expression(const std::string& text, const std::string& name = "expr");

}  // namespace descent::expr
