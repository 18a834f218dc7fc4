// Offset → line/column mapping and caret excerpts for Source spans.
#include "common/source.hpp"

#include <algorithm>

namespace descent {

std::shared_ptr<const Source> make_source(std::string name, std::string text, int first_line,
                                          int first_col) {
  auto src = std::make_shared<Source>();
  src->name = std::move(name);
  src->text = std::move(text);
  src->first_line = first_line;
  src->first_col = first_col;
  return src;
}

Position Span::position_at(std::uint32_t offset) const {
  Position pos;
  if (!source) return pos;
  const std::string& text = source->text;
  offset = std::min<std::uint32_t>(offset, static_cast<std::uint32_t>(text.size()));
  int line = 0;
  std::uint32_t line_start = 0;
  for (std::uint32_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  pos.line = source->first_line + line;
  const int col_in_line = static_cast<int>(offset - line_start);
  pos.col = (line == 0 ? source->first_col : 1) + col_in_line;
  return pos;
}

std::string Span::where() const {
  if (!source) return {};
  const Position p = start();
  return source->name + ":" + std::to_string(p.line) + ":" + std::to_string(p.col);
}

std::string Span::excerpt() const {
  if (!source) return {};
  const std::string& text = source->text;
  const std::uint32_t b = std::min<std::uint32_t>(begin, static_cast<std::uint32_t>(text.size()));
  std::size_t line_begin = text.rfind('\n', b == 0 ? std::string::npos : b - 1);
  line_begin = (line_begin == std::string::npos || b == 0) ? 0 : line_begin + 1;
  if (b == 0) line_begin = 0;
  std::size_t line_end = text.find('\n', b);
  if (line_end == std::string::npos) line_end = text.size();
  const std::string line = text.substr(line_begin, line_end - line_begin);
  const std::size_t caret_at = b - line_begin;
  std::size_t width = 1;
  if (end > b) width = std::min<std::size_t>(end - b, line_end - b);
  if (width == 0) width = 1;
  std::string marks(caret_at, ' ');
  for (std::size_t i = 0; i < caret_at && i < line.size(); ++i)
    if (line[i] == '\t') marks[i] = '\t';
  marks += '^';
  if (width > 1) marks += std::string(width - 1, '~');
  return "  " + line + "\n  " + marks;
}

Span Span::cover(const Span& a, const Span& b) {
  if (!a.valid()) return b;
  if (!b.valid() || a.source != b.source) return a;
  return Span{a.source, std::min(a.begin, b.begin), std::max(a.end, b.end)};
}

}  // namespace descent
