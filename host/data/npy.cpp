// The .npy reader and writer. The layout (numpy.lib.format):
//
//   bytes 0-5   "\x93NUMPY"
//   bytes 6-7   major, minor version (1.0, 2.0 or 3.0)
//   then        header length: uint16 LE (1.0) or uint32 LE (2.0, 3.0)
//   then        the header: a Python dict literal, e.g.
//               {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
//               padded with spaces and ended by '\n' so that the data starts at a multiple of 64
//   then        the raw array data
//
// Errors are input_errors without a span (a caret under binary bytes helps nobody): each message
// starts with the path and gives the byte offset of the problem.
#include "data/npy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "data/data_file.hpp"

namespace descent {

// The data are decoded with memcpy into native values, so the host must be little-endian, as
// every machine descent targets is.
static_assert(std::endian::native == std::endian::little,
              "the .npy code assumes a little-endian host");

namespace {

constexpr std::string_view kMagic{"\x93NUMPY", 6};
constexpr std::size_t kAlignment = 64;

std::string shape_text(const std::vector<std::size_t>& shape) {
  if (shape.size() == 1) return fmt::format("({},)", shape[0]);
  return fmt::format("({})", fmt::join(shape, ", "));
}

// A header byte as it is shown in a message.
std::string shown_byte(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (c == '\'') return "\"'\"";
  if (byte >= 0x20 && byte < 0x7f) return fmt::format("'{}'", c);
  return fmt::format("byte 0x{:02x}", static_cast<unsigned>(byte));
}

// ---- decoding the data -------------------------------------------------------------------

// Each decoder reads one element and says whether the double holds it exactly.
using Decoder = bool (*)(const unsigned char* bytes, double& value);

template <class T>
bool decode_float(const unsigned char* bytes, double& value) {
  T element;
  std::memcpy(&element, bytes, sizeof element);
  value = static_cast<double>(element);
  return true;
}

template <class T>
bool decode_integer(const unsigned char* bytes, double& value) {
  T element;
  std::memcpy(&element, bytes, sizeof element);
  value = static_cast<double>(element);
  if constexpr (sizeof(T) < 8) {
    return true;  // every integer of 32 bits or fewer fits the 53-bit significand
  } else {
    // The conversion rounded to 53 bits; it may have rounded up to 2^63 (2^64), which T
    // cannot hold, so test that before converting back.
    constexpr double kLimit = std::is_signed_v<T> ? 0x1p63 : 0x1p64;
    return value < kLimit && static_cast<T>(value) == element;
  }
}

bool decode_bool(const unsigned char* bytes, double& value) {
  value = bytes[0] != 0 ? 1.0 : 0.0;  // numpy reads any non-zero byte as True
  return true;
}

struct Dtype {
  std::string_view descr;
  std::size_t item_size;
  Decoder decode;
};

// The dtypes read, as numpy writes them ('|' marks a one-byte type; '<u1' is accepted too).
constexpr Dtype kDtypes[] = {
    {"<f8", 8, decode_float<double>},          {"<f4", 4, decode_float<float>},
    {"<i8", 8, decode_integer<std::int64_t>},  {"<i4", 4, decode_integer<std::int32_t>},
    {"<i2", 2, decode_integer<std::int16_t>},  {"|i1", 1, decode_integer<std::int8_t>},
    {"<u8", 8, decode_integer<std::uint64_t>}, {"<u4", 4, decode_integer<std::uint32_t>},
    {"<u2", 2, decode_integer<std::uint16_t>}, {"|u1", 1, decode_integer<std::uint8_t>},
    {"<u1", 1, decode_integer<std::uint8_t>},  {"|b1", 1, decode_bool},
};

std::string supported_dtypes() {
  std::string out;
  for (const Dtype& dtype : kDtypes) out += (out.empty() ? "" : ", ") + std::string(dtype.descr);
  return out;
}

// ---- the header --------------------------------------------------------------------------

struct Header {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
};

// Parses the header dict: exactly the keys descr, fortran_order and shape, in any order, with
// Python literal values. Quotes may be single or double; whitespace is free.
class HeaderParser {
 public:
  HeaderParser(const std::string& path, std::string_view text, std::size_t offset)
      : path_(path), text_(text), offset_(offset) {}

  Header parse() {
    Header header;
    bool have_descr = false, have_fortran_order = false, have_shape = false;
    skip_space();
    expect('{', "at the start of the header");
    for (;;) {
      skip_space();
      if (consume('}')) break;
      const std::size_t key_at = pos_;
      const std::string key = parse_string("a quoted key");
      skip_space();
      expect(':', fmt::format("after the key '{}'", key));
      skip_space();
      bool* seen = nullptr;
      if (key == "descr") {
        seen = &have_descr;
        if (peek() == '[') fail_at(pos_, "structured dtypes (a list of fields) are not supported");
        header.descr = parse_string("a quoted dtype string for 'descr'");
      } else if (key == "fortran_order") {
        seen = &have_fortran_order;
        header.fortran_order = parse_bool();
      } else if (key == "shape") {
        seen = &have_shape;
        header.shape = parse_shape();
      } else {
        fail_at(key_at, fmt::format("unexpected key '{}'; a .npy header holds 'descr', "
                                    "'fortran_order' and 'shape'",
                                    key));
      }
      if (*seen) fail_at(key_at, fmt::format("the key '{}' appears twice", key));
      *seen = true;
      skip_space();
      if (consume(',')) continue;
      if (consume('}')) break;
      fail_at(pos_, fmt::format("expected ',' or '}}' after the value of '{}', {}", key, found()));
    }
    skip_space();
    if (pos_ != text_.size()) fail_at(pos_, "unexpected text after the closing '}'");
    for (const auto& [have, key] :
         {std::pair{have_descr, "descr"}, std::pair{have_fortran_order, "fortran_order"},
          std::pair{have_shape, "shape"}}) {
      if (!have) fail_at(0, fmt::format("the header has no '{}' key", key));
    }
    return header;
  }

 private:
  [[noreturn]] void fail_at(std::size_t pos, const std::string& what) const {
    throw input_error(
        fmt::format("{}: malformed .npy header at byte offset {}: {}", path_, offset_ + pos, what));
  }

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  std::string found() const {
    return pos_ < text_.size() ? "found " + shown_byte(text_[pos_]) : "found the end";
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (peek() != c || pos_ == text_.size()) return false;
    ++pos_;
    return true;
  }

  void expect(char c, const std::string& context) {
    if (!consume(c)) fail_at(pos_, fmt::format("expected '{}' {}, {}", c, context, found()));
  }

  std::string parse_string(const std::string& what) {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail_at(pos_, fmt::format("expected {}, {}", what, found()));
    const std::size_t close = text_.find(quote, pos_ + 1);
    if (close == std::string_view::npos) fail_at(pos_, "unterminated string");
    std::string value(text_.substr(pos_ + 1, close - pos_ - 1));
    pos_ = close + 1;
    return value;
  }

  bool parse_bool() {
    for (const auto& [word, value] :
         {std::pair{std::string_view("True"), true}, std::pair{std::string_view("False"), false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += word.size();
        return value;
      }
    }
    fail_at(pos_, fmt::format("expected True or False for 'fortran_order', {}", found()));
  }

  // "()", "(5,)", "(3, 4)"; Python 2 wrote "(3L, 4L)".
  std::vector<std::size_t> parse_shape() {
    std::vector<std::size_t> shape;
    expect('(', "to open the shape tuple");
    for (;;) {
      skip_space();
      if (consume(')')) return shape;
      if (peek() == '-') fail_at(pos_, "a dimension of the shape is negative");
      std::size_t dimension = 0;
      const char* first = text_.data() + pos_;
      const auto [stop, error] = std::from_chars(first, text_.data() + text_.size(), dimension);
      if (error == std::errc::result_out_of_range)
        fail_at(pos_, "a dimension of the shape is too large");
      if (error != std::errc{})
        fail_at(pos_, fmt::format("expected a dimension or ')' in the shape, {}", found()));
      pos_ += static_cast<std::size_t>(stop - first);
      consume('L');
      shape.push_back(dimension);
      skip_space();
      if (consume(',')) continue;
      expect(')', "after the last dimension of the shape");
      return shape;
    }
  }

  const std::string& path_;
  std::string_view text_;
  std::size_t offset_;  // of text_[0] in the file
  std::size_t pos_ = 0;
};

const Dtype& find_dtype(const std::string& path, const std::string& descr) {
  for (const Dtype& dtype : kDtypes) {
    if (dtype.descr == descr) return dtype;
  }
  if (descr.starts_with('>')) {
    throw input_error(
        fmt::format("{}: big-endian dtype '{}' is not supported; save the array "
                    "little-endian, e.g. arr.astype('<{}')",
                    path, descr, descr.substr(1)));
  }
  if (descr.find('O') != std::string::npos) {
    throw input_error(
        fmt::format("{}: object arrays (dtype '{}') cannot be read; save a "
                    "numeric array",
                    path, descr));
  }
  throw input_error(
      fmt::format("{}: unsupported dtype '{}'; descent reads {}", path, descr, supported_dtypes()));
}

// The element count of `shape`, or nothing when it overflows.
std::optional<std::size_t> element_count(const std::vector<std::size_t>& shape) {
  std::size_t count = 1;
  for (const std::size_t dimension : shape) {
    if (dimension != 0 && count > std::numeric_limits<std::size_t>::max() / dimension) {
      return std::nullopt;
    }
    count *= dimension;
  }
  return count;
}

std::uint32_t read_le(const std::string& bytes, std::size_t offset, std::size_t width) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

NpyReader::NpyReader(const std::string& path)
    : path_(path), file_(std::make_unique<DataFile>(path)) {
  const auto fail = [&](const std::string& what) { return input_error(path + ": " + what); };
  // The header is read piece by piece, each piece checked before the next is read; `bytes`
  // holds what has been read.
  std::string bytes(8, '\0');
  bytes.resize(file_->read(bytes.data(), bytes.size()));
  if (std::string_view(bytes).substr(0, kMagic.size()) != kMagic) {
    throw fail("not a NumPy .npy file: it does not start with \"\\x93NUMPY\" (byte offset 0)");
  }
  if (bytes.size() < 8) {
    throw fail("truncated .npy file: it ends inside the version (byte offset 6)");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  const auto minor = static_cast<unsigned char>(bytes[7]);
  if (minor != 0 || major < 1 || major > 3) {
    throw fail(
        fmt::format("unsupported .npy format version {}.{} (byte offset 6); descent "
                    "reads 1.0, 2.0 and 3.0",
                    major, minor));
  }
  const std::size_t length_width = major == 1 ? 2 : 4;
  const std::size_t header_begin = 8 + length_width;
  bytes.resize(header_begin);
  bytes.resize(8 + file_->read(bytes.data() + 8, length_width));
  if (bytes.size() < header_begin) {
    throw fail("truncated .npy file: it ends inside the header length (byte offset 8)");
  }
  const std::size_t header_length = read_le(bytes, 8, length_width);
  // Read in blocks: the announced length (up to 4 GiB in versions 2 and 3) is only believed as
  // far as the file's bytes go, so a damaged length costs no more memory than the file holds.
  std::string header_text;
  constexpr std::size_t kBlock = std::size_t{1} << 16;
  while (header_text.size() < header_length) {
    const std::size_t have = header_text.size();
    const std::size_t want = std::min(kBlock, header_length - have);
    header_text.resize(have + want);
    const std::size_t got = file_->read(header_text.data() + have, want);
    header_text.resize(have + got);
    if (got < want) break;
  }
  if (header_text.size() < header_length) {
    throw fail(
        fmt::format("truncated .npy header: {} header bytes announced at byte offset 8, "
                    "but the file ends at byte offset {}",
                    header_length, header_begin + header_text.size()));
  }
  data_begin_ = header_begin + header_length;
  const Header header = HeaderParser(path, header_text, header_begin).parse();

  const Dtype& dtype = find_dtype(path, header.descr);
  if (header.fortran_order) {
    throw fail(
        "fortran_order is True; descent reads C-order arrays only (save "
        "np.ascontiguousarray(arr))");
  }
  const std::optional<std::size_t> count = element_count(header.shape);
  if (!count || *count > std::numeric_limits<std::size_t>::max() / dtype.item_size) {
    throw fail(fmt::format("shape {} is too large", shape_text(header.shape)));
  }
  shape_ = header.shape;
  count_ = *count;
  descr_ = std::string(dtype.descr);
  item_size_ = dtype.item_size;
  decode_ = dtype.decode;
  // A regular file's size is known now; a pipe's once it has been read (read_values).
  if (const std::optional<std::int64_t> size = file_->regular_size())
    check_data_size(static_cast<std::size_t>(*size) -
                    std::min<std::size_t>(data_begin_, static_cast<std::size_t>(*size)));
}

NpyReader::~NpyReader() = default;

void NpyReader::check_data_size(std::size_t available) const {
  const std::size_t needed = count_ * item_size_;
  if (available < needed) {
    throw input_error(
        fmt::format("{}: truncated data: shape {} of '{}' needs {} bytes from byte offset {}, "
                    "but the file ends {} bytes later",
                    path_, shape_text(shape_), descr_, needed, data_begin_, available));
  }
  if (available > needed) {
    throw input_error(
        fmt::format("{}: {} unexpected bytes after the data, which ends at byte "
                    "offset {}",
                    path_, available - needed, data_begin_ + needed));
  }
}

void NpyReader::read_values(double* out) {
  const std::size_t needed = count_ * item_size_;
  std::size_t got = 0;
  if (descr_ == "<f8") {
    // Already doubles: read in place, no copy of the bytes.
    got = file_->read(reinterpret_cast<char*>(out), needed);
  } else {
    // A block of raw values at a time, decoded into `out`.
    constexpr std::size_t kBlockValues = std::size_t{1} << 17;
    std::vector<unsigned char> block(kBlockValues * item_size_);
    while (got < needed) {
      const std::size_t wanted = std::min(block.size(), needed - got);
      const std::size_t part = file_->read(reinterpret_cast<char*>(block.data()), wanted);
      const std::size_t first = got / item_size_;
      for (std::size_t k = 0; k < part / item_size_; ++k) {
        const std::size_t i = first + k;
        if (!decode_(block.data() + k * item_size_, out[i])) {
          throw input_error(
              fmt::format("{}: the '{}' value at index {} (byte offset {}) cannot be held "
                          "exactly by a double (it is beyond 2^53)",
                          path_, descr_, i, data_begin_ + i * item_size_));
        }
      }
      got += part;
      if (part < wanted) break;  // the end of the file
    }
  }
  if (got < needed) check_data_size(got);
  // Whatever follows the data is an error; count it for the message.
  std::size_t extra = 0;
  std::vector<char> rest(4096);
  for (std::size_t part; (part = file_->read(rest.data(), rest.size())) > 0;) extra += part;
  if (extra > 0) check_data_size(needed + extra);
}

NpyArray read_npy(const std::string& path) {
  NpyReader reader(path);
  NpyArray array;
  array.shape = reader.shape();
  array.values.resize(reader.count());
  reader.read_values(array.values.data());
  return array;
}

void write_npy(const std::string& path, const std::vector<std::size_t>& shape,
               std::span<const double> values) {
  const std::optional<std::size_t> count = element_count(shape);
  if (!count || *count != values.size()) {
    throw Error(ExitCode::failure, fmt::format("write_npy('{}'): shape {} does not hold {} values",
                                               path, shape_text(shape), values.size()));
  }

  std::string header =
      fmt::format("{{'descr': '<f8', 'fortran_order': False, 'shape': {}, }}", shape_text(shape));
  // Version 1.0 stores the header length in 16 bits; only a header too long for that needs 2.0.
  const std::size_t header_room_v1 = std::numeric_limits<std::uint16_t>::max();
  const std::size_t length_width = header.size() + kAlignment < header_room_v1 ? 2 : 4;
  const std::size_t preamble = kMagic.size() + 2 + length_width;
  const std::size_t unpadded = preamble + header.size() + 1;  // + the final '\n'
  const std::size_t padded = (unpadded + kAlignment - 1) / kAlignment * kAlignment;
  header.append(padded - unpadded, ' ');
  header += '\n';

  std::string bytes;
  bytes.reserve(padded + values.size_bytes());
  bytes += kMagic;
  bytes += static_cast<char>(length_width == 2 ? 1 : 2);
  bytes += '\0';
  for (std::size_t i = 0; i < length_width; ++i) {
    bytes += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  }
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size_bytes());
  write_file_atomically(path, bytes);
}

}  // namespace descent
