// A value of the CPU interpreter: a static Shape, optionally repeated along the implicit
// batch axis. Layout: sample-major, row-major inside a sample: values()[b*shape.size() + i].
// The values are `data`, or, for a view, memory owned elsewhere (rows of a data set that the
// evaluator reads where they lie instead of copying them); kernels read their operands
// through values() and sample(), and write their output into `data`.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "graph/shape.hpp"

namespace descent {

struct Tensor {
  Shape shape;
  std::int64_t batch = 0;  // 0: the same for every sample (one copy); else the sample count
  std::vector<double> data;
  const double* view = nullptr;  // when set, the values live there and `data` is unused

  static Tensor uniform(Shape shape, double fill = 0.0) {
    return Tensor{shape, 0, std::vector<double>(static_cast<std::size_t>(shape.size()), fill)};
  }
  static Tensor batched(Shape shape, std::int64_t samples, double fill = 0.0) {
    return Tensor{shape, samples,
                  std::vector<double>(static_cast<std::size_t>(shape.size() * samples), fill)};
  }
  static Tensor scalar(double v) { return uniform(Shape::scalar(), v); }

  bool varying() const { return batch > 0; }
  std::int64_t samples() const { return batch > 0 ? batch : 1; }
  std::int64_t sample_size() const { return shape.size(); }
  const double* values() const { return view != nullptr ? view : data.data(); }
  std::size_t count() const { return static_cast<std::size_t>(shape.size() * samples()); }
  std::span<const double> all() const { return {values(), count()}; }
  double* sample(std::int64_t b) { return data.data() + (batch > 0 ? b * shape.size() : 0); }
  const double* sample(std::int64_t b) const {
    return values() + (batch > 0 ? b * shape.size() : 0);
  }
};

}  // namespace descent
