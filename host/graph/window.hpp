// The attributes of Op::slice and Op::pad (graph/ops.hpp), and how they are kept in a node's
// `Shape attr`: rank is the rank of the larger tensor (slice: the operand; pad: the result) and
// dims[k] packs axis k's pair of whole numbers into one word, so that a node keeps its size and
// interning its fixed-size key (graph.cpp hashes and compares the attribute's words, whatever
// they hold). A word is (first << 32) | second, with bit 63 set for an indexed axis: first below
// 2^31, second below 2^32 (dimensions are far below: config/limits.hpp).
//   slice: the operand's elements [start, stop) on the axis, and whether the axis was indexed
//          (x[i]: start = i, stop = i + 1, and the axis is dropped from the result)
//   pad:   the zeros written before and after the operand on the axis
// This file checks windows against shapes; it builds no node (graph.cpp's shape rules call it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/shape.hpp"

namespace descent {

struct SliceAxis {
  std::int64_t start = 0;
  std::int64_t stop = 0;
  bool index = false;  // x[i]: the axis is dropped (stop = start + 1)
};

// A window of an operand of `rank` 1 or 2: one SliceAxis for each of its axes.
struct Slicing {
  int rank = 0;
  SliceAxis axis[2];

  // Every axis whole and none indexed: the window is the operand itself.
  bool whole(const Shape& operand) const;
  // The result's shape for an operand of shape `operand`, or nullopt with the reason in `why`
  // when the window does not fit in it.
  std::optional<Shape> result_shape(const Shape& operand, std::string& why) const;
  // The window of `inner` (a window of this window's result) in this window's operand.
  Slicing then(const Slicing& inner) const;
};

// Zeros around an operand of `rank` 1 or 2.
struct Padding {
  int rank = 0;
  std::int64_t before[2] = {0, 0};
  std::int64_t after[2] = {0, 0};

  bool none() const;
};

Shape pack(const Slicing& slicing);
Shape pack(const Padding& padding);
Slicing slicing_of(const Shape& attr);
Padding padding_of(const Shape& attr);

// The bracket text of a window of `operand`: "1:", ":9", "2", ":, 3"; whole trailing axes are
// left out ("A[2]" for row 2), an open end is left out.
std::string bracket_text(const Slicing& slicing, const Shape& operand);

}  // namespace descent
