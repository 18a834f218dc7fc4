// Reading, parsing and overriding a TOML config while keeping every position.
#include "config/toml_document.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <tuple>

#include "common/error.hpp"

namespace descent::config {

namespace {

bool is_bare_key_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string quote_toml_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
  return out + "\"";
}

namespace {

toml::table parse_toml(const std::string& text, const std::string& path) {
  return toml::parse(std::string_view(text), std::string_view(path));
}

}  // namespace

std::string describe_toml_type(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

TomlDocument TomlDocument::read(const std::string& path) {
  auto cannot_open = [&path](int error) {
    return Error(ExitCode::io_error,
                 fmt::format("cannot open config '{}': {}", path, std::strerror(error)));
  };
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) throw cannot_open(EISDIR);
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) throw cannot_open(errno);
  std::string text;
  char buffer[1 << 14];
  std::size_t got = 0;
  while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw cannot_open(error);
  return parse(path, std::move(text));
}

TomlDocument TomlDocument::parse(const std::string& path, std::string text) {
  TomlDocument doc;
  doc.file_ = make_source(path, std::move(text));
  doc.origins_[path] = make_origin(doc.file_, 0, false);
  try {
    doc.root_ = parse_toml(doc.file_->text, path);
  } catch (const toml::parse_error& e) {
    const Span at = doc.span_of(e.source());
    // toml++ says "unescaped control characters ..." when a string runs into the line's end.
    const bool open_string =
        std::string_view(e.description()).find("parsing string") != std::string_view::npos &&
        at.begin < doc.file_->text.size() &&
        (doc.file_->text[at.begin] == '\n' || doc.file_->text[at.begin] == '\r');
    throw input_error(std::string(e.description()), at,
                      open_string ? "the string is not closed on the line where it starts "
                                    "(strings over several lines use \"\"\")"
                                  : "");
  }
  return doc;
}

void TomlDocument::apply_override(const std::string& text) {
  const int index = ++overrides_;
  const auto shown = make_source("--set", text);
  auto malformed = [&](const std::string& why, std::size_t begin, std::size_t end) {
    return input_error(
        fmt::format("malformed --set '{}': {}", text, why),
        Span{shown, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(end)});
  };
  const std::string usage = "expected SECTION.KEY=VALUE, e.g. train.lr=0.1";

  const std::size_t eq = text.find('=');
  if (eq == std::string::npos) throw malformed(usage, 0, text.size());

  // The dotted key before '=': bare TOML keys, optionally with blanks around the dots.
  struct Segment {
    std::string name;
    std::size_t begin, end;
  };
  std::vector<Segment> segments;
  for (std::size_t begin = 0;;) {
    std::size_t dot = text.find('.', begin);
    if (dot == std::string::npos || dot > eq) dot = eq;
    std::size_t b = begin, e = dot;
    while (b < e && is_blank(text[b])) ++b;
    while (e > b && is_blank(text[e - 1])) --e;
    if (b == e) {
      if (segments.empty() && dot == eq)
        throw malformed("the key before '=' is missing", eq, eq + 1);
      throw malformed("a key is missing in the dotted key", dot, dot + 1);
    }
    for (std::size_t i = b; i < e; ++i) {
      if (!is_bare_key_char(text[i])) {
        throw malformed(fmt::format("'{}' is not a key (keys are letters, digits, '_' and '-')",
                                    text.substr(b, e - b)),
                        b, e);
      }
    }
    segments.push_back({text.substr(b, e - b), b, e});
    if (dot == eq) break;
    begin = dot + 1;
  }
  if (segments.size() < 2) throw malformed(usage, segments[0].begin, segments[0].end);

  std::size_t value_begin = eq + 1, value_end = text.size();
  while (value_begin < value_end && is_blank(text[value_begin])) ++value_begin;
  while (value_end > value_begin && std::isspace(static_cast<unsigned char>(text[value_end - 1])))
    --value_end;
  if (value_begin == value_end) throw malformed("the value after '=' is missing", eq, eq + 1);

  // The override is itself a TOML document ("train.lr=0.1" is valid TOML). When the value is
  // not TOML, it is the text as a string: same key, same value position, so spans still hold.
  const std::string tag = "\x1f--set#" + std::to_string(index);  // never a real path
  toml::table parsed;
  bool verbatim = false;
  try {
    parsed = parse_toml(text, tag);
  } catch (const toml::parse_error&) {
    verbatim = true;
    const std::string as_string =
        text.substr(0, value_begin) +
        quote_toml_string(std::string_view(text).substr(value_begin, value_end - value_begin));
    try {
      parsed = parse_toml(as_string, tag);
    } catch (const toml::parse_error& e) {
      throw malformed(std::string(e.description()), value_begin, value_end);
    }
  }
  origins_[tag] = make_origin(shown, index, verbatim);

  // Merge: walk down the existing tables, then move the rest of the override's subtree in.
  toml::table* into = &root_;
  toml::table* from = &parsed;
  std::string dotted;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& segment = segments[i];
    dotted += (i == 0 ? "" : ".") + segment.name;
    auto from_it = from->find(segment.name);
    if (from->size() != 1 || from_it == from->end()) {
      throw malformed("expected exactly one KEY=VALUE", 0, text.size());
    }
    const bool last = i + 1 == segments.size();
    auto into_it = into->find(segment.name);
    if (into_it == into->end()) {
      into->insert(toml::key(from_it->first), std::move(from_it->second));
      break;
    }
    if (last) {  // keeps the file's key (and so the entry's place in the written order)
      into->insert_or_assign(toml::key(into_it->first), std::move(from_it->second));
      break;
    }
    if (!into_it->second.is_table() || !from_it->second.is_table()) {
      throw input_error(fmt::format("cannot apply --set '{}': {} is {}, not a table", text, dotted,
                                    describe_toml_type(into_it->second)),
                        Span{shown, static_cast<std::uint32_t>(segment.begin),
                             static_cast<std::uint32_t>(segment.end)});
    }
    into = into_it->second.as_table();
    from = from_it->second.as_table();
  }

  // epochs and steps are alternatives: overriding one replaces the other.
  if (segments.size() == 2 && segments[0].name == "train" &&
      (segments[1].name == "epochs" || segments[1].name == "steps")) {
    if (toml::table* train = root_["train"].as_table()) {
      train->erase(segments[1].name == "epochs" ? "steps" : "epochs");
    }
  }
}

TomlDocument::Origin TomlDocument::make_origin(std::shared_ptr<const Source> source, int order,
                                               bool verbatim) {
  Origin origin{std::move(source), order, verbatim, {0}, {}};
  const std::string& text = origin.source->text;
  bool ascii = true;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) >= 0x80) ascii = false;
    if (text[i] == '\n') {
      origin.ascii_line.push_back(ascii);
      origin.line_starts.push_back(static_cast<std::uint32_t>(i + 1));
      ascii = true;
    }
  }
  origin.ascii_line.push_back(ascii);
  return origin;
}

// toml++ positions are 1-based lines and 1-based columns counted in code points; positions
// past the end of a line or of the text are clamped to it. Constant time on ASCII lines, so
// that mapping every key of a large config stays linear in its size.
std::uint32_t TomlDocument::byte_offset(const Origin& origin, const toml::source_position& pos) {
  const std::string& text = origin.source->text;
  if (pos.line < 1 || pos.line > origin.line_starts.size())
    return static_cast<std::uint32_t>(text.size());
  const std::size_t line = pos.line - 1;
  const std::size_t begin = origin.line_starts[line];
  const std::size_t end =
      line + 1 < origin.line_starts.size() ? origin.line_starts[line + 1] - 1 : text.size();
  if (origin.ascii_line[line]) {
    const std::size_t col = pos.column < 1 ? 0 : pos.column - 1;
    return static_cast<std::uint32_t>(begin + std::min(col, end - begin));
  }
  std::size_t i = begin;
  for (toml::source_index col = 1; col < pos.column && i < end; ++col) {
    ++i;
    while (i < end && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) ++i;
  }
  return static_cast<std::uint32_t>(i);
}

const TomlDocument::Origin* TomlDocument::origin_of(const toml::source_region& region) const {
  if (!region.path) return nullptr;
  const auto it = origins_.find(*region.path);
  return it == origins_.end() ? nullptr : &it->second;
}

Span TomlDocument::span_of(const toml::source_region& region) const {
  const Origin* origin = origin_of(region);
  if (origin == nullptr || region.begin.line == 0) return {};
  const std::string& text = origin->source->text;
  const std::uint32_t begin = byte_offset(*origin, region.begin);
  std::uint32_t end = region.end.line == 0 ? begin : byte_offset(*origin, region.end);
  if (end <= begin)
    end = std::min<std::uint32_t>(begin + 1, static_cast<std::uint32_t>(text.size()));
  return Span{origin->source, begin, std::max(begin, end)};
}

Span TomlDocument::span_of(const toml::node& node) const { return span_of(node.source()); }

Span TomlDocument::span_of(const toml::key& key) const { return span_of(key.source()); }

ExpressionText TomlDocument::expression(const toml::value<std::string>& value) const {
  ExpressionText out;
  out.where = span_of(value);
  const Origin* origin = origin_of(value.source());
  if (origin == nullptr || !out.where.valid()) {
    out.source = make_source(file_->name, value.get());
    return out;
  }
  // The start's line and byte column, from the line table (Span::start() would rescan the
  // text from its beginning, which makes loading many expressions quadratic).
  const toml::source_position& start = value.source().begin;
  int line = 0, col = 0;
  if (start.line >= 1 && start.line <= origin->line_starts.size() &&
      out.where.begin >= origin->line_starts[start.line - 1]) {
    line = static_cast<int>(start.line);
    col = static_cast<int>(out.where.begin - origin->line_starts[start.line - 1]) + 1;
  } else {
    const Position at = out.where.start();
    line = at.line;
    col = at.col;
  }
  if (!origin->verbatim_value) {
    const std::string_view rest = std::string_view(origin->source->text).substr(out.where.begin);
    if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
      // A multi-line string drops a newline right after its opening delimiter.
      if (rest.substr(3).starts_with('\n') || rest.substr(3).starts_with("\r\n")) {
        ++line;
        col = 1;
      } else {
        col += 3;
      }
    } else if (rest.starts_with('"') || rest.starts_with('\'')) {
      col += 1;
    }
  }
  out.source = make_source(origin->source->name, value.get(), line, col);
  return out;
}

std::vector<TomlEntry> TomlDocument::entries(const toml::table& table) const {
  std::vector<TomlEntry> out;
  for (const auto& [key, value] : table) out.push_back({&key, &value});
  auto rank = [this](const TomlEntry& entry) {
    const toml::source_region& region = entry.key->source();
    const Origin* origin = origin_of(region);
    return std::make_tuple(origin == nullptr ? INT_MAX : origin->order, region.begin.line,
                           region.begin.column);
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const TomlEntry& a, const TomlEntry& b) { return rank(a) < rank(b); });
  return out;
}

}  // namespace descent::config
