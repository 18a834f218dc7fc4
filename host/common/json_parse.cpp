// Reading JSON text into a Json value (see json.hpp): a recursive-descent parser of RFC 8259,
// strict (no comments, no trailing commas, no NaN), with errors at their line and column.
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "common/error.hpp"
#include "common/json.hpp"
#include "common/source.hpp"

namespace descent {

namespace {

constexpr int kMaxDepth = 256;

class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& name)
      : text_(text), source_(make_source(name, std::string(text))) {}

  Json parse_document() {
    skip_blanks();
    Json value = parse_value(0);
    skip_blanks();
    if (at_ < text_.size()) fail("unexpected text after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    Span span;
    span.source = source_;
    span.begin = static_cast<std::uint32_t>(at_);
    span.end = static_cast<std::uint32_t>(std::min(at_ + 1, text_.size()));
    throw input_error("malformed JSON: " + what, span);
  }

  void skip_blanks() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\t' || text_[at_] == '\n' || text_[at_] == '\r'))
      ++at_;
  }

  bool consume(char c) {
    skip_blanks();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char c, const char* where) {
    if (!consume(c)) fail(std::string("expected '") + c + "' " + where);
  }

  Json parse_value(int depth) {
    if (depth > kMaxDepth) fail("nested deeper than 256 levels");
    skip_blanks();
    if (at_ >= text_.size()) fail("unexpected end of the text");
    const char c = text_[at_];
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') return Json(parse_string());
    if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
    for (const auto& [word, value] : {std::pair<std::string_view, Json>{"true", Json(true)},
                                      {"false", Json(false)},
                                      {"null", Json()}}) {
      if (text_.substr(at_, word.size()) == word) {
        at_ += word.size();
        return value;
      }
    }
    fail("expected a value (an object, array, string, number, true, false or null)");
  }

  Json parse_object(int depth) {
    ++at_;  // '{'
    Json object = Json::object();
    if (consume('}')) return object;
    do {
      skip_blanks();
      if (at_ >= text_.size() || text_[at_] != '"') fail("expected a member name in quotes");
      const std::string key = parse_string();
      if (object.find(key) != nullptr) fail("the member \"" + key + "\" appears twice");
      expect(':', "after a member name");
      object.set(key, parse_value(depth + 1));
    } while (consume(','));
    expect('}', "or ',' in an object");
    return object;
  }

  Json parse_array(int depth) {
    ++at_;  // '['
    Json array = Json::array();
    if (consume(']')) return array;
    do {
      array.push(parse_value(depth + 1));
    } while (consume(','));
    expect(']', "or ',' in an array");
    return array;
  }

  unsigned hex4() {
    if (at_ + 4 > text_.size()) fail("a \\u escape needs four hex digits");
    unsigned value = 0;
    const auto result = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, value, 16);
    if (result.ptr != text_.data() + at_ + 4) fail("a \\u escape needs four hex digits");
    at_ += 4;
    return value;
  }

  static void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  std::string parse_string() {
    ++at_;  // '"'
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("a string is not closed");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --at_;
        fail("a control character inside a string must be escaped");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("a string is not closed");
      const char e = text_[at_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          unsigned code = hex4();
          // A surrogate pair spells one code point above U+FFFF.
          if (code >= 0xD800 && code < 0xDC00 && text_.substr(at_, 2) == "\\u") {
            at_ += 2;
            const unsigned low = hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("a high surrogate without its low half");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default:
          --at_;
          fail(std::string("unknown escape '\\") + e + "'");
      }
    }
  }

  Json parse_number() {
    const std::size_t start = at_;
    auto digits = [&] {
      const std::size_t from = at_;
      while (at_ < text_.size() && text_[at_] >= '0' && text_[at_] <= '9') ++at_;
      return at_ - from;
    };
    if (text_[at_] == '-') ++at_;
    const std::size_t int_start = at_;
    if (digits() == 0) fail("a number needs digits");
    if (text_[int_start] == '0' && at_ - int_start > 1) {
      at_ = int_start;
      fail("a number may not start with 0");
    }
    bool whole = true;
    if (at_ < text_.size() && text_[at_] == '.') {
      ++at_;
      whole = false;
      if (digits() == 0) fail("a fraction needs digits after '.'");
    }
    if (at_ < text_.size() && (text_[at_] == 'e' || text_[at_] == 'E')) {
      ++at_;
      whole = false;
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) ++at_;
      if (digits() == 0) fail("an exponent needs digits");
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + at_;
    if (whole) {
      std::int64_t integer = 0;
      const auto result = std::from_chars(first, last, integer);
      if (result.ec == std::errc() && result.ptr == last) return Json(integer);
    }
    double value = 0;
    const auto result = std::from_chars(first, last, value);
    if (result.ec != std::errc() || result.ptr != last || !std::isfinite(value)) {
      at_ = start;
      fail("a number out of the range of a double");
    }
    return Json(value);
  }

  std::string_view text_;
  std::shared_ptr<const Source> source_;
  std::size_t at_ = 0;
};

}  // namespace

Json Json::parse(std::string_view text, const std::string& name) {
  return JsonParser(text, name).parse_document();
}

double Json::as_double() const {
  if (type_ == Type::integer) return static_cast<double>(integer_);
  if (type_ == Type::number) return number_;
  throw std::logic_error("Json::as_double on a value that is not a number");
}

std::int64_t Json::as_integer() const {
  if (type_ == Type::integer) return integer_;
  if (type_ == Type::number && std::floor(number_) == number_ && std::fabs(number_) < 9.2e18)
    return static_cast<std::int64_t>(number_);
  throw std::logic_error("Json::as_integer on a value that is not a whole number");
}

bool Json::as_bool() const {
  if (type_ != Type::boolean) throw std::logic_error("Json::as_bool on a value that is not a bool");
  return boolean_;
}

const std::string& Json::as_string() const {
  if (type_ != Type::string)
    throw std::logic_error("Json::as_string on a value that is not a string");
  return text_;
}

const Json& Json::at(std::size_t i) const {
  if ((type_ != Type::array && type_ != Type::object) || i >= items_.size())
    throw std::logic_error("Json::at: no element " + std::to_string(i));
  return items_[i];
}

}  // namespace descent
