// A value of the CPU kernels: a static Shape, optionally repeated along the implicit batch axis,
// in a scalar type T (double: the Interpreter, the oracle, and the CPU backend in f64; float: the
// CPU backend in f32). Layout: sample-major, row-major inside a sample:
// values()[b*shape.size() + i]. The values are `data`, or, for a view, memory owned elsewhere
// (rows of a data set that the evaluator reads where they lie instead of copying them); kernels
// read their operands through values() and sample(), and write their output into `data`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "graph/shape.hpp"

namespace descent {

template <class T>
struct TensorOf {
  Shape shape;
  std::int64_t batch = 0;  // 0: the same for every sample (one copy); else the sample count
  std::vector<T> data;
  const T* view = nullptr;  // when set, the values live there and `data` is unused

  static TensorOf uniform(Shape shape, T fill = T(0)) {
    return TensorOf{shape, 0, std::vector<T>(static_cast<std::size_t>(shape.size()), fill)};
  }
  static TensorOf batched(Shape shape, std::int64_t samples, T fill = T(0)) {
    return TensorOf{shape, samples,
                    std::vector<T>(static_cast<std::size_t>(shape.size() * samples), fill)};
  }
  static TensorOf scalar(T v) { return uniform(Shape::scalar(), v); }

  bool varying() const { return batch > 0; }
  std::int64_t samples() const { return batch > 0 ? batch : 1; }
  std::int64_t sample_size() const { return shape.size(); }
  const T* values() const { return view != nullptr ? view : data.data(); }
  std::size_t count() const { return static_cast<std::size_t>(shape.size() * samples()); }
  std::span<const T> all() const { return {values(), count()}; }
  T* sample(std::int64_t b) { return data.data() + (batch > 0 ? b * shape.size() : 0); }
  const T* sample(std::int64_t b) const { return values() + (batch > 0 ? b * shape.size() : 0); }
};

// The Interpreter's values (the oracle computes in double only).
using Tensor = TensorOf<double>;

}  // namespace descent
