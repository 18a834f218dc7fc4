// The Pratt parser of the expression language (DESIGN §3): tokens → Ast, with a span on every
// node and a compiler-style error for the first syntax error.
// Does not check names, arities or shapes (host/graph does that at each node's span), and
// does not fold constants or rewrite anything: the tree mirrors the text.
//
// Grammar, loosest binding first:
//   a < b, a <= b, a > b, a >= b, a == b, a != b
//                         0 or 1 elementwise; they do not chain (a < b < c is an error)
//   a + b, a - b          left-associative
//   a * b, a / b, a @ b   left-associative
//   -a                    prefix; looser than ^, so -x^2 = -(x^2)
//   a ^ b, a ** b         right-associative; 2^-x = 2^(-x) since an operand may start with '-'
//   a[s, ...]             postfix, tightest: -x[0]^2 = -((x[0])^2); each s is an index e or a
//                         slice [e] ':' [e] (a step, a second ':', is refused)
//   operands: numbers, names, (e), f(e, ...) with zero or more arguments
// There is no unary '+'.
//
// Recursion is bounded: every parenthesis, call, unary minus and right operand of a binary
// operator enters one nesting level, and more than kMaxExpressionDepth levels is an error, so
// that hostile input ("((((...", "x^x^x^...") cannot overflow the stack here or in later
// recursive passes over the tree.
#include <string>
#include <utility>

#include "common/error.hpp"
#include "expr/ast.hpp"
#include "expr/lexer.hpp"

namespace descent::expr {

namespace {

// Binding powers. A left-associative operator parses its right operand one power tighter
// (a-b-c = (a-b)-c); a right-associative one at its own power (2^3^2 = 2^(3^2)).
struct BinaryOperator {
  TokenKind token;
  char op;  // Ast::op
  int power;
  bool right_associative;
};
constexpr int kComparisonPower = 5;
constexpr BinaryOperator kBinaryOperators[] = {
    {TokenKind::less, '<', kComparisonPower, false},
    {TokenKind::less_equal, 'L', kComparisonPower, false},
    {TokenKind::greater, '>', kComparisonPower, false},
    {TokenKind::greater_equal, 'G', kComparisonPower, false},
    {TokenKind::equal_equal, '=', kComparisonPower, false},
    {TokenKind::not_equal, '!', kComparisonPower, false},
    {TokenKind::plus, '+', 10, false},
    {TokenKind::minus, '-', 10, false},
    {TokenKind::star, '*', 20, false},
    {TokenKind::slash, '/', 20, false},
    {TokenKind::at, '@', 20, false},
    {TokenKind::caret, '^', 40, true},
    {TokenKind::star_star, '^', 40, true},
};
constexpr int kUnaryMinusPower = 30;  // between * and ^: -x*y = (-x)*y, -x^2 = -(x^2)

const BinaryOperator* find_binary_operator(TokenKind kind) {
  for (const BinaryOperator& op : kBinaryOperators)
    if (op.token == kind) return &op;
  return nullptr;
}

// Tokens that can begin an operand; one of them right after a complete operand means two
// operands were written side by side ("2 x").
bool starts_operand(TokenKind kind) {
  return kind == TokenKind::number || kind == TokenKind::name || kind == TokenKind::lparen;
}

std::string line_col(const Span& span) {
  const Position p = span.start();
  return std::to_string(p.line) + ":" + std::to_string(p.col);
}

AstPtr make_node(AstKind kind, Span span) {
  auto node = std::make_unique<Ast>();
  node->kind = kind;
  node->span = std::move(span);
  return node;
}

class Parser {
 public:
  explicit Parser(const std::shared_ptr<const Source>& source)
      : lexer_(source), peek_(lexer_.next()) {}

  // Tokens are read as the grammar asks for them, so a syntax error may be found before a
  // lexical error further on; the lexical one is reported, as when the whole text was
  // tokenized first.
  AstPtr parse_all() {
    try {
      return parse_root();
    } catch (const Error&) {
      lexer_.throw_any_lexical_error();
      throw;
    }
  }

 private:
  AstPtr parse_root() {
    if (peek().kind == TokenKind::end) throw input_error("empty expression", span(peek()));
    AstPtr root = parse_binary(0, 0, OperandSite{});
    if (peek().kind != TokenKind::end) {
      const Token& extra = peek();
      std::string message = "unexpected " + quote_token(extra) + " after a complete expression";
      if (starts_operand(extra.kind)) message += "; is an operator missing?";
      throw input_error(std::move(message), span(extra));
    }
    return root;
  }

  // What came just before an operand, so that a missing one is reported in context.
  struct OperandSite {
    const Token* after = nullptr;  // nullptr: the start of the expression
    bool argument = false;         // a call argument, after '(' or ','
  };

  // The token to be read next. A reference to it is good until advance().
  const Token& peek() const { return peek_; }
  // The token after peek() (the end token when peek() is the end).
  const Token& next_after_peek() {
    if (!has_after_) {
      after_ = peek_.kind == TokenKind::end ? peek_ : lexer_.next();
      has_after_ = true;
    }
    return after_;
  }
  // Moves past peek() and returns it. The end token is never consumed: callers only advance
  // past tokens they have checked.
  Token advance() {
    const Token token = peek_;
    peek_ = has_after_ ? after_ : lexer_.next();
    has_after_ = false;
    return token;
  }
  Span span(const Token& token) const { return lexer_.span(token); }

  // One more nesting level, opened by `opener`.
  int enter(int depth, const Token& opener) const {
    if (depth >= kMaxExpressionDepth) {
      throw input_error("expression nested too deeply (more than " +
                            std::to_string(kMaxExpressionDepth) + " levels)",
                        span(opener));
    }
    return depth + 1;
  }

  // The Pratt loop: an operand, then every binary operator binding at least `min_power`.
  AstPtr parse_binary(int min_power, int depth, OperandSite site) {
    AstPtr lhs = parse_operand(depth, site);
    while (const BinaryOperator* op = find_binary_operator(peek().kind)) {
      if (op->power < min_power) break;
      const Token op_token = advance();
      const int inner = enter(depth, op_token);
      AstPtr rhs = parse_binary(op->right_associative ? op->power : op->power + 1, inner,
                                OperandSite{&op_token, false});
      AstPtr node = make_node(AstKind::binary, Span::cover(lhs->span, rhs->span));
      node->op = op->op;
      node->args.push_back(std::move(lhs));
      node->args.push_back(std::move(rhs));
      lhs = std::move(node);
      const BinaryOperator* following = find_binary_operator(peek().kind);
      if (op->power == kComparisonPower && following && following->power == kComparisonPower)
        throw input_error("comparisons do not chain: write (a < b)*(b < c) for a < b < c",
                          span(peek()));
    }
    return lhs;
  }

  // An operand and the subscripts after it; each '[' enters a nesting level, so that a long
  // chain x[0][0]... is bounded like nested parentheses.
  AstPtr parse_operand(int depth, OperandSite site) {
    const bool negation = peek().kind == TokenKind::minus;  // -x[0] is -(x[0])
    AstPtr operand = parse_atom(depth, site);
    if (negation) return operand;
    while (peek().kind == TokenKind::lbracket)
      operand = parse_subscripts(std::move(operand), depth);
    return operand;
  }

  AstPtr parse_atom(int depth, OperandSite site) {
    const Token token = peek();
    switch (token.kind) {
      case TokenKind::number: {
        advance();
        AstPtr node = make_node(AstKind::number, span(token));
        node->number = token.number;
        return node;
      }
      case TokenKind::name:
        if (next_after_peek().kind == TokenKind::lparen) return parse_call(depth);
        advance();
        return make_name(token);
      case TokenKind::minus: {
        advance();
        AstPtr operand =
            parse_binary(kUnaryMinusPower, enter(depth, token), OperandSite{&token, false});
        AstPtr node = make_node(AstKind::negate, Span::cover(span(token), operand->span));
        node->args.push_back(std::move(operand));
        return node;
      }
      case TokenKind::lparen:
        return parse_group(depth);
      default:
        reject_missing_operand(token, site);
    }
  }

  AstPtr make_name(const Token& token) const {
    AstPtr node = make_node(AstKind::name, span(token));
    node->name = std::string(token.text);
    return node;
  }

  // '(' e ')'. The node's span is widened to include the parentheses, so that an enclosing
  // node's span, the cover of its operands, covers all of its text.
  AstPtr parse_group(int depth) {
    const Token open = advance();
    AstPtr inner = parse_binary(0, enter(depth, open), OperandSite{&open, false});
    if (peek().kind != TokenKind::rparen) {
      throw input_error("expected ')' to close '(' opened at " + line_col(span(open)),
                        span(peek()));
    }
    const Token close = advance();
    inner->span = Span::cover(span(open), span(close));
    return inner;
  }

  // name '(' [ e { ',' e } ] ')'
  AstPtr parse_call(int depth) {
    const Token name = advance();
    const Token open = advance();
    const int inner = enter(depth, open);
    // Built only on an error: line_col scans the source from its start (O(offset)).
    const auto where = [&] {
      return "in the arguments of " + quote_token(name) + " opened at " + line_col(span(open));
    };
    AstPtr node = make_node(AstKind::call, {});
    node->name = std::string(name.text);
    node->name_span = span(name);
    if (peek().kind == TokenKind::end)
      throw input_error("expected an argument or ')' " + where(), span(peek()));
    if (peek().kind != TokenKind::rparen) {
      Token before_argument = open;  // '(' or the last ','
      while (true) {
        node->args.push_back(parse_binary(0, inner, OperandSite{&before_argument, true}));
        if (peek().kind == TokenKind::comma) {
          before_argument = advance();
          continue;
        }
        if (peek().kind == TokenKind::rparen) break;
        throw input_error("expected ',' or ')' " + where(), span(peek()));
      }
    }
    const Token close = advance();
    node->span = Span::cover(span(name), span(close));
    return node;
  }

  // operand '[' subscript { ',' subscript } ']', a subscript e or [e] ':' [e].
  AstPtr parse_subscripts(AstPtr operand, int& depth) {
    const Token open = advance();
    depth = enter(depth, open);
    const auto where = [&] { return "in the subscripts opened at " + line_col(span(open)); };
    const auto ends_subscript = [&] {
      const TokenKind kind = peek().kind;
      return kind == TokenKind::comma || kind == TokenKind::rbracket || kind == TokenKind::end;
    };
    AstPtr node = make_node(AstKind::index, {});
    Token before = open;  // '[' or the last ','
    while (true) {
      if (ends_subscript())
        throw input_error("expected an index or a slice " + where(), span(peek()));
      Subscript sub;
      if (peek().kind != TokenKind::colon) {
        sub.start = parse_binary(0, depth, OperandSite{&before, false});
        sub.span = sub.start->span;
      }
      if (peek().kind == TokenKind::colon) {
        const Token colon = advance();
        sub.slice = true;
        sub.span = sub.start ? Span::cover(sub.span, span(colon)) : span(colon);
        if (peek().kind == TokenKind::colon)
          throw input_error("slice steps are not supported; write start:stop", span(peek()));
        if (!ends_subscript()) {
          sub.stop = parse_binary(0, depth, OperandSite{&colon, false});
          sub.span = Span::cover(sub.span, sub.stop->span);
        }
      }
      node->subscripts.push_back(std::move(sub));
      if (peek().kind == TokenKind::comma) {
        before = advance();
        continue;
      }
      if (peek().kind == TokenKind::rbracket) break;
      throw input_error("expected ',' or ']' " + where(), span(peek()));
    }
    const Token close = advance();
    node->span = Span::cover(operand->span, span(close));
    node->args.push_back(std::move(operand));
    return node;
  }

  [[noreturn]] void reject_missing_operand(const Token& found, OperandSite site) const {
    std::string message = site.argument ? "expected an argument"
                          : site.after  ? "expected an expression after " + quote_token(*site.after)
                                        : "expected an expression";
    std::string note;
    if (found.kind == TokenKind::plus) note = "there is no unary '+'; write the operand alone";
    throw input_error(std::move(message), span(found), std::move(note));
  }

  Lexer lexer_;
  Token peek_;   // the next token
  Token after_;  // the one after it, when has_after_
  bool has_after_ = false;
};

}  // namespace

AstPtr parse_expression(std::shared_ptr<const Source> source) {
  if (!source) throw Error(ExitCode::failure, "parse_expression: no source text was given");
  return Parser(source).parse_all();
}

AstPtr parse_expression(const std::string& text, const std::string& name) {
  return parse_expression(make_source(name, text));
}

}  // namespace descent::expr
