// The lexer of the expression language (DESIGN §3): turns source text into tokens, each with
// the offsets of the text it came from. Knows numbers, names, the operators + - * / ^ ** @,
// parentheses, brackets, colons and commas; skips whitespace (spaces, tabs, newlines, carriage
// returns). It does not know the grammar: "2 x" or "x +" lex fine and are rejected by the parser.
// It throws descent::Error (input_error) for a malformed number ("1e", "1.2.3", "1e999") and
// for a character that starts no token ('$', a control character, any non-ASCII character).
#pragma once

#include <cstdint>
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

// A token is its kind and where its characters lie in the source; Lexer::span gives its Span.
// It holds no reference to the source itself, so that reading one costs no reference count.
struct Token {
  TokenKind kind = TokenKind::end;
  std::uint32_t begin = 0;  // byte offset of its first character in the source text
  std::string_view text;    // its characters, a view into the source's text ("" for end)
  double number = 0.0;      // kind == number: its value

  // The offset just past its characters.
  std::uint32_t end() const { return begin + static_cast<std::uint32_t>(text.size()); }
};

// Reads the tokens of a source one at a time, in order; the parser asks for each as it needs
// it, so that no array of a long expression's tokens is ever written out and read back.
class Lexer {
 public:
  // `source` must not be null. Throws input_error when the text is longer than 4 GiB (offsets
  // are 32 bits).
  explicit Lexer(std::shared_ptr<const Source> source);

  // The next token. After the last one, TokenKind::end (an empty token just after the last
  // token), again at every call. Throws input_error for a malformed number or a character that
  // starts no token.
  Token next();
  // Lexes the rest of the text and throws the first lexical error in it, if there is one, as
  // tokenize() would have: a caller that found a syntax error calls this first, so that an
  // input with both reports the lexical one, wherever it lies. Does nothing after next() threw.
  void throw_any_lexical_error();

  // The token's place in the source, as diagnostics and the syntax tree keep it.
  Span span(const Token& token) const { return span(token.begin, token.end()); }

 private:
  Span span(std::size_t begin, std::size_t end) const {
    return Span{source_, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)};
  }
  Token lex();
  Token make(TokenKind kind, std::size_t begin) const;
  char at(std::size_t i) const { return i < text_.size() ? text_[i] : '\0'; }
  Token lex_number();
  void skip_digits();
  std::size_t end_of_number_like_run(std::size_t from) const;
  void reject_dotted_run(std::size_t begin) const;
  [[noreturn]] void reject_character(std::size_t begin) const;

  std::shared_ptr<const Source> source_;
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t last_end_ = 0;  // where the end token goes: just after the last token
  bool failed_ = false;       // next() has thrown
};

// All tokens of `source` (not null), always ending with exactly one TokenKind::end token. The
// string views point into source->text, which must outlive them.
std::vector<Token> tokenize(const std::shared_ptr<const Source>& source);

// How a token is quoted in a diagnostic: "'+'", "'x'", or "end of input".
std::string quote_token(const Token& token);

}  // namespace descent::expr
