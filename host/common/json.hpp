// A small JSON writer: a value type that builds nested objects and arrays, and serializes them
// with correct string escaping and numbers that read back to the same double.
//
// Numbers: doubles are written in the shortest form that round-trips (std::to_chars), integers
// exactly, and non-finite doubles (NaN, ±inf, which JSON cannot spell) as null. Strings: '"',
// '\\' and control characters are escaped; every other byte, UTF-8 included, passes through
// unchanged (the text is not validated as UTF-8). Object members keep their insertion order.
//
// Reading (json_parse.cpp): Json::parse reads RFC 8259 text back into a value, for the files
// descent reads again (a run's data.json); integers that fit an int64 stay integers.
//
// Does not: stream (a value is built in memory, then dumped), or keep comments or formatting.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace descent {

class Json {
 public:
  enum class Type { null, boolean, integer, number, string, array, object };

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool value) : type_(Type::boolean), boolean_(value) {}
  template <std::integral I>
  requires(!std::same_as<I, bool>) Json(I value)
      : type_(Type::integer), integer_(static_cast<std::int64_t>(value)) {}
  Json(double value) : type_(Type::number), number_(value) {}
  Json(float value) : type_(Type::number), number_(static_cast<double>(value)) {}
  Json(std::string value) : type_(Type::string), text_(std::move(value)) {}
  Json(std::string_view value) : type_(Type::string), text_(value) {}
  Json(const char* value) : type_(Type::string), text_(value) {}

  static Json array(std::initializer_list<Json> items = {});
  static Json object();

  // Parses a whole JSON text (RFC 8259; nesting at most 256 deep). A defect is an input_error
  // (exit code 2) at its line and column in a source named `name` (the file's path).
  static Json parse(std::string_view text, const std::string& name);

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::null; }
  bool is_number() const { return type_ == Type::integer || type_ == Type::number; }
  // The value of a number (an integer converted), a boolean or a string; a value of another
  // type throws std::logic_error (check type() first).
  double as_double() const;
  std::int64_t as_integer() const;  // an integer, or a number that is a whole int64
  bool as_bool() const;
  const std::string& as_string() const;
  // Array element i (i < size()); throws std::logic_error when not an array or out of range.
  const Json& at(std::size_t i) const;
  // Object member names, in order (parallel to the values that at() returns).
  const std::vector<std::string>& keys() const { return keys_; }

  // Object: sets member `key`, replacing an existing one in place, else appending it.
  // Returns *this so that members can be chained: Json::object().set("a", 1).set("b", "x").
  Json& set(std::string_view key, Json value);
  // Array: appends an element. Returns *this.
  Json& push(Json value);
  // Object: the member `key`, or nullptr.
  const Json* find(std::string_view key) const;
  // Array elements, or object members (the values; keys() holds their names).
  std::size_t size() const { return items_.size(); }

  // indent < 0: one line with no spaces ({"a":1,"b":[2,3]}), for JSON Lines.
  // indent >= 0: one member or element per line, nested `indent` more spaces per level.
  std::string dump(int indent = -1) const;
  void dump_to(std::string& out, int indent = -1, int depth = 0) const;

 private:
  Type type_ = Type::null;
  bool boolean_ = false;
  std::int64_t integer_ = 0;
  double number_ = 0;
  std::string text_;
  std::vector<std::string> keys_;  // object member names, parallel to items_
  std::vector<Json> items_;        // array elements or object member values
};

// Appends `text` as a quoted, escaped JSON string.
void append_json_string(std::string& out, std::string_view text);
// Appends the shortest decimal that reads back as `value`; "null" when it is not finite.
void append_json_number(std::string& out, double value);
// The shortest decimal that reads back as `value` (std::to_chars): "0.1", "1e+21", "-0", "nan",
// "inf", "-inf". Shared by the CSV and JSON writers.
std::string format_shortest(double value);

}  // namespace descent
