// A config file as a TOML document that remembers where everything came from: reads the file,
// parses it with toml++ (a syntax error becomes a descent error at file:line:col with the caret
// excerpt), merges --set overrides into it (each override is a little source of its own, named
// "--set", so that errors about overridden values point into the override), and maps any node
// or key back to a Span.
//
// Does not: know what an experiment looks like (load.cpp and its section readers do), or check
// types and keys (table_reader.hpp).
#pragma once

#include <toml++/toml.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/source.hpp"
#include "config/experiment.hpp"

namespace descent::config {

// One key/value pair of a table.
struct TomlEntry {
  const toml::key* key;
  const toml::node* value;
};

class TomlDocument {
 public:
  // Reads and parses the file at `path`. An unreadable file is ExitCode::io_error
  // ("cannot open config 'PATH': <reason>"); a TOML syntax error is ExitCode::bad_input.
  static TomlDocument read(const std::string& path);
  // Parses `text` as the content of the file `path` (no file access).
  static TomlDocument parse(const std::string& path, std::string text);

  // Merges one --set override, "dotted.key=value", into the document. The value is parsed as
  // TOML (0.1, "adam", [3, 4], true, { patience = 3 }); a value that is not TOML is taken
  // verbatim as a string, so train.optimizer=adam works unquoted. Intermediate tables are
  // created as needed; a malformed override is a bad_input error pointing into the override.
  // Only the syntax is checked here: unknown keys are found later, like those of the file.
  void apply_override(const std::string& text);

  const toml::table& root() const { return root_; }
  toml::table& root() { return root_; }
  // The whole config file, for spans of things that have no node (e.g. a missing section).
  const std::shared_ptr<const Source>& file() const { return file_; }

  Span span_of(const toml::node& node) const;
  Span span_of(const toml::key& key) const;
  Span span_of(const toml::source_region& region) const;

  // An expression written as a string value: its text as a Source positioned where the text
  // starts in the file (after the opening quote), and the value's span.
  ExpressionText expression(const toml::value<std::string>& value) const;

  // The entries of a table in the order they were written: those of the file first, then
  // those that overrides added, in the order of the overrides (toml++ keeps keys sorted).
  std::vector<TomlEntry> entries(const toml::table& table) const;

 private:
  struct Origin {
    std::shared_ptr<const Source> source;  // the text shown in excerpts
    int order = 0;                         // 0: the file, i: the i-th override
    bool verbatim_value = false;           // an override value taken as a string, unquoted
    // Byte offset where each line starts, and whether the line is ASCII (code points are
    // then bytes): positions map to offsets without rescanning the text.
    std::vector<std::uint32_t> line_starts;
    std::vector<bool> ascii_line;
  };
  static Origin make_origin(std::shared_ptr<const Source> source, int order, bool verbatim);
  // The byte offset of a toml++ position in the origin's text.
  static std::uint32_t byte_offset(const Origin& origin, const toml::source_position& pos);

  const Origin* origin_of(const toml::source_region& region) const;

  toml::table root_;
  std::shared_ptr<const Source> file_;
  // Keyed by the source path that toml++ stamps on every node and key it parses.
  std::map<std::string, Origin, std::less<>> origins_;
  int overrides_ = 0;
};

// `text` as a TOML basic string, with quotes and escapes.
std::string quote_toml_string(std::string_view text);

// "a string", "an integer", "a table", ... for "expected X for KEY, found Y" messages.
std::string describe_toml_type(const toml::node& node);

}  // namespace descent::config
