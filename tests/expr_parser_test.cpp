// Covers host/expr/lexer.cpp and host/expr/parser.cpp: the shape of parsed trees (through a
// printer that parenthesizes every node), node spans, and the exact diagnostic for a table of
// malformed inputs, deep nesting included. Needs no GPU.
#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "expr/ast.hpp"
#include "expr/lexer.hpp"

namespace descent::expr {
namespace {

// Every binary and negation in parentheses, calls as f(a, b), numbers in %g style.
std::string print(const Ast& node) {
  switch (node.kind) {
    case AstKind::number: {
      std::ostringstream out;
      out << node.number;
      return out.str();
    }
    case AstKind::name:
      return node.name;
    case AstKind::negate:
      return "(-" + print(*node.args.at(0)) + ")";
    case AstKind::binary:
      return "(" + print(*node.args.at(0)) + node.op + print(*node.args.at(1)) + ")";
    case AstKind::call: {
      std::string out = node.name + "(";
      for (std::size_t i = 0; i < node.args.size(); ++i)
        out += (i ? ", " : "") + print(*node.args[i]);
      return out + ")";
    }
    case AstKind::index: {  // every bound printed, open ends as '_'
      std::string out = print(*node.args.at(0)) + "[";
      for (std::size_t i = 0; i < node.subscripts.size(); ++i) {
        const Subscript& s = node.subscripts[i];
        out += i ? ", " : "";
        out += s.start ? print(*s.start) : "_";
        if (s.slice) out += ":" + (s.stop ? print(*s.stop) : std::string("_"));
      }
      return out + "]";
    }
  }
  return "?";
}

std::string parse_and_print(const std::string& text) { return print(*parse_expression(text)); }

std::string repeat(const std::string& piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Valid input

TEST(Parser, ParsesNumbersInEveryWrittenForm) {
  EXPECT_EQ(parse_and_print("2"), "2");
  EXPECT_EQ(parse_and_print("0.5"), "0.5");
  EXPECT_EQ(parse_and_print(".5"), "0.5");
  EXPECT_EQ(parse_and_print("1."), "1");
  EXPECT_EQ(parse_and_print("1e-3"), "0.001");
  EXPECT_EQ(parse_and_print("2.5E+4"), "25000");
  EXPECT_EQ(parse_and_print("1.5e2"), "150");
  EXPECT_EQ(parse_and_print("007"), "7");
  EXPECT_EQ(parse_expression("0.1")->number, 0.1);  // correctly rounded, locale-independent
}

TEST(Parser, ParsesNamesAndSkipsWhitespace) {
  EXPECT_EQ(parse_and_print("w_1 + _tmp2"), "(w_1+_tmp2)");
  EXPECT_EQ(parse_and_print(" a\t+\r\n b "), "(a+b)");
}

TEST(Parser, BinaryOperatorsFollowPrecedenceAndAssociativity) {
  EXPECT_EQ(parse_and_print("a+b*c"), "(a+(b*c))");
  EXPECT_EQ(parse_and_print("a*b+c"), "((a*b)+c)");
  EXPECT_EQ(parse_and_print("a-b-c"), "((a-b)-c)");
  EXPECT_EQ(parse_and_print("a/b/c"), "((a/b)/c)");
  EXPECT_EQ(parse_and_print("a-b+c"), "((a-b)+c)");
  EXPECT_EQ(parse_and_print("2^3^2"), "(2^(3^2))");
  EXPECT_EQ(parse_and_print("a**b"), "(a^b)");
  EXPECT_EQ(parse_and_print("a**b^c**d"), "(a^(b^(c^d)))");
  EXPECT_EQ(parse_and_print("a@b*c"), "((a@b)*c)");
  EXPECT_EQ(parse_and_print("a*b@c"), "((a*b)@c)");
  EXPECT_EQ(parse_and_print("a+b@c"), "(a+(b@c))");
  EXPECT_EQ(parse_and_print("a*b^c"), "(a*(b^c))");
  EXPECT_EQ(parse_and_print("(a+b)*c"), "((a+b)*c)");
  EXPECT_EQ(parse_and_print("((x))"), "x");
}

TEST(Parser, UnaryMinusBindsLooserThanPower) {
  EXPECT_EQ(parse_and_print("-x^2"), "(-(x^2))");
  EXPECT_EQ(parse_and_print("-x*y"), "((-x)*y)");
  EXPECT_EQ(parse_and_print("2^-x"), "(2^(-x))");
  EXPECT_EQ(parse_and_print("2^-x*y"), "((2^(-x))*y)");
  EXPECT_EQ(parse_and_print("x^-2^3"), "(x^(-(2^3)))");
  EXPECT_EQ(parse_and_print("--x"), "(-(-x))");
  EXPECT_EQ(parse_and_print("x--y"), "(x-(-y))");
  EXPECT_EQ(parse_and_print("-f(x)"), "(-f(x))");
  EXPECT_EQ(parse_and_print("-2"), "(-2)");
}

TEST(Parser, ParsesCalls) {
  EXPECT_EQ(parse_and_print("f(a, g(b), 1e-3)"), "f(a, g(b), 0.001)");
  EXPECT_EQ(parse_and_print("f()"), "f()");
  EXPECT_EQ(parse_and_print("f (x)"), "f(x)");
  EXPECT_EQ(parse_and_print("max(a, b)^2"), "(max(a, b)^2)");
  EXPECT_EQ(parse_and_print("sum(x @ w + b, (1))"), "sum(((x@w)+b), 1)");
  EXPECT_EQ(parse_and_print("f(\n  a,\n  b\n)"), "f(a, b)");
}

TEST(Parser, ParsesSubscriptsAsTheTightestPostfix) {
  EXPECT_EQ(parse_and_print("x[0]"), "x[0]");
  EXPECT_EQ(parse_and_print("x[-1]"), "x[(-1)]");
  EXPECT_EQ(parse_and_print("x[1:]"), "x[1:_]");
  EXPECT_EQ(parse_and_print("x[:-1]"), "x[_:(-1)]");
  EXPECT_EQ(parse_and_print("x[:]"), "x[_:_]");
  EXPECT_EQ(parse_and_print("A[1:3, 0:2]"), "A[1:3, 0:2]");
  EXPECT_EQ(parse_and_print("A[:, 2]"), "A[_:_, 2]");
  EXPECT_EQ(parse_and_print("A[2][1]"), "A[2][1]");
  EXPECT_EQ(parse_and_print("-x[0]^2"), "(-(x[0]^2))");
  EXPECT_EQ(parse_and_print("2*x[1:] - x[:-1]"), "((2*x[1:_])-x[_:(-1)])");
  EXPECT_EQ(parse_and_print("(a + b)[0]"), "(a+b)[0]");
  EXPECT_EQ(parse_and_print("(-x)[0]"), "(-x)[0]");
  EXPECT_EQ(parse_and_print("f(x)[1:2]"), "f(x)[1:2]");
  const AstPtr ast = parse_expression("A[1:, -1]");
  ASSERT_EQ(ast->kind, AstKind::index);
  EXPECT_EQ(ast->span.begin, 0u);
  EXPECT_EQ(ast->span.end, 9u);
  ASSERT_EQ(ast->subscripts.size(), 2u);
  EXPECT_EQ(ast->subscripts[0].span.begin, 2u);
  EXPECT_EQ(ast->subscripts[0].span.end, 4u);
  EXPECT_EQ(ast->subscripts[1].span.begin, 6u);
  EXPECT_EQ(ast->subscripts[1].span.end, 8u);
}

TEST(Parser, AcceptsExactlyTheMaximumDepth) {
  const int n = kMaxExpressionDepth;
  EXPECT_EQ(parse_and_print(repeat("(", n) + "x" + repeat(")", n)), "x");
  EXPECT_EQ(parse_and_print(repeat("-", n) + "x"), repeat("(-", n) + "x" + repeat(")", n));
  EXPECT_EQ(parse_and_print("x" + repeat("^x", n)), repeat("(x^", n) + "x" + repeat(")", n));
  EXPECT_EQ(parse_and_print(repeat("f(", n) + repeat(")", n)), repeat("f(", n) + repeat(")", n));
}

TEST(Parser, LongLeftAssociativeChainsDoNotNest) {
  // a+b+c+... is a loop in the parser, not recursion, so its length is not a nesting depth.
  EXPECT_EQ(parse_and_print("x" + repeat("+x", 1000)).size(), 1 + 4 * 1000u);
}

// ---------------------------------------------------------------------------------------------
// Spans

TEST(Parser, NodeSpansCoverTheirWholeText) {
  AstPtr sum = parse_expression("a + b*c");
  EXPECT_EQ(sum->span.begin, 0u);
  EXPECT_EQ(sum->span.end, 7u);
  EXPECT_EQ(sum->args[1]->span.begin, 4u);
  EXPECT_EQ(sum->args[1]->span.end, 7u);

  // A parenthesized node's span includes its parentheses.
  AstPtr product = parse_expression("(a+b)*c");
  EXPECT_EQ(product->span.begin, 0u);
  EXPECT_EQ(product->span.end, 7u);
  EXPECT_EQ(product->args[0]->span.begin, 0u);
  EXPECT_EQ(product->args[0]->span.end, 5u);

  AstPtr negation = parse_expression("-x^2");
  EXPECT_EQ(negation->span.begin, 0u);
  EXPECT_EQ(negation->span.end, 4u);
  EXPECT_EQ(negation->args[0]->span.begin, 1u);

  AstPtr number = parse_expression("  2.5e3 ");
  EXPECT_EQ(number->span.begin, 2u);
  EXPECT_EQ(number->span.end, 7u);
}

TEST(Parser, CallSpansAndNameSpans) {
  AstPtr call = parse_expression("f(a, g(b))");
  EXPECT_EQ(call->span.begin, 0u);
  EXPECT_EQ(call->span.end, 10u);
  EXPECT_EQ(call->name_span.begin, 0u);
  EXPECT_EQ(call->name_span.end, 1u);
  const Ast& inner = *call->args[1];
  EXPECT_EQ(inner.name, "g");
  EXPECT_EQ(inner.span.begin, 5u);
  EXPECT_EQ(inner.span.end, 9u);
  EXPECT_EQ(inner.name_span.begin, 5u);
  EXPECT_EQ(inner.name_span.end, 6u);

  AstPtr spaced = parse_expression("softmax (z)");
  EXPECT_EQ(spaced->name_span.end, 7u);
  EXPECT_EQ(spaced->span.end, 11u);
}

TEST(Parser, SpansReportFilePositionsOfAnEmbeddedExpression) {
  // The expression starts at line 12, column 9 of a config file.
  auto src = make_source("model.toml", "a +\n  foo(b) * 2", 12, 9);
  AstPtr root = parse_expression(src);
  EXPECT_EQ(root->span.where(), "model.toml:12:9");
  const Ast& product = *root->args[1];
  EXPECT_EQ(product.span.where(), "model.toml:13:3");
  const Ast& call = *product.args[0];
  EXPECT_EQ(call.name_span.where(), "model.toml:13:3");
  EXPECT_EQ(call.args[0]->span.where(), "model.toml:13:7");
  EXPECT_EQ(product.args[1]->span.where(), "model.toml:13:12");
  EXPECT_EQ(root->span.source, src);
}

TEST(Ast, OperandsReadAsAVectorWhetherTwoOrMore) {
  AstPtr call = parse_expression("f(a, b, c, d, e)");
  ASSERT_EQ(call->args.size(), 5u);
  std::string names;
  for (const AstPtr& arg : call->args) names += arg->name;
  EXPECT_EQ(names, "abcde");
  std::string reversed;
  for (auto it = call->args.rbegin(); it != call->args.rend(); ++it) reversed += (*it)->name;
  EXPECT_EQ(reversed, "edcba");
  EXPECT_THROW(call->args.at(5), std::out_of_range);

  AstArgs args;
  EXPECT_TRUE(args.empty());
  args.push_back(parse_expression("x"));
  args.push_back(parse_expression("y"));
  ASSERT_EQ(args.size(), 2u);
  args.push_back(parse_expression("z"));  // the two kept in place move into the array
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0]->name + args[1]->name + args[2]->name, "xyz");
  EXPECT_THROW(args.push_back(nullptr), std::invalid_argument);
  ASSERT_EQ(args.size(), 3u);
  args.clear();
  EXPECT_TRUE(args.empty());

  // An operand moved out leaves a null in its place and the count as it was, as in a vector.
  AstPtr sum = parse_expression("a + b");
  AstPtr left = std::move(sum->args[0]);
  ASSERT_EQ(sum->args.size(), 2u);
  EXPECT_EQ(sum->args[0], nullptr);
  EXPECT_EQ(sum->args[1]->name, "b");
  EXPECT_EQ(left->name, "a");
}

TEST(Lexer, TokensCarryKindsTextAndSpans) {
  auto src = make_source("expr", "f(x)**2 @ .5,-y/z^w");
  const std::vector<Token> tokens = tokenize(src);
  const std::vector<TokenKind> kinds = {
      TokenKind::name,      TokenKind::lparen, TokenKind::name, TokenKind::rparen,
      TokenKind::star_star, TokenKind::number, TokenKind::at,   TokenKind::number,
      TokenKind::comma,     TokenKind::minus,  TokenKind::name, TokenKind::slash,
      TokenKind::name,      TokenKind::caret,  TokenKind::name, TokenKind::end};
  ASSERT_EQ(tokens.size(), kinds.size());
  for (std::size_t i = 0; i < kinds.size(); ++i) EXPECT_EQ(tokens[i].kind, kinds[i]) << i;
  EXPECT_EQ(tokens[4].text, "**");
  EXPECT_EQ(tokens[4].begin, 4u);
  EXPECT_EQ(tokens[4].end(), 6u);
  EXPECT_EQ(tokens[7].number, 0.5);
  EXPECT_EQ(tokens.back().begin, src->text.size());
}

TEST(Lexer, EndOfInputSitsJustAfterTheLastToken) {
  // The tokens' text views point into the source, which must outlive them.
  const auto src = make_source("expr", "x +  \n\n");
  const std::vector<Token> tokens = tokenize(src);
  EXPECT_EQ(tokens.back().kind, TokenKind::end);
  EXPECT_EQ(tokens.back().begin, 3u);
  EXPECT_EQ(tokens.back().end(), 3u);
  EXPECT_EQ(quote_token(tokens.back()), "end of input");
  EXPECT_EQ(quote_token(tokens[1]), "'+'");
}

// ---------------------------------------------------------------------------------------------
// Malformed input: the exact rendered diagnostic

struct BadInput {
  std::string label;
  std::shared_ptr<const Source> source;
  std::string expected;  // Error::what()
};

BadInput bad(std::string label, std::string text, std::string expected) {
  return {std::move(label), make_source("expr", std::move(text)), std::move(expected)};
}

// The diagnostic for an error at 1-based `col` of a one-line `text`.
std::string one_line_error(const std::string& text, int col, const std::string& message) {
  return "expr:1:" + std::to_string(col) + ": error: " + message + "\n  " + text + "\n  " +
         std::string(static_cast<std::size_t>(col - 1), ' ') + "^";
}

std::vector<BadInput> bad_inputs() {
  const std::string too_deep = "expression nested too deeply (more than 200 levels)";
  const std::string parens = repeat("(", 100000) + "x" + repeat(")", 100000);
  const std::string minuses = repeat("-", 100000) + "x";
  const std::string powers = "x" + repeat("^x", 99999);
  const std::string calls = repeat("f(", 100000) + repeat(")", 100000);
  const std::string mixed = repeat("-(x^", 100000) + "x" + repeat(")", 100000);
  const std::string subscripts = "x" + repeat("[0]", 100000);
  return {
      // Nothing to parse.
      bad("empty", "", "expr:1:1: error: empty expression\n  \n  ^"),
      bad("blank", "   ", "expr:1:1: error: empty expression\n     \n  ^"),
      bad("newlines only", "\n\n", "expr:1:1: error: empty expression\n  \n  ^"),
      // Missing operands.
      bad("lone open paren", "(", "expr:1:2: error: expected an expression after '('\n  (\n   ^"),
      bad("empty parens", "()", "expr:1:2: error: expected an expression after '('\n  ()\n   ^"),
      bad("lone close paren", ")", "expr:1:1: error: expected an expression\n  )\n  ^"),
      bad("plus at end", "x +", "expr:1:4: error: expected an expression after '+'\n  x +\n     ^"),
      bad("plus then newline", "x +\n",
          "expr:1:4: error: expected an expression after '+'\n  x +\n     ^"),
      bad("unary plus", "+ x",
          "expr:1:1: error: expected an expression\n  + x\n  ^\n"
          "note: there is no unary '+'; write the operand alone"),
      bad("unary plus after an operator", "x * +y",
          "expr:1:5: error: expected an expression after '*'\n  x * +y\n      ^\n"
          "note: there is no unary '+'; write the operand alone"),
      bad("star at start", "* x", "expr:1:1: error: expected an expression\n  * x\n  ^"),
      bad("matmul at start", "@x", "expr:1:1: error: expected an expression\n  @x\n  ^"),
      bad("matmul at end", "x @",
          "expr:1:4: error: expected an expression after '@'\n  x @\n     ^"),
      bad("caret at end", "x ^",
          "expr:1:4: error: expected an expression after '^'\n  x ^\n     ^"),
      bad("double star at end", "x ** ",
          "expr:1:5: error: expected an expression after '**'\n  x ** \n      ^"),
      bad("triple star", "x***y",
          "expr:1:4: error: expected an expression after '**'\n  x***y\n     ^"),
      bad("minus minus at end", "x--",
          "expr:1:4: error: expected an expression after '-'\n  x--\n     ^"),
      bad("star star spaced", "x * * y",
          "expr:1:5: error: expected an expression after '*'\n  x * * y\n      ^"),
      bad("caret caret spaced", "x ^ ^ y",
          "expr:1:5: error: expected an expression after '^'\n  x ^ ^ y\n      ^"),
      bad("operand missing before close", "(x -)",
          "expr:1:5: error: expected an expression after '-'\n  (x -)\n      ^"),
      // Unclosed parentheses.
      bad("unclosed paren", "(x + 1",
          "expr:1:7: error: expected ')' to close '(' opened at 1:1\n  (x + 1\n        ^"),
      bad("unclosed inner paren", "a * (b + (c)",
          "expr:1:13: error: expected ')' to close '(' opened at 1:5\n  a * (b + (c)\n"
          "              ^"),
      bad("one of two parens unclosed", "((x)",
          "expr:1:5: error: expected ')' to close '(' opened at 1:1\n  ((x)\n      ^"),
      bad("comma inside parens", "(x, y)",
          "expr:1:3: error: expected ')' to close '(' opened at 1:1\n  (x, y)\n    ^"),
      bad("juxtaposition inside parens", "(x y)",
          "expr:1:4: error: expected ')' to close '(' opened at 1:1\n  (x y)\n     ^"),
      // Calls.
      bad("unclosed call", "f(x",
          "expr:1:4: error: expected ',' or ')' in the arguments of 'f' opened at 1:2\n  f(x\n"
          "     ^"),
      bad("unclosed empty call", "f(",
          "expr:1:3: error: expected an argument or ')' in the arguments of 'f' opened at 1:2\n"
          "  f(\n    ^"),
      bad("call ends after comma", "f(x,",
          "expr:1:5: error: expected an argument\n  f(x,\n      ^"),
      bad("empty first argument", "f(,x)", "expr:1:3: error: expected an argument\n  f(,x)\n    ^"),
      bad("empty last argument", "f(x,)",
          "expr:1:5: error: expected an argument\n  f(x,)\n      ^"),
      bad("operator as argument", "f(*x)", "expr:1:3: error: expected an argument\n  f(*x)\n    ^"),
      bad("call with unclosed paren argument", "f((x)",
          "expr:1:6: error: expected ',' or ')' in the arguments of 'f' opened at 1:2\n  f((x)\n"
          "       ^"),
      bad("call missing comma", "max(a b)",
          "expr:1:7: error: expected ',' or ')' in the arguments of 'max' opened at 1:4\n"
          "  max(a b)\n        ^"),
      // Junk after a complete expression.
      bad("number then name", "2 x",
          "expr:1:3: error: unexpected 'x' after a complete expression; is an operator missing?"
          "\n  2 x\n    ^"),
      bad("name then name", "x y",
          "expr:1:3: error: unexpected 'y' after a complete expression; is an operator missing?"
          "\n  x y\n    ^"),
      bad("number glued to name", "2x",
          "expr:1:2: error: unexpected 'x' after a complete expression; is an operator missing?"
          "\n  2x\n   ^"),
      bad("number then paren", "2 (x)",
          "expr:1:3: error: unexpected '(' after a complete expression; is an operator missing?"
          "\n  2 (x)\n    ^"),
      bad("stray close paren", "x)",
          "expr:1:2: error: unexpected ')' after a complete expression\n  x)\n   ^"),
      bad("extra close paren after call", "f(x))",
          "expr:1:5: error: unexpected ')' after a complete expression\n  f(x))\n      ^"),
      bad("top-level comma", "x, y",
          "expr:1:2: error: unexpected ',' after a complete expression\n  x, y\n   ^"),
      // Subscripts.
      bad("empty subscripts", "x[]",
          "expr:1:3: error: expected an index or a slice in the subscripts opened at 1:2\n"
          "  x[]\n    ^"),
      bad("unclosed subscripts", "x[1",
          "expr:1:4: error: expected ',' or ']' in the subscripts opened at 1:2\n  x[1\n     ^"),
      bad("empty subscript after comma", "A[1,]",
          "expr:1:5: error: expected an index or a slice in the subscripts opened at 1:2\n"
          "  A[1,]\n      ^"),
      bad("slice step", "x[::2]",
          "expr:1:4: error: slice steps are not supported; write start:stop\n  x[::2]\n     ^"),
      bad("stray colon", "x : y",
          "expr:1:3: error: unexpected ':' after a complete expression\n  x : y\n    ^"),
      bad("subscript at start", "[0]", "expr:1:1: error: expected an expression\n  [0]\n  ^"),
      // Numbers.
      bad("exponent without digits", "1e",
          "expr:1:1: error: malformed number '1e': expected digits after the exponent 'e'\n"
          "  1e\n  ^~"),
      bad("signed exponent without digits", "x + 1e+",
          "expr:1:5: error: malformed number '1e+': expected digits after the exponent 'e'\n"
          "  x + 1e+\n      ^~~"),
      bad("capital exponent without digits", "2.5E * 3",
          "expr:1:1: error: malformed number '2.5E': expected digits after the exponent 'E'\n"
          "  2.5E * 3\n  ^~~~"),
      bad("two decimal points", "1.2.3",
          "expr:1:1: error: malformed number '1.2.3': more than one decimal point\n  1.2.3\n"
          "  ^~~~~"),
      bad("leading double dot", "..5",
          "expr:1:1: error: malformed number '..5': more than one decimal point\n  ..5\n  ^~~"),
      bad("decimal point in exponent", "1e3.5",
          "expr:1:1: error: malformed number '1e3.5': a decimal point in the exponent\n"
          "  1e3.5\n  ^~~~~"),
      bad("number too large", "1e999",
          "expr:1:1: error: number '1e999' is out of the range of a double\n  1e999\n  ^~~~~"),
      bad("number too small", "1e-400",
          "expr:1:1: error: number '1e-400' is out of the range of a double\n  1e-400\n"
          "  ^~~~~~"),
      // Characters that start no token.
      bad("dollar", "x $ y", "expr:1:3: error: unexpected character '$'\n  x $ y\n    ^"),
      bad("dot between names", "x . y",
          "expr:1:3: error: unexpected character '.'\n  x . y\n    ^"),
      bad("after a tab", "x\t$", "expr:1:3: error: unexpected character '$'\n  x\t$\n   \t^"),
      bad("control character", std::string("x \x01"),
          "expr:1:3: error: unexpected control character U+0001\n  x \x01\n    ^"),
      bad("non-ASCII letter", "x + \xC3\xA9",
          "expr:1:5: error: unexpected non-ASCII character '\xC3\xA9' (U+00E9); names and "
          "operators are ASCII only\n  x + \xC3\xA9\n      ^~"),
      bad("invalid UTF-8 byte", "x \xFF",
          "expr:1:3: error: unexpected byte 0xFF (not valid UTF-8)\n  x \xFF\n    ^"),
      bad("non-ASCII outside the BMP", "\xF0\x9F\x98\x80",
          "expr:1:1: error: unexpected non-ASCII character '\xF0\x9F\x98\x80' (U+1F600); names "
          "and operators are ASCII only\n  \xF0\x9F\x98\x80\n  ^~~~"),
      bad("overlong UTF-8", "\xC0\xAF",
          "expr:1:1: error: unexpected byte 0xC0 (not valid UTF-8)\n  \xC0\xAF\n  ^"),
      bad("UTF-8 surrogate", "\xED\xA0\x80",
          "expr:1:1: error: unexpected byte 0xED (not valid UTF-8)\n  \xED\xA0\x80\n  ^"),
      bad("truncated UTF-8 sequence", "\xC3",
          "expr:1:1: error: unexpected byte 0xC3 (not valid UTF-8)\n  \xC3\n  ^"),
      // A lexical error is reported wherever it lies, even after a syntax error: the parser
      // reads tokens as it goes, and on a syntax error lexes the rest of the text first.
      bad("syntax error, then a bad character", "x + * y $",
          "expr:1:9: error: unexpected character '$'\n  x + * y $\n          ^"),
      bad("syntax error, then a bad number", "(x\ny + 1.2.3",
          "expr:2:5: error: malformed number '1.2.3': more than one decimal point\n"
          "  y + 1.2.3\n      ^~~~~"),
      // The first lexical error is the one reported, not one after it.
      bad("bad number, then a bad character", "x + 1.2.3 $",
          "expr:1:5: error: malformed number '1.2.3': more than one decimal point\n"
          "  x + 1.2.3 $\n      ^~~~~"),
      bad("bad character read ahead in a call", "f $",
          "expr:1:3: error: unexpected character '$'\n  f $\n    ^"),
      bad("too deep, then a bad character", parens + "$",
          one_line_error(parens + "$", 200002, "unexpected character '$'")),
      // Positions beyond the first line.
      bad("error on line 3", "a +\n  b *\n  c )",
          "expr:3:5: error: unexpected ')' after a complete expression\n    c )\n      ^"),
      {"embedded in a config file", make_source("model.toml", "relu(x @ w1 + b1", 12, 9),
       "model.toml:12:25: error: expected ',' or ')' in the arguments of 'relu' opened at "
       "12:13\n  relu(x @ w1 + b1\n                  ^"},
      {"embedded, second line", make_source("model.toml", "(a +\n  * b)", 12, 9),
       "model.toml:13:3: error: expected an expression after '+'\n    * b)\n    ^"},
      // Nesting deeper than kMaxExpressionDepth: an error at the 201st opener, no stack overflow.
      bad("100000 open parens", parens, one_line_error(parens, 201, too_deep)),
      bad("100000 minus signs", minuses, one_line_error(minuses, 201, too_deep)),
      bad("100000 powers", powers, one_line_error(powers, 402, too_deep)),
      bad("100000 nested calls", calls, one_line_error(calls, 402, too_deep)),
      // Repetition k (from 0) of "-(x^" opens levels 3k+1, 3k+2, 3k+3: level 201 is the '^'
      // of repetition 66, at offset 4*66+3.
      bad("mixed nesting", mixed, one_line_error(mixed, 4 * 66 + 3 + 1, too_deep)),
      bad("100000 chained subscripts", subscripts,
          one_line_error(subscripts, 2 + 3 * 200, too_deep)),
  };
}

TEST(Parser, MalformedInputGivesAnExactDiagnostic) {
  const std::vector<BadInput> cases = bad_inputs();
  ASSERT_GE(cases.size(), 40u);
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.label);
    try {
      AstPtr ast = parse_expression(c.source);
      ADD_FAILURE() << "parsed without an error: " << print(*ast);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      EXPECT_EQ(std::string(e.what()), c.expected);
    }
  }
}

TEST(Parser, RejectsAMissingSource) {
  EXPECT_THROW(parse_expression(std::shared_ptr<const Source>{}), Error);
}

}  // namespace
}  // namespace descent::expr
