// Source text and spans: where a piece of user input came from (file, line, column), so
// that every error, NaN report or printed derivative can point back at what the user wrote.
// Does not parse anything; it only maps byte offsets to positions and renders excerpts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace descent {

// One piece of user text. An expression taken from a config file carries the position of its
// first character in that file (first_line, first_col), so spans report file positions.
struct Source {
  std::string name;  // "expr" for the command line, else the file's path
  std::string text;
  int first_line = 1;
  int first_col = 1;
};

struct Position {
  int line = 1;  // 1-based
  int col = 1;   // 1-based, in bytes
};

// A half-open byte range [begin, end) of a Source. An empty span (no source) is allowed for
// nodes that the compiler made up (derivatives, rewrites).
struct Span {
  std::shared_ptr<const Source> source;
  std::uint32_t begin = 0;
  std::uint32_t end = 0;

  bool valid() const { return source != nullptr; }
  Position start() const { return position_at(begin); }
  Position position_at(std::uint32_t offset) const;
  // "name:line:col" or "" when invalid.
  std::string where() const;
  // The source line holding `begin`, then a caret line marking [begin, end) on it.
  std::string excerpt() const;
  // The covering span of two spans of the same source.
  static Span cover(const Span& a, const Span& b);
};

std::shared_ptr<const Source> make_source(std::string name, std::string text, int first_line = 1,
                                          int first_col = 1);

}  // namespace descent
