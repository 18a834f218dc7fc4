// JSON serialization: escaping, shortest round-trip numbers, compact and indented layouts.
#include "common/json.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <system_error>

namespace descent {

Json Json::array(std::initializer_list<Json> items) {
  Json value;
  value.type_ = Type::array;
  value.items_.assign(items.begin(), items.end());
  return value;
}

Json Json::object() {
  Json value;
  value.type_ = Type::object;
  return value;
}

Json& Json::set(std::string_view key, Json value) {
  if (type_ != Type::object) throw std::logic_error("Json::set on a value that is not an object");
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      items_[i] = std::move(value);
      return *this;
    }
  }
  keys_.emplace_back(key);
  items_.push_back(std::move(value));
  return *this;
}

Json& Json::push(Json value) {
  if (type_ != Type::array) throw std::logic_error("Json::push on a value that is not an array");
  items_.push_back(std::move(value));
  return *this;
}

const Json* Json::find(std::string_view key) const {
  if (type_ != Type::object) return nullptr;
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return &items_[i];
  }
  return nullptr;
}

std::string Json::dump(int indent) const {
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

void Json::dump_to(std::string& out, int indent, int depth) const {
  switch (type_) {
    case Type::null:
      out += "null";
      return;
    case Type::boolean:
      out += boolean_ ? "true" : "false";
      return;
    case Type::integer: {
      std::array<char, 24> buffer{};
      const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), integer_);
      out.append(buffer.data(), result.ptr);
      return;
    }
    case Type::number:
      append_json_number(out, number_);
      return;
    case Type::string:
      append_json_string(out, text_);
      return;
    case Type::array:
    case Type::object:
      break;
  }

  const bool is_object = type_ == Type::object;
  out += is_object ? '{' : '[';
  if (items_.empty()) {
    out += is_object ? '}' : ']';
    return;
  }
  // In the indented layout every member starts on its own line, `indent` spaces deeper.
  auto new_line = [&](int level) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent) * static_cast<std::size_t>(level), ' ');
  };
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (i > 0) out += ',';
    new_line(depth + 1);
    if (is_object) {
      append_json_string(out, keys_[i]);
      out += indent < 0 ? ":" : ": ";
    }
    items_[i].dump_to(out, indent, depth + 1);
  }
  new_line(depth);
  out += is_object ? '}' : ']';
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (byte < 0x20) {  // the other control characters have no short escape
          out += "\\u00";
          out += kHex[byte >> 4];
          out += kHex[byte & 0xF];
        } else {
          out += ch;  // printable ASCII and UTF-8 bytes pass through
        }
    }
  }
  out += '"';
}

std::string format_shortest(double value) {
  std::array<char, 32> buffer{};  // the shortest double is at most 24 characters
  const auto result = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  return std::string(buffer.data(), result.ptr);
}

void append_json_number(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  out += format_shortest(value);
}

}  // namespace descent
