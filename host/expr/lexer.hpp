// The lexer of the expression language (DESIGN §3): turns source text into tokens, each with
// the Span it came from. Knows numbers, names, the operators + - * / ^ ** @, parentheses,
// brackets, colons and commas; skips whitespace (spaces, tabs, newlines, carriage returns).
// It does not know the grammar: "2 x" or "x +" lex fine and are rejected by the parser.
// It throws descent::Error (input_error) for a malformed number ("1e", "1.2.3", "1e999") and
// for a character that starts no token ('$', a control character, any non-ASCII character).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/source.hpp"

namespace descent::expr {

enum class TokenKind {
  number,         // 2, 0.5, .5, 1e-3, 2.5E+4
  name,           // x, w_1, _tmp
  plus,           // +
  minus,          // -
  star,           // *
  slash,          // /
  caret,          // ^
  star_star,      // **  (the same operator as ^)
  at,             // @
  lparen,         // (
  rparen,         // )
  comma,          // ,
  less,           // <
  less_equal,     // <=
  greater,        // >
  greater_equal,  // >=
  equal_equal,    // ==
  not_equal,      // !=
  lbracket,       // [
  rbracket,       // ]
  colon,          // :
  end,            // end of input: an empty span just after the last token
};

struct Token {
  TokenKind kind = TokenKind::end;
  Span span;
  std::string_view text;  // the token's characters in span.source->text ("" for end)
  double number = 0.0;    // kind == number: its value
};

// All tokens of `source` (not null), always ending with exactly one TokenKind::end token. The
// string views point into source->text, which the tokens' spans keep alive.
std::vector<Token> tokenize(const std::shared_ptr<const Source>& source);

// How a token is quoted in a diagnostic: "'+'", "'x'", or "end of input".
std::string quote_token(const Token& token);

}  // namespace descent::expr
