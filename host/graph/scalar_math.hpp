// The elementwise math of the language, one function per op, written once for every
// backend: the CPU interpreter and the constant folder call it on doubles, and emitted CUDA
// includes it (DESCENT_HD = __host__ __device__ under nvcc/NVRTC). The stable forms live
// here: sigmoid and softplus never overflow, and the kink conventions are fixed here too.
//
// Under NVRTC there is no <cmath>: the math functions are CUDA's, in the global namespace
// (overloaded for float and double). Each function below (and each function the emitter
// writes, host/codegen/emit.cpp) names the math it calls with DESCENT_USING_MATH, which is `using
// std::...` on the host and nothing under NVRTC, and then calls them unqualified, so the same text
// picks std:: on the host and CUDA's on the device.
#pragma once

#if !defined(__CUDACC_RTC__)
#include <cmath>
#define DESCENT_USING_MATH \
  using std::cos;          \
  using std::exp;          \
  using std::expm1;        \
  using std::fabs;         \
  using std::floor;        \
  using std::log;          \
  using std::log1p;        \
  using std::pow;          \
  using std::sin;          \
  using std::sqrt;         \
  using std::tan;          \
  using std::tanh
#else
#define DESCENT_USING_MATH static_assert(true)
#endif

#include "common/host_device.hpp"

namespace descent::math {

// sigmoid(x) = 1/(1+e^-x), evaluated on the side where the exponential cannot overflow.
template <class T>
DESCENT_HD inline T sigmoid(T x) {
  DESCENT_USING_MATH;
  if (x >= T(0)) return T(1) / (T(1) + exp(-x));
  const T e = exp(x);
  return e / (T(1) + e);
}

// softplus(x) = log(1+e^x) = max(x,0) + log1p(e^-|x|): exact for large |x|, never inf.
template <class T>
DESCENT_HD inline T softplus(T x) {
  DESCENT_USING_MATH;
  const T m = x > T(0) ? x : T(0);
  return m + log1p(exp(-fabs(x)));
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
  DESCENT_USING_MATH;
  return x == T(0) ? T(0) : x * log(y);
}
template <class T>
DESCENT_HD inline T min(T a, T b) {
  return b < a ? b : a;
}
template <class T>
DESCENT_HD inline T max(T a, T b) {
  return b > a ? b : a;
}

// a^b with the integer exponents that derivatives produce evaluated exactly by multiplication.
template <class T>
DESCENT_HD inline T pow(T a, T b) {
  if (b == T(2)) return a * a;
  if (b == T(1)) return a;
  if (b == T(-1)) return T(1) / a;
  DESCENT_USING_MATH;
  return pow(a, b);
}

}  // namespace descent::math
