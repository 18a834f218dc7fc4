// Shape printing and NumPy-style broadcasting.
#include "graph/shape.hpp"

#include <algorithm>

namespace descent {

std::string Shape::to_string() const {
  if (rank == 0) return "scalar";
  if (rank == 1) return "(" + std::to_string(dims[0]) + ")";
  return "(" + std::to_string(dims[0]) + ", " + std::to_string(dims[1]) + ")";
}

std::optional<Shape> broadcast_shapes(const Shape& a, const Shape& b) {
  Shape out;
  out.rank = std::max(a.rank, b.rank);
  // Walk axes from the right; a missing axis counts as 1.
  for (int k = 0; k < out.rank; ++k) {
    const std::int64_t da = k < a.rank ? a.dims[a.rank - 1 - k] : 1;
    const std::int64_t db = k < b.rank ? b.dims[b.rank - 1 - k] : 1;
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out.dims[out.rank - 1 - k] = std::max(da, db);
  }
  return out;
}

}  // namespace descent
