// The CSV record splitter over a sliding window of the file (see csv_records.hpp).
//
// A record is split only once the window holds all of it: the splitter reads fields until the
// record's line end; when the text read so far ends first (and the file goes on), it reads the
// next block and splits the record again from its start. The window then holds the unfinished
// record and the new block; the records before it are dropped at that point.
#include "data/csv_records.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "common/error.hpp"

namespace descent {

namespace {

// Bytes read at a time: a window of a few of them stays in cache while it is split.
constexpr std::size_t kBlock = std::size_t{1} << 20;

// A byte as it is quoted in a message: control bytes escaped.
std::string shown_byte(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
    return fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
  return std::string(1, c);
}

}  // namespace

CsvRecords::CsvRecords(const std::string& path, char delimiter)
    : file_(path), delimiter_(delimiter) {
  read_more();
  while (!at_eof_ && visible_ < 3) read_more();  // enough to see a byte-order mark
  if (visible_ == 0 && at_eof_)
    throw input_error("the data file is empty", Span{make_source(path, ""), 0, 0});
  if (std::string_view(text_).substr(0, visible_).starts_with("\xEF\xBB\xBF")) pos_ = 3;
}

bool CsvRecords::next_record(bool skip_comment_lines) {
  for (;;) {
    const Skip skip = skip_to_record(skip_comment_lines);
    if (skip == Skip::at_end) return false;
    if (skip == Skip::need_more) {
      read_more();
      continue;
    }
    record_begin_ = pos_;
    if (split_record()) return true;
    pos_ = record_begin_;  // the record goes on past the text read so far
    read_more();
  }
}

std::string_view CsvRecords::content(const CsvField& field) {
  const std::string_view raw(text_.data() + field.content_begin,
                             field.content_end - field.content_begin);
  if (!field.has_doubled_quotes) return raw;
  unquoted_.clear();
  for (std::size_t i = 0; i < raw.size(); ++i) {
    unquoted_ += raw[i];
    if (raw[i] == '"') ++i;  // the second quote of a pair
  }
  return unquoted_;
}

Span CsvRecords::span(std::size_t begin, std::size_t end) const {
  // A Source of the line holding `begin` (an excerpt shows that line only), numbered as in the
  // file; a line longer than a Span's 32-bit offsets is cut.
  const std::string_view text(text_.data(), visible_);
  begin = std::min(begin, text.size());
  const std::size_t newline_before = begin == 0 ? std::string::npos : text.rfind('\n', begin - 1);
  const std::size_t line_begin = newline_before == std::string::npos ? 0 : newline_before + 1;
  std::size_t line_end = text.find('\n', begin);
  if (line_end == std::string::npos) line_end = text.size();
  constexpr std::size_t kMaxOffset = std::numeric_limits<std::uint32_t>::max();
  line_end = std::min(line_end, line_begin + kMaxOffset);
  const std::int64_t line =
      first_line_ +
      std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(line_begin), '\n');
  auto source =
      make_source(file_.path(), std::string(text.substr(line_begin, line_end - line_begin)),
                  static_cast<int>(std::min<std::int64_t>(line, std::numeric_limits<int>::max())));
  const std::size_t length = line_end - line_begin;
  const auto local = [&](std::size_t offset) {
    return static_cast<std::uint32_t>(std::min(offset - line_begin, length));
  };
  return Span{std::move(source), local(begin), local(std::max(begin, end))};
}

CsvRecords::Skip CsvRecords::skip_to_record(bool skip_comment_lines) {
  while (pos_ < visible_) {
    std::size_t first = pos_;
    while (first < visible_ && is_blank(text_[first])) ++first;
    if (first == visible_ && !at_eof_) return Skip::need_more;
    const bool blank = first == visible_ || text_[first] == '\n';
    const bool comment = skip_comment_lines && first < visible_ && text_[first] == '#';
    if (!blank && !comment) return Skip::at_record;
    const std::size_t newline = std::string_view(text_.data(), visible_).find('\n', first);
    if (newline == std::string::npos) {
      if (!at_eof_) return Skip::need_more;
      pos_ = visible_;
    } else {
      pos_ = newline + 1;
    }
  }
  return at_eof_ ? Skip::at_end : Skip::need_more;
}

// False when the text read so far ends inside the record.
bool CsvRecords::split_record() {
  fields_.clear();
  for (;;) {
    CsvField field;
    if (!split_field(field)) return false;
    fields_.push_back(field);
    if (pos_ < visible_ && text_[pos_] == delimiter_) {
      ++pos_;
      continue;
    }
    if (pos_ == visible_ && !at_eof_) return false;
    record_end_ = pos_;  // at the newline or the end of the file
    if (pos_ < visible_) ++pos_;
    return true;
  }
}

bool CsvRecords::split_field(CsvField& field) {
  while (pos_ < visible_ && is_blank(text_[pos_])) ++pos_;
  field.raw_begin = pos_;
  if (pos_ < visible_ && text_[pos_] == '"') return split_quoted(field);
  while (pos_ < visible_ && text_[pos_] != delimiter_ && text_[pos_] != '\n') ++pos_;
  std::size_t end = pos_;
  while (end > field.raw_begin && is_blank(text_[end - 1])) --end;
  field.content_begin = field.raw_begin;
  field.raw_end = field.content_end = end;
  return true;
}

bool CsvRecords::split_quoted(CsvField& field) {
  const std::string_view text(text_.data(), visible_);
  const std::size_t open = pos_;
  field.content_begin = open + 1;
  std::size_t search_from = open + 1;
  for (;;) {
    const std::size_t quote = text.find('"', search_from);
    if (quote == std::string::npos) {
      if (!at_eof_) return false;
      throw input_error("unterminated quoted field", span(open, open + 1),
                        "a quoted field ends at the next '\"' that is not doubled");
    }
    if (quote + 1 == text.size() && !at_eof_) return false;  // it may be the first of a pair
    if (quote + 1 < text.size() && text[quote + 1] == '"') {
      field.has_doubled_quotes = true;
      search_from = quote + 2;
      continue;
    }
    field.content_end = quote;
    field.raw_end = pos_ = quote + 1;
    break;
  }
  while (pos_ < visible_ && is_blank(text_[pos_])) ++pos_;
  if (pos_ < visible_ && text_[pos_] != delimiter_ && text_[pos_] != '\n') {
    throw input_error(
        fmt::format("unexpected '{}' after the closing quote of a field", shown_byte(text_[pos_])),
        span(pos_, pos_ + 1), "to put a quote inside a quoted field, write it twice (\"\")");
  }
  return true;
}

void CsvRecords::read_more() {
  if (at_eof_) throw Error(ExitCode::failure, "internal: the CSV splitter read past the end");
  if (forget_ && pos_ > 0) {
    first_line_ +=
        std::count(text_.begin(), text_.begin() + static_cast<std::ptrdiff_t>(pos_), '\n');
    text_.erase(0, pos_);
    visible_ -= pos_;
    pos_ = 0;
  }
  const std::size_t old_size = text_.size();
  const std::size_t wanted = std::max(kBlock, old_size);
  text_.resize(old_size + wanted);
  const std::size_t got = file_.read(text_.data() + old_size, wanted);
  text_.resize(old_size + got);
  at_eof_ = got < wanted;  // DataFile::read stops short only at the end of the file
  // CRLF → LF in the new text. A CR at the very end may begin a CRLF that the next block ends:
  // it stays out of sight until then.
  std::size_t end = text_.size();
  const bool hold_back = !at_eof_ && end > visible_ && text_[end - 1] == '\r';
  if (hold_back) --end;
  std::size_t kept = visible_;
  for (std::size_t i = visible_; i < end; ++i) {
    if (text_[i] == '\r' && i + 1 < text_.size() && text_[i + 1] == '\n') continue;
    text_[kept++] = text_[i];
  }
  visible_ = kept;
  if (hold_back) text_[kept++] = '\r';
  text_.resize(kept);
}

}  // namespace descent
