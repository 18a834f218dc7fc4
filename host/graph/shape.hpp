// Static tensor shapes of rank 0, 1 or 2 (DESIGN §3) and NumPy broadcasting between them.
// The batch axis is never part of a Shape: it is implicit (see Node::varying).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace descent {

struct Shape {
  int rank = 0;
  std::int64_t dims[2] = {1, 1};  // only the first `rank` entries are meaningful

  static Shape scalar() { return {}; }
  static Shape vector(std::int64_t n) { return Shape{1, {n, 1}}; }
  static Shape matrix(std::int64_t rows, std::int64_t cols) { return Shape{2, {rows, cols}}; }

  std::int64_t size() const {
    std::int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= dims[i];
    return n;
  }
  bool is_scalar() const { return rank == 0; }
  std::int64_t rows() const { return rank == 2 ? dims[0] : 1; }
  std::int64_t cols() const { return rank == 0 ? 1 : dims[rank - 1]; }
  friend bool operator==(const Shape& a, const Shape& b) {
    if (a.rank != b.rank) return false;
    for (int i = 0; i < a.rank; ++i)
      if (a.dims[i] != b.dims[i]) return false;
    return true;
  }
  // "scalar", "(3)", "(3, 4)"
  std::string to_string() const;
};

// NumPy broadcasting of two shapes, aligned from the right; nullopt when incompatible.
std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace descent
