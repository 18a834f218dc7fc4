// Slice windows and paddings: packing into a node's attribute, checking against shapes, and
// composing (see window.hpp).
#include "graph/window.hpp"

#include "common/error.hpp"

namespace descent {

namespace {

constexpr std::uint64_t kIndexBit = std::uint64_t{1} << 63;
constexpr std::int64_t kFirstLimit = std::int64_t{1} << 31;
constexpr std::int64_t kSecondLimit = std::int64_t{1} << 32;

std::int64_t pack_pair(std::int64_t first, std::int64_t second, bool flag) {
  if (first < 0 || first >= kFirstLimit || second < 0 || second >= kSecondLimit)
    throw Error(ExitCode::bad_input, "a slice or pad of " + std::to_string(first) + ", " +
                                         std::to_string(second) +
                                         " is beyond the dimensions descent can index");
  const std::uint64_t word = static_cast<std::uint64_t>(first) << 32 |
                             static_cast<std::uint64_t>(second) | (flag ? kIndexBit : 0);
  return static_cast<std::int64_t>(word);
}

struct Pair {
  std::int64_t first, second;
  bool flag;
};
Pair unpack_pair(std::int64_t packed) {
  const auto word = static_cast<std::uint64_t>(packed);
  return {static_cast<std::int64_t>((word & ~kIndexBit) >> 32),
          static_cast<std::int64_t>(word & 0xffffffffULL), (word & kIndexBit) != 0};
}

}  // namespace

bool Slicing::whole(const Shape& operand) const {
  if (rank != operand.rank) return false;
  for (int k = 0; k < rank; ++k)
    if (axis[k].index || axis[k].start != 0 || axis[k].stop != operand.dims[k]) return false;
  return true;
}

std::optional<Shape> Slicing::result_shape(const Shape& operand, std::string& why) const {
  if (operand.rank == 0 || rank != operand.rank) {
    why = operand.rank == 0 ? "a scalar cannot be indexed"
                            : "a window of rank " + std::to_string(rank) + " does not fit shape " +
                                  operand.to_string();
    return std::nullopt;
  }
  Shape out;
  for (int k = 0; k < rank; ++k) {
    const SliceAxis& a = axis[k];
    const std::int64_t n = operand.dims[k];
    if (!(0 <= a.start && a.start < a.stop && a.stop <= n) || (a.index && a.stop != a.start + 1)) {
      why = "the window " + std::to_string(a.start) + ":" + std::to_string(a.stop) +
            " does not fit axis " + std::to_string(k) + " of length " + std::to_string(n);
      return std::nullopt;
    }
    if (!a.index) out.dims[out.rank++] = a.stop - a.start;
  }
  return out;
}

Slicing Slicing::then(const Slicing& inner) const {
  Slicing out = *this;
  int j = 0;  // inner's axis: this window's kept axes, in order
  for (int k = 0; k < rank; ++k) {
    if (axis[k].index) continue;
    const SliceAxis& a = inner.axis[j++];
    out.axis[k] = {axis[k].start + a.start, axis[k].start + a.stop, a.index};
  }
  return out;
}

bool Padding::none() const {
  for (int k = 0; k < rank; ++k)
    if (before[k] != 0 || after[k] != 0) return false;
  return true;
}

Shape pack(const Slicing& slicing) {
  Shape attr;
  attr.rank = slicing.rank;
  for (int k = 0; k < slicing.rank; ++k) {
    const SliceAxis& a = slicing.axis[k];
    attr.dims[k] = pack_pair(a.start, a.stop, a.index);
  }
  return attr;
}

Shape pack(const Padding& padding) {
  Shape attr;
  attr.rank = padding.rank;
  for (int k = 0; k < padding.rank; ++k)
    attr.dims[k] = pack_pair(padding.before[k], padding.after[k], false);
  return attr;
}

Slicing slicing_of(const Shape& attr) {
  Slicing s;
  s.rank = attr.rank;
  for (int k = 0; k < attr.rank; ++k) {
    const Pair p = unpack_pair(attr.dims[k]);
    s.axis[k] = {p.first, p.second, p.flag};
  }
  return s;
}

Padding padding_of(const Shape& attr) {
  Padding p;
  p.rank = attr.rank;
  for (int k = 0; k < attr.rank; ++k) {
    const Pair pair = unpack_pair(attr.dims[k]);
    p.before[k] = pair.first;
    p.after[k] = pair.second;
  }
  return p;
}

std::string bracket_text(const Slicing& slicing, const Shape& operand) {
  // Whole axes at the end are left out: A[2] is row 2.
  int written = slicing.rank;
  while (written > 1) {
    const SliceAxis& a = slicing.axis[written - 1];
    if (a.index || a.start != 0 || a.stop != operand.dims[written - 1]) break;
    --written;
  }
  std::string out;
  for (int k = 0; k < written; ++k) {
    const SliceAxis& a = slicing.axis[k];
    if (k) out += ", ";
    if (a.index) {
      out += std::to_string(a.start);
      continue;
    }
    if (a.start != 0) out += std::to_string(a.start);
    out += ':';
    if (a.stop != operand.dims[k]) out += std::to_string(a.stop);
  }
  return out;
}

}  // namespace descent
