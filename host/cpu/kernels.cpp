// The CPU-evaluation column of the op table: one kernel per op over whole batches, each a
// template over the scalar type T (double: the Interpreter and the CPU backend in f64; float: the
// CPU backend in f32). Elementwise ops broadcast like NumPy inside a sample and along the batch
// axis (a uniform operand is shared by every sample). Every kernel writes every value of its
// output, so an output buffer is reused from run to run without being cleared first.
//
// In float, + - * / sqrt and the sums run in float; the ops that the shared table computes on
// doubles (graph/elementwise.cpp: pow, min, max, sin, cos, tan, the comparisons, ...) are
// evaluated in double on the float operands and rounded to float once, which is within half an
// ulp of float plus the table's error of a double; the transcendental functions come from the
// Math classes below. The double instantiation is the one this file has always computed: every
// f64 value is unchanged.
#include "cpu/kernels.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <limits>

#include "common/error.hpp"
#include "cpu/vector_math.hpp"
#include "graph/elementwise.hpp"
#include "graph/scalar_math.hpp"
#include "graph/window.hpp"

namespace descent {

namespace {

struct Strides {
  std::int64_t batch = 0, row = 0, col = 0;
};

// Where element (b, r, c) of a `target`-shaped value lives in `shape` broadcast to it.
Strides broadcast_strides(const Shape& shape, bool varying, const Shape& target) {
  (void)target;
  Strides s;
  s.batch = varying ? shape.size() : 0;
  if (shape.rank >= 1) s.col = shape.dims[shape.rank - 1] == 1 ? 0 : 1;
  if (shape.rank == 2) s.row = shape.dims[0] == 1 ? 0 : shape.dims[1];
  return s;
}

template <class T>
using Inputs = std::vector<const TensorOf<T>*>;

template <class T>
std::int64_t batch_of(const Inputs<T>& in) {
  std::int64_t b = 0;
  for (const TensorOf<T>* t : in) b = std::max(b, t->batch);
  return b;
}

// Sizes `out`, keeping its buffer (and its stale values: the kernel overwrites them all).
template <class T>
void prepare(TensorOf<T>& out, const Shape& shape, std::int64_t batch) {
  out.shape = shape;
  out.batch = batch;
  out.view = nullptr;
  out.data.resize(static_cast<std::size_t>(shape.size() * std::max<std::int64_t>(batch, 1)));
}

template <class T>
using Kernel = void (*)(const Graph&, const Node&, const Inputs<T>&, TensorOf<T>&);

// The two sets of transcendental functions the kernels take (CpuMath): the language's scalar
// reference (std:: math through graph/scalar_math.hpp, the Interpreter's: the oracle is the
// simplest thing that is right; std::'s float overloads in float), and vector_math.hpp's, which
// the compiler evaluates several values per instruction (glibc's are called one value at a time),
// within the error bounds that vector_math.hpp documents and tests/cpu_vector_math_test.cpp
// checks (at most 1 to 3.4 ulp in double; in float, the double function rounded once: < 0.5 +
// 2^-27 ulp).
template <class T>
struct ReferenceMath {
  static T exp(T x) { return std::exp(x); }
  static T log(T x) { return std::log(x); }
  static T log1p(T x) { return std::log1p(x); }
  static T expm1(T x) { return std::expm1(x); }
  static T sigmoid(T x) { return math::sigmoid(x); }
  static T softplus(T x) { return math::softplus(x); }
  static T tanh(T x) { return std::tanh(x); }
};
template <class T>
struct FastMath {
  static T exp(T x) { return vmath::exp(x); }
  static T log(T x) { return vmath::log(x); }
  static T log1p(T x) { return vmath::log1p(x); }
  static T expm1(T x) { return vmath::expm1(x); }
  static T sigmoid(T x) { return vmath::sigmoid(x); }
  static T softplus(T x) { return vmath::softplus(x); }
  static T tanh(T x) { return vmath::tanh(x); }
};

// The shared table's double functions on T values, rounded to T (for double: called as they are).
template <class T>
struct TableUnary {
  UnaryFn f;
  T operator()(T x) const { return static_cast<T>(f(static_cast<double>(x))); }
};
template <class T>
struct TableBinary {
  BinaryFn f;
  T operator()(T a, T b) const {
    return static_cast<T>(f(static_cast<double>(a), static_cast<double>(b)));
  }
};

template <class T>
void leaf_kernel(const Graph&, const Node& n, const Inputs<T>&, TensorOf<T>& out) {
  // Constants are filled here; variables are bound by the interpreter and never reach this.
  prepare(out, n.shape, 0);
  std::fill(out.data.begin(), out.data.end(), static_cast<T>(n.value));
}

template <class T, class F>
void map_values(const TensorOf<T>& a, TensorOf<T>& out, F f) {
  const T* x = a.values();
  T* o = out.data.data();
  const std::size_t count = out.data.size();
  for (std::size_t i = 0; i < count; ++i) o[i] = f(x[i]);
}

// Unary ops: the transcendental ones through Math, inlined into the loop; the rest from the
// shared table (graph/elementwise.cpp), spelled out where the compiler can then vectorise them.
template <class T, class Math>
void unary_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const TensorOf<T>& a = *in[0];
  prepare(out, n.shape, a.batch);
  switch (n.op) {
    case Op::neg:
      return map_values(a, out, [](T x) { return -x; });
    case Op::exp:
      return map_values(a, out, [](T x) { return Math::exp(x); });
    case Op::log:
      return map_values(a, out, [](T x) { return Math::log(x); });
    case Op::log1p:
      return map_values(a, out, [](T x) { return Math::log1p(x); });
    case Op::expm1:
      return map_values(a, out, [](T x) { return Math::expm1(x); });
    case Op::sigmoid:
      return map_values(a, out, [](T x) { return Math::sigmoid(x); });
    case Op::softplus:
      return map_values(a, out, [](T x) { return Math::softplus(x); });
    case Op::tanh:
      return map_values(a, out, [](T x) { return Math::tanh(x); });
    case Op::sqrt:
      return map_values(a, out, [](T x) { return std::sqrt(x); });
    case Op::abs:
      return map_values(a, out, [](T x) { return std::fabs(x); });
    case Op::relu:
      return map_values(a, out, [](T x) { return math::relu(x); });
    case Op::sign:
      return map_values(a, out, [](T x) { return math::sign(x); });
    case Op::step:
      return map_values(a, out, [](T x) { return math::step(x); });
    default:
      return map_values(a, out, TableUnary<T>{elementwise_fn(n.op).unary});
  }
}

// o[i] = f(a[i*step_a], b[i*step_b]) for i < count, each step 0 (one value for all) or 1; the
// cases are spelled out so that the compiler can vectorise the loops.
template <class T, class F>
void apply_run(F f, const T* a, std::int64_t step_a, const T* b, std::int64_t step_b, T* o,
               std::int64_t count) {
  if (step_a == 1 && step_b == 1) {
    for (std::int64_t i = 0; i < count; ++i) o[i] = f(a[i], b[i]);
  } else if (step_a == 1) {
    const T y = *b;
    for (std::int64_t i = 0; i < count; ++i) o[i] = f(a[i], y);
  } else if (step_b == 1) {
    const T x = *a;
    for (std::int64_t i = 0; i < count; ++i) o[i] = f(x, b[i]);
  } else {
    std::fill(o, o + count, f(*a, *b));
  }
}

// 1 when value i of `t` is value i of the output (same shape, same batching), 0 when `t` is one
// number for every value of the output; -1 for the other layouts (broadcasting inside a sample,
// or a uniform value repeated for every sample).
template <class T>
std::int64_t flat_step(const TensorOf<T>& t, const Shape& shape, std::int64_t batch) {
  if (t.shape.size() == 1 && !t.varying()) return 0;
  if (t.shape == shape && t.batch == batch) return 1;
  return -1;
}

template <class T, class F>
void binary_loops(const Node& n, const Inputs<T>& in, TensorOf<T>& out, F f) {
  const TensorOf<T>& a = *in[0];
  const TensorOf<T>& b = *in[1];
  prepare(out, n.shape, batch_of(in));
  const std::int64_t flat_a = flat_step(a, n.shape, out.batch);
  const std::int64_t flat_b = flat_step(b, n.shape, out.batch);
  if (flat_a >= 0 && flat_b >= 0) {  // the common case: one loop over every value
    apply_run(f, a.values(), flat_a, b.values(), flat_b, out.data.data(),
              static_cast<std::int64_t>(out.data.size()));
    return;
  }
  // Broadcasting inside a sample: a run over the columns of each row of each sample.
  const Strides sa = broadcast_strides(a.shape, a.varying(), n.shape);
  const Strides sb = broadcast_strides(b.shape, b.varying(), n.shape);
  const std::int64_t rows = n.shape.rows(), cols = n.shape.cols();
  T* o = out.data.data();
  for (std::int64_t s = 0; s < out.samples(); ++s) {
    const T* pa = a.values() + s * sa.batch;
    const T* pb = b.values() + s * sb.batch;
    for (std::int64_t r = 0; r < rows; ++r, o += cols)
      apply_run(f, pa + r * sa.row, sa.col, pb + r * sb.row, sb.col, o, cols);
  }
}

// An elementwise binary op through the shared function table (graph/elementwise.cpp).
template <class T>
void binary_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  binary_loops(n, in, out, TableBinary<T>{elementwise_fn(n.op).binary});
}

// + - * /, which are most of the elementwise work of a gradient (the chain rule's products),
// with the operator inlined into the loops instead of called through the table: IEEE
// arithmetic, so the same bits as the table's functions (in double).
template <class T, class Arithmetic>
void arithmetic_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  binary_loops(n, in, out, Arithmetic{});
}

// Applies `per_sample(a_sample, b_sample, out_sample)` to every sample.
template <class T, class F>
void per_sample(const Node& n, const Inputs<T>& in, TensorOf<T>& out, F f) {
  prepare(out, n.shape, batch_of(in));
  for (std::int64_t s = 0; s < out.samples(); ++s) {
    const T* a = in[0]->sample(s);
    const T* b = in.size() > 1 ? in[1]->sample(s) : nullptr;
    f(a, b, out.sample(s));
  }
}

template <class T>
void sum_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  const T scale = n.op == Op::mean ? static_cast<T>(1.0 / static_cast<double>(size)) : T(1);
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    T s = T(0);
    for (std::int64_t i = 0; i < size; ++i) s += a[i];
    *o = s * scale;
  });
}

// Σ a[i]*b[i] in one fixed order: eight partial sums, lane k adding the products of i ≡ k
// (mod 8) from i = 0 up, combined as ((s0+s1)+(s2+s3))+((s4+s5)+(s6+s7)), then the last n mod 8
// products one by one. The lanes are spelled out, so that the compiler keeps them in vector
// registers of any width without reordering a sum: the bits are the same with SSE2, AVX2 or
// AVX-512. Eight independent sums also keep the adder busy where one sum would wait on the
// previous addition (and the pairwise combination rounds no worse than a single running sum).
template <class T>
T dot_lanes(const T* a, const T* b, std::int64_t n) {
  constexpr int kLanes = 8;
  T s[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) s[k] += a[i + k] * b[i + k];
  T total = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

template <class T>
void dot_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  per_sample(n, in, out, [&](const T* a, const T* b, T* o) { *o = dot_lanes(a, b, size); });
}

template <class T>
void matmul_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const Shape sa = g[n[0]].shape, sb = g[n[1]].shape;
  // View both operands as matrices: a vector on the left is a row, on the right a column.
  const std::int64_t m = sa.rank == 2 ? sa.dims[0] : 1;
  const std::int64_t k = sa.dims[sa.rank - 1];
  const std::int64_t cols = sb.rank == 2 ? sb.dims[1] : 1;
  per_sample(n, in, out, [&](const T* a, const T* b, T* o) {
    if (cols == 1) {  // matrix-vector: contiguous dot products
      for (std::int64_t i = 0; i < m; ++i) o[i] = dot_lanes(a + i * k, b, k);
      return;
    }
    std::fill(o, o + m * cols, T(0));
    for (std::int64_t i = 0; i < m; ++i)
      for (std::int64_t p = 0; p < k; ++p) {
        const T aip = a[i * k + p];
        for (std::int64_t j = 0; j < cols; ++j) o[i * cols + j] += aip * b[p * cols + j];
      }
  });
}

template <class T>
void outer_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t rows = n.shape.dims[0], cols = n.shape.dims[1];
  per_sample(n, in, out, [&](const T* a, const T* b, T* o) {
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) o[i * cols + j] = a[i] * b[j];
  });
}

template <class T>
void transpose_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t rows = n.shape.dims[0], cols = n.shape.dims[1];  // output's
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    for (std::int64_t i = 0; i < rows; ++i)
      for (std::int64_t j = 0; j < cols; ++j) o[i * cols + j] = a[j * rows + i];
  });
}

// max(v) + log Σ exp(v - max(v)): never overflows; -inf for an all -inf input.
template <class T, class Math>
T stable_logsumexp(const T* v, std::int64_t size) {
  T m = -std::numeric_limits<T>::infinity();
  for (std::int64_t i = 0; i < size; ++i) m = std::max(m, v[i]);
  if (!std::isfinite(m)) return m;
  T s = T(0);
  for (std::int64_t i = 0; i < size; ++i) s += Math::exp(v[i] - m);
  return m + Math::log(s);
}

template <class T, class Math>
void softmax_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    const T lse = stable_logsumexp<T, Math>(a, size);
    for (std::int64_t i = 0; i < size; ++i) o[i] = Math::exp(a[i] - lse);
  });
}

template <class T, class Math>
void logsumexp_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  per_sample(n, in, out,
             [&](const T* a, const T*, T* o) { *o = stable_logsumexp<T, Math>(a, size); });
}

template <class T>
void norm_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    T s = T(0);
    for (std::int64_t i = 0; i < size; ++i) s += a[i] * a[i];
    *o = std::sqrt(s);
  });
}

// The index of the first largest element; NaN when an element is NaN (no class is picked).
template <class T>
void argmax_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t size = g[n[0]].shape.size();
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    std::int64_t best = 0;
    for (std::int64_t i = 0; i < size; ++i) {
      if (std::isnan(a[i])) {
        *o = std::numeric_limits<T>::quiet_NaN();
        return;
      }
      if (a[i] > a[best]) best = i;
    }
    *o = static_cast<T>(best);
  });
}

template <class T>
void onehot_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const std::int64_t k = n.shape.dims[0];
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    const double index = static_cast<double>(*a);
    if (!(index >= 0 && index < static_cast<double>(k)) || std::floor(index) != index)
      throw input_error("onehot index " + std::to_string(index) + " is not a class in [0, " +
                            std::to_string(k) + ")",
                        g.span(n));
    std::fill(o, o + k, T(0));
    o[static_cast<std::int64_t>(index)] = T(1);
  });
}

template <class T>
void sum_to_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const Shape from = g[n[0]].shape;
  const Strides to = broadcast_strides(n.shape, false, from);
  const std::int64_t rows = from.rows(), cols = from.cols();
  const std::int64_t size = n.shape.size();
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    std::fill(o, o + size, T(0));
    for (std::int64_t r = 0; r < rows; ++r)
      for (std::int64_t c = 0; c < cols; ++c) o[r * to.row + c * to.col] += a[r * cols + c];
  });
}

// The window's rows and columns of each sample, row by row (a vector is one row; an indexed
// axis is a window of length 1).
template <class T>
void slice_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const Shape from = g[n[0]].shape;
  const Slicing w = slicing_of(g.attr(n));
  const SliceAxis rows = w.rank == 2 ? w.axis[0] : SliceAxis{0, 1, true};
  const SliceAxis cols = w.axis[w.rank - 1];
  const std::int64_t width = cols.stop - cols.start;
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    for (std::int64_t r = rows.start; r < rows.stop; ++r, o += width)
      std::copy_n(a + r * from.cols() + cols.start, width, o);
  });
}

// Zeros, then each row of the operand at its place.
template <class T>
void pad_kernel(const Graph& g, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const Shape from = g[n[0]].shape;
  const Padding p = padding_of(g.attr(n));
  const std::int64_t top = p.rank == 2 ? p.before[0] : 0, left = p.before[p.rank - 1];
  const std::int64_t cols = n.shape.cols(), size = n.shape.size();
  per_sample(n, in, out, [&](const T* a, const T*, T* o) {
    std::fill(o, o + size, T(0));
    for (std::int64_t r = 0; r < from.rows(); ++r)
      std::copy_n(a + r * from.cols(), from.cols(), o + (top + r) * cols + left);
  });
}

// The rows added one after the other; a mean divides the sum by the row count in double and
// rounds once (in double: the plain division).
template <class T>
void batch_kernel(const Graph&, const Node& n, const Inputs<T>& in, TensorOf<T>& out) {
  const TensorOf<T>& a = *in[0];
  prepare(out, n.shape, 0);
  std::fill(out.data.begin(), out.data.end(), T(0));
  const std::int64_t size = n.shape.size();
  for (std::int64_t s = 0; s < a.samples(); ++s) {
    const T* p = a.sample(s);
    for (std::int64_t i = 0; i < size; ++i) out.data[i] += p[i];
  }
  if (n.op == Op::batch_mean)
    for (T& v : out.data)
      v = static_cast<T>(static_cast<double>(v) / static_cast<double>(a.samples()));
}

// The CPU column of the op table: each op's kernel with the reference math and with the fast
// math (the same kernel where the op takes no transcendental function).
template <class T>
struct CpuKernel {
  Op op;
  Kernel<T> reference;
  Kernel<T> fast;
};

#define SAME(...) __VA_ARGS__, __VA_ARGS__
#define BY_MATH(kernel) kernel<T, ReferenceMath<T>>, kernel<T, FastMath<T>>
// clang-format off
template <class T>
constexpr std::array<CpuKernel<T>, kOpCount> kCpuKernels = {{
  {Op::constant, SAME(leaf_kernel<T>)},     {Op::variable, SAME(leaf_kernel<T>)},
  {Op::neg, BY_MATH(unary_kernel)},         {Op::exp, BY_MATH(unary_kernel)},
  {Op::log, BY_MATH(unary_kernel)},         {Op::log1p, BY_MATH(unary_kernel)},
  {Op::expm1, BY_MATH(unary_kernel)},       {Op::sqrt, BY_MATH(unary_kernel)},
  {Op::abs, BY_MATH(unary_kernel)},         {Op::sin, BY_MATH(unary_kernel)},
  {Op::cos, BY_MATH(unary_kernel)},         {Op::tan, BY_MATH(unary_kernel)},
  {Op::tanh, BY_MATH(unary_kernel)},        {Op::sigmoid, BY_MATH(unary_kernel)},
  {Op::softplus, BY_MATH(unary_kernel)},    {Op::relu, BY_MATH(unary_kernel)},
  {Op::sign, BY_MATH(unary_kernel)},        {Op::step, BY_MATH(unary_kernel)},
  {Op::add, SAME(arithmetic_kernel<T, std::plus<>>)},
  {Op::sub, SAME(arithmetic_kernel<T, std::minus<>>)},
  {Op::mul, SAME(arithmetic_kernel<T, std::multiplies<>>)},
  {Op::div, SAME(arithmetic_kernel<T, std::divides<>>)},
  {Op::pow, SAME(binary_kernel<T>)},        {Op::min, SAME(binary_kernel<T>)},
  {Op::max, SAME(binary_kernel<T>)},        {Op::xlogy, SAME(binary_kernel<T>)},
  {Op::less, SAME(binary_kernel<T>)},       {Op::less_equal, SAME(binary_kernel<T>)},
  {Op::greater, SAME(binary_kernel<T>)},    {Op::greater_equal, SAME(binary_kernel<T>)},
  {Op::equal, SAME(binary_kernel<T>)},      {Op::not_equal, SAME(binary_kernel<T>)},
  {Op::sum, SAME(sum_kernel<T>)},           {Op::mean, SAME(sum_kernel<T>)},
  {Op::dot, SAME(dot_kernel<T>)},           {Op::matmul, SAME(matmul_kernel<T>)},
  {Op::outer, SAME(outer_kernel<T>)},       {Op::transpose, SAME(transpose_kernel<T>)},
  {Op::softmax, BY_MATH(softmax_kernel)},   {Op::logsumexp, BY_MATH(logsumexp_kernel)},
  {Op::norm, SAME(norm_kernel<T>)},         {Op::argmax, SAME(argmax_kernel<T>)},
  {Op::onehot, SAME(onehot_kernel<T>)},     {Op::sum_to, SAME(sum_to_kernel<T>)},
  {Op::slice, SAME(slice_kernel<T>)},       {Op::pad, SAME(pad_kernel<T>)},
  {Op::batch_mean, SAME(batch_kernel<T>)},
  {Op::batch_sum, SAME(batch_kernel<T>)},
}};
// clang-format on
#undef SAME
#undef BY_MATH
static_assert(rows_follow_op_order(kCpuKernels<double>),
              "kCpuKernels rows must follow the order of enum Op");

template <class T>
void evaluate_in(const Graph& graph, NodeId id, const Inputs<T>& inputs, TensorOf<T>& out,
                 CpuMath math) {
  const Node& n = graph[id];
  const CpuKernel<T>& row = kCpuKernels<T>[op_index(n.op)];
  (math == CpuMath::fast ? row.fast : row.reference)(graph, n, inputs, out);
}

}  // namespace

void evaluate_node(const Graph& graph, NodeId id,
                   const std::vector<const TensorOf<double>*>& inputs, TensorOf<double>& out,
                   CpuMath math) {
  evaluate_in(graph, id, inputs, out, math);
}

void evaluate_node(const Graph& graph, NodeId id, const std::vector<const TensorOf<float>*>& inputs,
                   TensorOf<float>& out, CpuMath math) {
  evaluate_in(graph, id, inputs, out, math);
}

}  // namespace descent
