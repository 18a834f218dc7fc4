// Typed access to a config table, with the errors of a strict reader.
#include "config/table_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/suggest.hpp"
#include "config/limits.hpp"

namespace descent::config {

namespace {

// True when swapping two neighbouring letters of `a` gives `b` ("sdt" and "std"): one slip of
// the fingers, which plain edit distance counts as two and so misses in short words.
bool one_transposition_apart(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  std::size_t first = 0;
  while (first < a.size() && a[first] == b[first]) ++first;
  if (first + 1 >= a.size()) return false;
  return a[first] == b[first + 1] && a[first + 1] == b[first] &&
         a.substr(first + 2) == b.substr(first + 2);
}

}  // namespace

std::string suggest_key(std::string_view word, std::span<const std::string_view> valid,
                        std::span<const KeyAlias> aliases) {
  std::string lower(word);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::string> candidates(valid.begin(), valid.end());
  for (const KeyAlias& alias : aliases) candidates.emplace_back(alias.alias);
  std::string best = closest_match(lower, candidates);
  if (best.empty()) {
    for (const std::string& candidate : candidates) {
      if (one_transposition_apart(lower, candidate)) best = candidate;
    }
  }
  for (const KeyAlias& alias : aliases) {
    if (alias.alias == best) return std::string(alias.key);
  }
  return best;
}

Error type_error(const TomlDocument& doc, const toml::node& node, std::string_view expected,
                 std::string_view label) {
  return input_error(
      fmt::format("expected {} for {}, found {}", expected, label, describe_toml_type(node)),
      doc.span_of(node));
}

double number_value(const TomlDocument& doc, const toml::node& node, std::string_view label) {
  double value = 0;
  if (const auto* i = node.as_integer()) {
    value = static_cast<double>(i->get());
  } else if (const auto* f = node.as_floating_point()) {
    value = f->get();
  } else {
    throw type_error(doc, node, "a number", label);
  }
  if (!std::isfinite(value)) {
    throw input_error(fmt::format("{} = {} but it must be a finite number", label, value),
                      doc.span_of(node));
  }
  return value;
}

long integer_value(const TomlDocument& doc, const toml::node& node, std::string_view label) {
  if (const auto* i = node.as_integer()) return static_cast<long>(i->get());
  throw type_error(doc, node, "an integer", label);
}

const std::string& string_value(const TomlDocument& doc, const toml::node& node,
                                std::string_view label) {
  if (const auto* s = node.as_string()) return s->get();
  throw type_error(doc, node, "a string", label);
}

TableReader::TableReader(const TomlDocument& doc, const toml::table& table, std::string path)
    : doc_(doc), table_(table), path_(std::move(path)) {}

std::string TableReader::display() const {
  return path_.find('.') == std::string::npos ? "[" + path_ + "]" : path_;
}

Span TableReader::key_span(std::string_view key) const {
  const auto it = table_.find(key);
  return it == table_.end() ? span() : doc_.span_of(it->first);
}

Span TableReader::value_span(std::string_view key) const {
  const toml::node* node = find(key);
  return node == nullptr ? span() : doc_.span_of(*node);
}

void TableReader::reject_unknown_keys(std::span<const std::string_view> valid,
                                      std::span<const KeyAlias> aliases) const {
  for (const TomlEntry& entry : entries()) {
    const std::string_view key = entry.key->str();
    if (std::find(valid.begin(), valid.end(), key) != valid.end()) continue;
    const std::string best = suggest_key(key, valid, aliases);
    std::string message = fmt::format("unknown key '{}' in {}", key, display());
    std::string note;
    if (!best.empty()) {
      message += fmt::format("; did you mean '{}'?", best);
    } else {
      note = fmt::format("valid keys in {}: {}", display(), fmt::join(valid, ", "));
    }
    throw input_error(std::move(message), doc_.span_of(*entry.key), std::move(note));
  }
}

std::optional<double> TableReader::number(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  return number_value(doc_, *node, label(key));
}

std::optional<long> TableReader::integer(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  return integer_value(doc_, *node, label(key));
}

std::optional<std::string> TableReader::string(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  return string_value(doc_, *node, label(key));
}

std::optional<bool> TableReader::boolean(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return std::nullopt;
  if (const auto* b = node->as_boolean()) return b->get();
  throw type_error(doc_, *node, "a boolean (true or false)", label(key));
}

const toml::table* TableReader::table_at(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (const auto* t = node->as_table()) return t;
  throw type_error(doc_, *node, "a table", label(key));
}

const toml::array* TableReader::array_at(std::string_view key) const {
  const toml::node* node = find(key);
  if (node == nullptr) return nullptr;
  if (const auto* a = node->as_array()) return a;
  throw type_error(doc_, *node, "an array", label(key));
}

Error TableReader::out_of_range(std::string_view key, double value,
                                std::string_view requirement) const {
  return input_error(fmt::format("{} = {} but it must be {}", label(key), value, requirement),
                     value_span(key));
}

Error TableReader::out_of_range(std::string_view key, long value,
                                std::string_view requirement) const {
  return input_error(fmt::format("{} = {} but it must be {}", label(key), value, requirement),
                     value_span(key));
}

std::optional<long> TableReader::integer_at_least(std::string_view key, long minimum) const {
  const std::optional<long> value = integer(key);
  if (value && *value < minimum) throw out_of_range(key, *value, fmt::format(">= {}", minimum));
  return value;
}

std::optional<long> TableReader::integer_in_range(std::string_view key, long minimum,
                                                  long maximum) const {
  const std::optional<long> value = integer_at_least(key, minimum);
  if (value && *value > maximum)
    throw out_of_range(key, *value, fmt::format("at most {}", limit_text(maximum)));
  return value;
}

std::optional<double> TableReader::number_at_least(std::string_view key, double minimum) const {
  const std::optional<double> value = number(key);
  if (value && *value < minimum) throw out_of_range(key, *value, fmt::format(">= {}", minimum));
  return value;
}

}  // namespace descent::config
