// Typed, positioned reading of one TOML table of a config, strict like a compiler: a key the
// table does not know, a value of the wrong type, a non-finite number or a value out of range
// is a bad_input Error at the offending key or value, with a did-you-mean for unknown keys.
//
// Does not: know which tables exist or what their keys mean (the section readers, load_*.cpp).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "config/toml_document.hpp"

namespace descent::config {

// Another spelling people use for a key ("learning_rate" for "lr"), offered in did-you-mean.
struct KeyAlias {
  std::string_view alias;
  std::string_view key;
};

// The key `word` most likely meant among `valid` (and the keys that `aliases` point to), or "".
std::string suggest_key(std::string_view word, std::span<const std::string_view> valid,
                        std::span<const KeyAlias> aliases = {});

// "expected <expected> for <label>, found <the node's type>" at the node.
Error type_error(const TomlDocument& doc, const toml::node& node, std::string_view expected,
                 std::string_view label);

// Node-level conversions with type errors; `label` names the value in messages ("train.lr").
// number: an integer or a float, which must be finite.
double number_value(const TomlDocument& doc, const toml::node& node, std::string_view label);
long integer_value(const TomlDocument& doc, const toml::node& node, std::string_view label);
const std::string& string_value(const TomlDocument& doc, const toml::node& node,
                                std::string_view label);

class TableReader {
 public:
  // `path` is the table's dotted name: "train", "params.w", "train.early_stopping".
  TableReader(const TomlDocument& doc, const toml::table& table, std::string path);

  const TomlDocument& doc() const { return doc_; }
  const toml::table& table() const { return table_; }
  const std::string& path() const { return path_; }
  // "train.lr"
  std::string label(std::string_view key) const { return path_ + "." + std::string(key); }
  // "[train]" for a section, "params.w" for a table inside one.
  std::string display() const;
  // The entries in written order (see TomlDocument::entries).
  std::vector<TomlEntry> entries() const { return doc_.entries(table_); }

  const toml::node* find(std::string_view key) const { return table_.get(key); }
  bool has(std::string_view key) const { return find(key) != nullptr; }
  Span span() const { return doc_.span_of(table_); }
  Span key_span(std::string_view key) const;    // the table's span when the key is absent
  Span value_span(std::string_view key) const;  // likewise

  // Throws for the first key, in written order, that is not in `valid`.
  void reject_unknown_keys(std::span<const std::string_view> valid,
                           std::span<const KeyAlias> aliases = {}) const;

  // Absent keys give nullopt / nullptr; a present key of the wrong type throws.
  std::optional<double> number(std::string_view key) const;
  std::optional<long> integer(std::string_view key) const;
  std::optional<std::string> string(std::string_view key) const;
  std::optional<bool> boolean(std::string_view key) const;
  const toml::table* table_at(std::string_view key) const;
  const toml::array* array_at(std::string_view key) const;

  // "<label> = <value> but it must be <requirement>" at the value.
  Error out_of_range(std::string_view key, double value, std::string_view requirement) const;
  Error out_of_range(std::string_view key, long value, std::string_view requirement) const;
  // The integer at `key` (absent: nullopt), which must be >= `minimum`.
  std::optional<long> integer_at_least(std::string_view key, long minimum) const;
  // The integer at `key` (absent: nullopt), which must be in [minimum, maximum].
  std::optional<long> integer_in_range(std::string_view key, long minimum, long maximum) const;
  // The number at `key`, which must be >= `minimum`.
  std::optional<double> number_at_least(std::string_view key, double minimum) const;

 private:
  const TomlDocument& doc_;
  const toml::table& table_;
  std::string path_;
};

}  // namespace descent::config
