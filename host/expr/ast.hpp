// The syntax tree of the expression language (DESIGN §3), as the parser produces it.
// Knows nothing about shapes, types or which functions exist: host/graph lowers it and
// reports unknown names, wrong arities and shape errors at each node's span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/source.hpp"

namespace descent::expr {

enum class AstKind : std::uint8_t {
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

// A node's operands, as a vector of them reads: the first two are kept in the node itself
// (every operator has at most two), more in an array of their own (a call's arguments). So a
// pass over the tree reads a node and its operands' addresses in one place, and building a
// node allocates nothing beside it. An operand moved out leaves a null in its place, as in a
// vector.
class AstArgs {
 public:
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::unique_ptr<Ast>& operator[](std::size_t i) { return data()[i]; }
  const std::unique_ptr<Ast>& operator[](std::size_t i) const { return data()[i]; }
  const std::unique_ptr<Ast>& at(std::size_t i) const {
    if (i >= size()) throw std::out_of_range("AstArgs::at");
    return data()[i];
  }
  std::unique_ptr<Ast>* begin() { return data(); }
  std::unique_ptr<Ast>* end() { return data() + size(); }
  const std::unique_ptr<Ast>* begin() const { return data(); }
  const std::unique_ptr<Ast>* end() const { return data() + size(); }
  std::reverse_iterator<const std::unique_ptr<Ast>*> rbegin() const {
    return std::reverse_iterator(end());
  }
  std::reverse_iterator<const std::unique_ptr<Ast>*> rend() const {
    return std::reverse_iterator(begin());
  }
  // Appends an operand, which must not be null.
  void push_back(std::unique_ptr<Ast> arg);
  void clear() {
    first_[0].reset();
    first_[1].reset();
    more_.reset();
    size_ = 0;
  }

 private:
  std::unique_ptr<Ast>* data() { return more_ ? more_->data() : first_; }
  const std::unique_ptr<Ast>* data() const { return more_ ? more_->data() : first_; }

  std::unique_ptr<Ast> first_[2];  // the operands while there are at most two, in order
  std::unique_ptr<std::vector<std::unique_ptr<Ast>>> more_;  // all of them when there are more
  std::uint32_t size_ = 0;
};

// The fields a pass over the tree reads at every node (kind, operands, span) come first.
struct Ast {
  AstKind kind = AstKind::number;
  // kind == binary: one of + - * / ^ @ ("**" is stored as '^'), or a comparison: < > = !
  // for <, >, ==, != and L G for <=, >=
  char op = 0;
  AstArgs args;
  Span span;                          // the whole node's text, e.g. all of "f(a, b)"
  double number = 0.0;                // kind == number
  std::string name;                   // kind == name or call
  Span name_span;                     // kind == call: the function name alone
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
