// The elementwise math of the language, one function per op, written once for every
// backend: the CPU interpreter and the constant folder call it on doubles (graph/elementwise.cpp),
// and emitted CUDA calls it as descent::math::<op name> (codegen/node_writer.cpp) in float or
// double (DESCENT_HD = __host__ __device__ under nvcc/NVRTC). The stable forms live here:
// sigmoid and softplus never overflow, and the kink conventions are fixed here too.
#pragma once

// The C library's math, qualified: std:: on the host and CUDA's global functions under NVRTC
// (which has no <cmath>); both are overloaded for float and double, so a float stays a float. A
// function that the host's std:: lacks fails to compile instead of silently taking the double
// overload of a global one.
#if !defined(__CUDACC_RTC__)
#include <cmath>
#define DESCENT_LIBM(f) std::f
#else
#define DESCENT_LIBM(f) ::f
#endif

#include "common/host_device.hpp"

// Every elementwise op of the language (graph/ops.hpp, kinds unary and binary), one list: each
// has its function descent::math::<op name> below. The constant folder and the CPU interpreter
// (graph/elementwise.cpp) are built from this list and the emitter spells the ops by their
// names; graph/elementwise.cpp static_asserts that the list holds exactly the elementwise ops.
// clang-format off
#define DESCENT_ELEMENTWISE_OPS(UNARY, BINARY)                                        \
  UNARY(neg) UNARY(exp) UNARY(log) UNARY(log1p) UNARY(expm1) UNARY(sqrt) UNARY(abs)   \
  UNARY(sin) UNARY(cos) UNARY(tan) UNARY(tanh) UNARY(sigmoid) UNARY(softplus)         \
  UNARY(relu) UNARY(sign) UNARY(step)                                                 \
  BINARY(add) BINARY(sub) BINARY(mul) BINARY(div) BINARY(pow) BINARY(min) BINARY(max) \
  BINARY(xlogy) BINARY(less) BINARY(less_equal) BINARY(greater) BINARY(greater_equal)       \
  BINARY(equal) BINARY(not_equal)
// clang-format on

namespace descent::math {

// The ops that are one library function: op(x) = function(x).
#define DESCENT_LIBRARY_OP(op, function) \
  template <class T>                     \
  DESCENT_HD inline T op(T x) {          \
    return DESCENT_LIBM(function)(x);    \
  }
DESCENT_LIBRARY_OP(exp, exp)
DESCENT_LIBRARY_OP(log, log)
DESCENT_LIBRARY_OP(log1p, log1p)
DESCENT_LIBRARY_OP(expm1, expm1)
DESCENT_LIBRARY_OP(sqrt, sqrt)
DESCENT_LIBRARY_OP(abs, fabs)
DESCENT_LIBRARY_OP(sin, sin)
DESCENT_LIBRARY_OP(cos, cos)
DESCENT_LIBRARY_OP(tan, tan)
DESCENT_LIBRARY_OP(tanh, tanh)
#undef DESCENT_LIBRARY_OP

template <class T>
DESCENT_HD inline T neg(T x) {
  return -x;
}
template <class T>
DESCENT_HD inline T add(T a, T b) {
  return a + b;
}
template <class T>
DESCENT_HD inline T sub(T a, T b) {
  return a - b;
}
template <class T>
DESCENT_HD inline T mul(T a, T b) {
  return a * b;
}
template <class T>
DESCENT_HD inline T div(T a, T b) {
  return a / b;
}

// sigmoid(x) = 1/(1+e^-x), evaluated on the side where the exponential cannot overflow.
template <class T>
DESCENT_HD inline T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + DESCENT_LIBM(exp)(-x));
  const T e = DESCENT_LIBM(exp)(x);
  return e / (T(1) + e);
}

// softplus(x) = log(1+e^x) = max(x,0) + log1p(e^-|x|): exact for large |x|, never inf.
template <class T>
DESCENT_HD inline T softplus(T x) {
  const T m = x > T(0) ? x : T(0);
  return m + DESCENT_LIBM(log1p)(DESCENT_LIBM(exp)(-DESCENT_LIBM(fabs)(x)));
}

template <class T>
DESCENT_HD inline T relu(T x) {
  return x > T(0) ? x : T(0);
}
// sign(0) = 0, which makes abs'(0) = 0.
template <class T>
DESCENT_HD inline T sign(T x) {
  return x > T(0) ? T(1) : (x < T(0) ? T(-1) : T(0));
}
// step(x) = 1 for x > 0, else 0, which makes relu'(0) = 0.
template <class T>
DESCENT_HD inline T step(T x) {
  return x > T(0) ? T(1) : T(0);
}
// x*log(y) with 0*log(anything) = 0: the masked branch of d(a^b)/db at a = 0.
template <class T>
DESCENT_HD inline T xlogy(T x, T y) {
  return x == T(0) ? T(0) : x * DESCENT_LIBM(log)(y);
}
template <class T>
DESCENT_HD inline T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
DESCENT_HD inline T max(T a, T b) {
  return b > a ? b : a;
}

// Comparisons: 1 where true, else 0 (a NaN operand compares false, not_equal true).
#define DESCENT_COMPARISON(op, test) \
  template <class T>                 \
  DESCENT_HD inline T op(T a, T b) { \
    return (test) ? T(1) : T(0);     \
  }
DESCENT_COMPARISON(less, a < b)
DESCENT_COMPARISON(less_equal, a <= b)
DESCENT_COMPARISON(greater, a > b)
DESCENT_COMPARISON(greater_equal, a >= b)
DESCENT_COMPARISON(equal, a == b)
DESCENT_COMPARISON(not_equal, a != b)
#undef DESCENT_COMPARISON

// a^b with the integer exponents that derivatives produce evaluated exactly by multiplication.
template <class T>
DESCENT_HD inline T pow(T a, T b) {
  if (b == T(2)) return a * a;
  if (b == T(1)) return a;
  if (b == T(-1)) return T(1) / a;
  return DESCENT_LIBM(pow)(a, b);
}

}  // namespace descent::math
