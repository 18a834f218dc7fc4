// Tokenizer of the expression language: numbers, names, operators, parentheses, brackets,
// colons, commas.
// Does not parse; see parser.cpp for the grammar and most syntax errors. Character classes
// are plain ASCII tests, independent of the C locale, and numbers are converted with
// std::from_chars for the same reason.
#include "expr/lexer.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <utility>

#include "common/error.hpp"

namespace descent::expr {

namespace {

// Longest spelling first, so that "**" wins over "*".
struct OperatorSpelling {
  std::string_view text;
  TokenKind kind;
};
constexpr OperatorSpelling kOperators[] = {
    {"**", TokenKind::star_star},   {"<=", TokenKind::less_equal}, {">=", TokenKind::greater_equal},
    {"==", TokenKind::equal_equal}, {"!=", TokenKind::not_equal},  {"<", TokenKind::less},
    {">", TokenKind::greater},      {"+", TokenKind::plus},        {"-", TokenKind::minus},
    {"*", TokenKind::star},         {"/", TokenKind::slash},       {"^", TokenKind::caret},
    {"@", TokenKind::at},           {"(", TokenKind::lparen},      {")", TokenKind::rparen},
    {",", TokenKind::comma},        {"[", TokenKind::lbracket},    {"]", TokenKind::rbracket},
    {":", TokenKind::colon},
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_letter(c) || is_digit(c); }
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string hex(unsigned value, int digits) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i, value >>= 4)
    out[static_cast<std::size_t>(i)] = kHexDigits[value & 0xF];
  return out;
}

// The UTF-8 sequence starting at text[pos]: its length in bytes and code point, or length 0
// when the bytes there are not valid UTF-8 (overlong forms and surrogates included).
struct Utf8Char {
  std::size_t length = 0;
  std::uint32_t code_point = 0;
};
Utf8Char decode_utf8(std::string_view text, std::size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  // Lead byte 110xxxxx, 1110xxxx or 11110xxx: 2, 3 or 4 bytes; the smallest code point that
  // needs that many bytes (anything below is an overlong form); the payload bits of the lead.
  std::size_t length = 0;
  std::uint32_t smallest = 0;
  std::uint32_t cp = 0;
  if ((lead & 0xE0U) == 0xC0U) {
    length = 2;
    smallest = 0x80;
    cp = lead & 0x1FU;
  } else if ((lead & 0xF0U) == 0xE0U) {
    length = 3;
    smallest = 0x800;
    cp = lead & 0x0FU;
  } else if ((lead & 0xF8U) == 0xF0U) {
    length = 4;
    smallest = 0x10000;
    cp = lead & 0x07U;
  } else {
    return {};  // ASCII or a continuation byte 10xxxxxx
  }
  if (pos + length > text.size()) return {};
  for (std::size_t i = 1; i < length; ++i) {
    const auto next = static_cast<unsigned char>(text[pos + i]);
    if ((next & 0xC0U) != 0x80U) return {};
    cp = (cp << 6) | (next & 0x3FU);
  }
  if (cp < smallest || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
  return {length, cp};
}

}  // namespace

Lexer::Lexer(std::shared_ptr<const Source> source)
    : source_(std::move(source)), text_(source_->text) {
  if (text_.size() > std::numeric_limits<std::uint32_t>::max())
    throw input_error("expression is longer than 4 GiB", span(0, 0));
}

Token Lexer::next() {
  try {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    if (pos_ == text_.size())
      return Token{TokenKind::end, static_cast<std::uint32_t>(last_end_), {}, 0.0};
    Token token = lex();
    last_end_ = pos_;
    return token;
  } catch (...) {
    failed_ = true;
    throw;
  }
}

void Lexer::throw_any_lexical_error() {
  if (failed_) return;
  while (next().kind != TokenKind::end) {
  }
}

Token Lexer::make(TokenKind kind, std::size_t begin) const {
  return Token{kind, static_cast<std::uint32_t>(begin), text_.substr(begin, pos_ - begin), 0.0};
}

Token Lexer::lex() {
  const std::size_t begin = pos_;
  const char c = text_[pos_];
  if (is_digit(c) || (c == '.' && is_digit(at(pos_ + 1)))) return lex_number();
  if (c == '.' && at(pos_ + 1) == '.') reject_dotted_run(begin);  // "..5"
  if (is_letter(c)) {
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    return make(TokenKind::name, begin);
  }
  for (const OperatorSpelling& op : kOperators) {
    if (c == op.text[0] && (op.text.size() == 1 || at(pos_ + 1) == op.text[1])) {
      pos_ += op.text.size();
      return make(op.kind, begin);
    }
  }
  reject_character(begin);
}

// digits [ '.' digits ] | '.' digits, then optionally [eE] [+-] digits.
Token Lexer::lex_number() {
  const std::size_t begin = pos_;
  skip_digits();
  if (at(pos_) == '.') {
    ++pos_;
    skip_digits();
  }
  bool has_exponent = false;
  if (at(pos_) == 'e' || at(pos_) == 'E') {
    std::size_t digits_at = pos_ + 1;
    if (at(digits_at) == '+' || at(digits_at) == '-') ++digits_at;
    if (!is_digit(at(digits_at))) {
      throw input_error("malformed number '" + std::string(text_.substr(begin, digits_at - begin)) +
                            "': expected digits after the exponent '" + text_[pos_] + "'",
                        span(begin, digits_at));
    }
    pos_ = digits_at;
    skip_digits();
    has_exponent = true;
  }
  if (at(pos_) == '.') {  // "1.2.3", "1..", "1e3.5"
    const std::size_t run_end = end_of_number_like_run(pos_);
    throw input_error(
        "malformed number '" + std::string(text_.substr(begin, run_end - begin)) + "': " +
            (has_exponent ? "a decimal point in the exponent" : "more than one decimal point"),
        span(begin, run_end));
  }

  Token token = make(TokenKind::number, begin);
  const auto [ptr, ec] =
      std::from_chars(token.text.data(), token.text.data() + token.text.size(), token.number);
  if (ec == std::errc::result_out_of_range)
    throw input_error("number '" + std::string(token.text) + "' is out of the range of a double",
                      span(token));
  if (ec != std::errc() || ptr != token.text.data() + token.text.size())  // cannot happen
    throw input_error("malformed number '" + std::string(token.text) + "'", span(token));
  return token;
}

void Lexer::skip_digits() {
  while (pos_ < text_.size() && is_digit(text_[pos_])) ++pos_;
}

std::size_t Lexer::end_of_number_like_run(std::size_t from) const {
  while (from < text_.size() && (is_name_char(text_[from]) || text_[from] == '.')) ++from;
  return from;
}

// A run of dots with digits in it ("..5") reads as a broken number; a run without digits
// ("x..y") is just an unexpected '.'.
void Lexer::reject_dotted_run(std::size_t begin) const {
  const std::size_t run_end = end_of_number_like_run(begin);
  for (std::size_t i = begin; i < run_end; ++i) {
    if (is_digit(text_[i])) {
      throw input_error("malformed number '" + std::string(text_.substr(begin, run_end - begin)) +
                            "': more than one decimal point",
                        span(begin, run_end));
    }
  }
}

// Names the character plainly: "'$'", a code point for control and non-ASCII characters,
// and the byte value when the text there is not UTF-8 at all.
void Lexer::reject_character(std::size_t begin) const {
  const auto byte = static_cast<unsigned char>(text_[begin]);
  if (byte < 0x80) {
    if (byte < 0x20 || byte == 0x7F)
      throw input_error("unexpected control character U+" + hex(byte, 4), span(begin, begin + 1));
    throw input_error(std::string("unexpected character '") + text_[begin] + "'",
                      span(begin, begin + 1));
  }
  const Utf8Char ch = decode_utf8(text_, begin);
  if (ch.length == 0) {
    throw input_error("unexpected byte 0x" + hex(byte, 2) + " (not valid UTF-8)",
                      span(begin, begin + 1));
  }
  throw input_error("unexpected non-ASCII character '" +
                        std::string(text_.substr(begin, ch.length)) + "' (U+" +
                        hex(ch.code_point, ch.code_point > 0xFFFFF  ? 6
                                           : ch.code_point > 0xFFFF ? 5
                                                                    : 4) +
                        "); names and operators are ASCII only",
                    span(begin, begin + ch.length));
}

std::vector<Token> tokenize(const std::shared_ptr<const Source>& source) {
  Lexer lexer(source);
  std::vector<Token> tokens;
  do tokens.push_back(lexer.next());
  while (tokens.back().kind != TokenKind::end);
  return tokens;
}

std::string quote_token(const Token& token) {
  if (token.kind == TokenKind::end) return "end of input";
  return "'" + std::string(token.text) + "'";
}

}  // namespace descent::expr
