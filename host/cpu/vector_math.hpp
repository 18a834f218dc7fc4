// Double-precision exp, log, log1p, expm1 (and sigmoid, softplus and tanh built on them) written so
// that GCC auto-vectorizes a plain loop `out[i] = vmath::exp(in[i])`: no libm calls, no tables, no
// data-dependent branches, and only the integer operations SSE2 has on 64-bit lanes (add, sub,
// and, or, shifts): exponent fields are built and read through std::bit_cast, and small
// integers travel as doubles (the 0x1.8p52 "shifter" rounds to an integer and leaves it in the
// low mantissa bits).
//
// Every special case is computed on all lanes and chosen with a bit mask made from a sign bit
// (see detail::select), not with `cond ? a : b`: GCC sinks the arithmetic feeding only one
// arm of a ternary into a branch, or threads a constant arm through what follows, and under
// -ftrapping-math (the default) SSE2/AVX2 if-conversion cannot merge branches that hold
// floating-point operations (AVX-512 can, with masked operations), so the loop would stay
// scalar there.
//
// Accuracy (documented, and measured by tests/cpu_vector_math_test.cpp against long double):
// exp and log within 1 ulp, log1p and expm1 within 2 ulp, over the whole double range,
// subnormal inputs and results included. Every step is a plain IEEE + - * /, so the results
// are bit-identical for SSE2, AVX2 and AVX-512 builds -- provided the compiler does not fuse
// a*b+c into an FMA: build with -ffp-contract=off (the project's CMakeLists.txt passes it; GCC
// fuses by default once FMA instructions are enabled, -march=native included) and without
// -ffast-math. The error sums below rely on that.
//
// Float: each function has a float overload (at the end of this file) that evaluates the double
// function on the float argument and rounds the result to float once. Its error is the rounding
// (0.5 ulp of float) plus the double function's (at most 3.4 ulp of double = 3.4 * 2^-29 ulp of
// float): < 0.5 + 2^-27 ulp of float, so the result is the correctly rounded float except where the
// exact value lies within that sliver of a halfway point. The double lanes are half as many per
// instruction as float lanes would be, but the evaluation stays vectorised, and one rounding is
// easier to trust than a second set of polynomials and reductions.
//
// Not here: other functions, errno or floating-point exception flags.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace descent::vmath {
namespace detail {

inline constexpr double kInf = std::numeric_limits<double>::infinity();
inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Adding 1.5*2^52 rounds |v| < 2^51 to an integer n (round to nearest even) and leaves
// bits(v + shifter) == bits(shifter) + n, so the integer can be read from the low bits.
inline constexpr double kShifter = 0x1.8p52;
inline constexpr double kInvLn2 = 0x1.71547652b82fep+0;
// ln2 = kLn2Hi + kLn2Lo + O(2^-102). kLn2Hi has 42 significant bits, so n*kLn2Hi is exact for
// |n| < 2^11 (exp reduces with |n| <= 1075, log multiplies by exponents |e| <= 1075).
inline constexpr double kLn2Hi = 0x1.62e42fefa3800p-1;
inline constexpr double kLn2Lo = 0x1.ef35793c76730p-45;

using Bits = std::uint64_t;
inline constexpr Bits kAbsMask = 0x7fffffffffffffff;
inline constexpr Bits kInfBits = 0x7ff0000000000000;

[[gnu::always_inline]] inline Bits to_bits(double x) { return std::bit_cast<Bits>(x); }
[[gnu::always_inline]] inline double from_bits(Bits b) { return std::bit_cast<double>(b); }

// Lane masks: all ones where the condition holds, else 0, made with integer arithmetic that
// SSE2 has (`0 - (v >> 63)` becomes a 32-bit arithmetic shift and a shuffle) and that GCC does
// not turn back into a comparison and a branch.
//
// The sign bit of d. Comparisons become signs of differences: x > c <=> c - x < 0, since the
// difference of two different doubles is never zero (gradual underflow) and c - c = +0.
[[gnu::always_inline]] inline Bits sign_mask(double d) { return Bits{0} - (to_bits(d) >> 63); }
// v == 0 (as bits): v | -v has its top bit set exactly when v != 0.
[[gnu::always_inline]] inline Bits zero_bits_mask(Bits v) {
  return ((v | (Bits{0} - v)) >> 63) - 1;
}
// x is +0 or -0.
[[gnu::always_inline]] inline Bits zero_mask(double x) {
  return zero_bits_mask(to_bits(x) & kAbsMask);
}
// x has exactly the bits of c.
[[gnu::always_inline]] inline Bits equal_mask(double x, double c) {
  return zero_bits_mask(to_bits(x) ^ to_bits(c));
}
// |x|'s bits above the largest finite double's: x is +-inf or NaN.
[[gnu::always_inline]] inline Bits inf_or_nan_mask(double x) {
  return Bits{0} - (((kInfBits - 1) - (to_bits(x) & kAbsMask)) >> 63);
}
// |x|'s bits above infinity's: x is NaN.
[[gnu::always_inline]] inline Bits nan_mask(double x) {
  return Bits{0} - ((kInfBits - (to_bits(x) & kAbsMask)) >> 63);
}
// mask ? a : b, lane by lane.
[[gnu::always_inline]] inline double select(Bits mask, double a, double b) {
  return from_bits((to_bits(a) & mask) | (to_bits(b) & ~mask));
}

// 2^n for an integer n in [-1022, 1023] held in t = n + kShifter (see kShifter).
[[gnu::always_inline]] inline double pow2_from_shifted(double t) {
  return from_bits((to_bits(t) + 1023) << 52);
}

// exp on the reduced argument. x = k*ln2 + hi - lo, |hi - lo| <= ln2/2 (+ a hair), with hi
// exact and lo = k*ln2_lo. Returns the parts of exp(hi - lo) = 1 + hi + tail (not yet summed,
// so expm1 can scale them before the -1) along with k = round(x/ln2) as a double.
struct ExpReduced {
  double k;     // round(x / ln2)
  double hi;    // exact, |hi| < 0.35
  double tail;  // exp(hi - lo) - 1 - hi, |tail| < 0.07
};

// The polynomial: exp(r) = 1 + r + r^2/2 + r^3*Q(r) on |r| <= ln2/2, Q a degree-9 minimax
// fit (relative error 2^-63.9; 2^-60 once the coefficients are rounded to double). r = hi - lo
// is rounded; its rounding error rc (hi - lo = r + rc exactly) enters exp through the linear
// term, which keeps hi and lo separately, and through the rest as g'(r)*rc ~= r*rc, which is
// added explicitly, so the reduction costs no accuracy. Evaluating r^2*(1/2 + r*Q(r)) costs
// at most ~0.08 * 2^-53: r^2 and the last product (1/2 ulp each of <= 0.067), the sum with
// 1/2, and Q's own few ulps, damped by |r|^3 <= 0.042.
[[gnu::always_inline]] inline ExpReduced exp_reduce(double x) {
  // Beyond these, exp overflows (> 709.79) or underflows to 0 (< -745.14); clamping keeps k in
  // [-1075, 1024] so the 2^k halves below stay normal. A NaN may come out as either bound:
  // the callers put NaN back at the end.
  const Bits too_big = sign_mask(709.8 - x);    // x > 709.8
  const Bits too_small = sign_mask(x + 745.2);  // x < -745.2
  x = select(too_small, -745.2, select(too_big, 709.8, x));
  const double k = (x * kInvLn2 + kShifter) - kShifter;
  const double hi = x - k * kLn2Hi;  // exact: k*kLn2Hi is exact and close to x
  const double lo = k * kLn2Lo;      // |lo| < 2^-34, its own rounding is ~2^-87
  const double r = hi - lo;
  const double rc = (hi - r) - lo;  // Fast2Sum error (|hi| >= |lo| whenever rc matters)
  // Q(r) = c0 + c1 r + ... + c9 r^9 by Estrin's scheme (short dependency chains).
  const double r2 = r * r;
  const double r4 = r2 * r2;
  const double q01 = 0x1.555555555555ap-3 + r * 0x1.5555555555531p-5;
  const double q23 = 0x1.111111110efc3p-7 + r * 0x1.6c16c16c26fe9p-10;
  const double q45 = 0x1.a01a01b26908cp-13 + r * 0x1.a01a01527b96dp-16;
  const double q67 = 0x1.71ddf2707054ap-19 + r * 0x1.27e58cf2b82a3p-22;
  const double q89 = 0x1.af68604a7f430p-26 + r * 0x1.1e67117f2dcdep-29;
  const double q = (q01 + r2 * q23) + r4 * ((q45 + r2 * q67) + r4 * q89);
  const double higher = r2 * (0.5 + r * q);  // exp(r) - 1 - r
  return ExpReduced{k, hi, (higher + r * rc) - lo};
}

// 2^k as two normal factors 2^k1 * 2^k2 (k1 = round(k/2)), so that k in [-1075, 1024] needs
// no exponent outside [-1022, 1023]: y*2^k1 is exact for y in [0.7, 1.5], and the second
// product rounds once, to a subnormal or to infinity where the result is one.
struct Pow2Pair {
  double first;
  double second;
};
[[gnu::always_inline]] inline Pow2Pair pow2_split(double k) {
  const double t1 = k * 0.5 + kShifter;
  const double k2 = k - (t1 - kShifter);
  return Pow2Pair{pow2_from_shifted(t1), pow2_from_shifted(k2 + kShifter)};
}

// 1 + hi + tail rounded once more: 1 + hi is split exactly (Fast2Sum, |hi| < 1) and its
// rounding error joins the tail before the last addition.
[[gnu::always_inline]] inline double one_plus(double hi, double tail) {
  const double s = 1.0 + hi;
  const double s_err = (1.0 - s) + hi;
  return s + (s_err + tail);
}

// log of a positive normal x (or a positive subnormal pre-scaled by the caller, who passes the
// exponent correction), as an unrounded sum head + head_err + tail.
//
// x = 2^e * m with m in [sqrt(1/2), sqrt(2)), f = m - 1 (exact), s = f / (2 + f), so that
// log(m) = log((1+s)/(1-s)) = 2s + s*R(s^2) = f - f^2/2 + s*(f^2/2 + R(s^2)), R(z) = z*Q(z) a
// degree-6 minimax fit on z <= (3 - 2*sqrt 2)^2 (error relative to 2s: 2^-58.9 with double
// coefficients). The identity keeps the big terms exact: e*ln2_hi and f are exact, and so is
// f^2/2 up to a part ~2^-26 smaller (f is split into 26 + 27 bits). Those three are summed with
// two Fast2Sums (e*ln2_hi is 0 or larger than |f|; |e*ln2_hi + f| >= 0.28 > f^2/2 when e != 0,
// |f| > f^2/2 when e = 0), their rounding errors kept. What is rounded is small against the
// result: s*(f^2/2 + R) (<= 0.019, with ~2.5 * 2^-53 relative error from 2 + f, the division,
// the polynomial and the products), the tiny f^2/2 low part and e*ln2_lo, and the sums of the
// small terms.
struct LogParts {
  double head;      // e*ln2_hi + f - hi(f^2/2), rounded
  double head_err;  // its rounding error, exact
  double tail;      // s*(f^2/2 + R) - lo(f^2/2) + e*ln2_lo
};
[[gnu::always_inline]] inline LogParts log_parts(double x, double exponent_adjust) {
  // Adding bits(1) - bits(sqrt(1/2)) carries into the exponent exactly when the mantissa is
  // >= sqrt(2); then m's bits = mantissa bits + bits(sqrt(1/2)).
  constexpr Bits kSqrtHalfBits = 0x3fe6a09e667f3bcd;
  constexpr Bits kOneBits = 0x3ff0000000000000;
  const Bits u = to_bits(x) + (kOneBits - kSqrtHalfBits);
  // The biased exponent (0..2047) as a double: put it in the low bits of 2^52.
  const double biased = from_bits((u >> 52) | to_bits(0x1p52));
  const double e = (biased - (0x1p52 + 1023.0)) - exponent_adjust;
  const double m = from_bits((u & 0x000fffffffffffff) + kSqrtHalfBits);

  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s;
  // Q(z) = c0 + c1 z + ... + c6 z^6 by Estrin's scheme; its rounding (a few ulps of Q ~ 2/3)
  // reaches the result damped by s*z <= 0.006.
  const double z2 = z * z;
  const double q01 = 0x1.5555555555592p-1 + z * 0x1.999999997fdb7p-2;
  const double q23 = 0x1.24924941f12d2p-2 + z * 0x1.c71c520955d5bp-3;
  const double q45 = 0x1.74663eea08cdbp-3 + z * 0x1.39a1ba8b1fa12p-3;
  const double q = (q01 + z2 * q23) + (z2 * z2) * (q45 + z2 * 0x1.2f05655d4d1c3p-3);

  // f = f_hi + f_lo with f_hi's low 27 mantissa bits cleared: f_hi^2 is exact, and
  // f^2 - f_hi^2 = f_lo * (f + f_hi) is ~2^-26 * f^2, so its rounding does not matter.
  const double f_hi = from_bits(to_bits(f) & ~Bits{0x7ffffff});
  const double f_lo = f - f_hi;
  const double half_f2_hi = 0.5 * (f_hi * f_hi);
  const double half_f2_lo = 0.5 * (f_lo * (f + f_hi));
  const double half_f2 = half_f2_hi + half_f2_lo;
  const double tail = e * kLn2Lo + (s * (half_f2 + z * q) - half_f2_lo);

  const double a = e * kLn2Hi;  // exact
  const double sum = a + f;
  const double sum_err = f - (sum - a);
  const double head = sum - half_f2_hi;
  const double head_err = (sum - head) - half_f2_hi;
  return LogParts{head, sum_err + head_err, tail};
}

}  // namespace detail

// exp(x). Error: the last addition in one_plus rounds (0.5 ulp); everything before it is
// below 0.14 * 2^-53 in absolute terms on a result in [0.7, 1.42] (polynomial evaluation
// 0.08, summing the tail 0.03, the tail of the reduction and coefficient rounding < 0.02):
// <= 0.5 + 0.28 ulp where the result is below 1, less above. Scaling by 2^k is exact except
// in the subnormal range, where it is a second rounding, to the subnormal grid: 0.5 ulp there
// plus the earlier error (< 0.8 ulp of 53 bits) shrunk by at least half (a subnormal result
// has at most 52 bits). Bound: < 0.8 ulp for normal results, < 0.9 ulp for subnormal ones.
// Overflow, underflow and +-inf come out of the same arithmetic (see exp_reduce).
[[gnu::always_inline]] inline double exp(double x) {
  const detail::ExpReduced red = detail::exp_reduce(x);
  const detail::Pow2Pair scale = detail::pow2_split(red.k);
  const double result = (detail::one_plus(red.hi, red.tail) * scale.first) * scale.second;
  return detail::select(detail::nan_mask(x), x + x, result);
}

// expm1(x) = 2^k * (1 + hi + tail) - 1.
// |k| <= 53: (2^k - 1) and 2^k*hi are exact, 2^k*tail is exact scaling; the first two are
//   added with Fast2Sum (|2^k - 1| >= |2^k*hi|, or k = 0) and everything meets in one final
//   rounding. The tail's error (<= 0.14 * 2^-53, see exp) is scaled by 2^k against a result
//   that can be as small as 0.41 * 2^(k-1): worst at k = 1, x ~ 0.35, 0.28 * 2^-53 on a result
//   with ulp 2^-54, i.e. 0.56 ulp, plus 0.13 ulp for rounding the small sum, plus 0.5: < 1.2 ulp.
// k > 53: the -1 is folded into the tail as -2^-k (|2^-k| < 2^-53, so this adds a rounding of
//   ~2^-58), then it is exp's computation: < 0.8 ulp.
// k < -53: 2^k * (1 + hi + tail) < 2^-53 is far below the ulp of the result ~-1; the one
//   subtraction rounds correctly up to that tiny error: < 0.6 ulp.
// Small x: k = 0, hi = x, so the result is x + tail with tail ~ x^2/2, accurate to the ulp.
[[gnu::always_inline]] inline double expm1(double x) {
  const detail::ExpReduced red = detail::exp_reduce(x);
  const detail::Pow2Pair scale = detail::pow2_split(red.k);
  // Only meaningful where |k| <= 53 (else 2^k may be 0 or inf; the lane is not chosen).
  const double two_k = scale.first * scale.second;
  const double a = two_k - 1.0;
  const double b = two_k * red.hi;
  const double sum = a + b;
  const double sum_err = b - (sum - a);
  const double near = sum + (sum_err + two_k * red.tail);
  // 2^-k for k in [54, 1024], exact (2^-1024 is subnormal but representable).
  const detail::Pow2Pair inv_scale = detail::pow2_split(-red.k);
  const detail::Bits positive = detail::sign_mask(0.5 - red.k);  // k >= 1
  const double minus_one_scaled = detail::select(positive, inv_scale.first * inv_scale.second, 0.0);
  const double minus_one = detail::select(positive, 0.0, 1.0);
  const double far =
      (detail::one_plus(red.hi, red.tail - minus_one_scaled) * scale.first) * scale.second -
      minus_one;
  double result = detail::select(detail::sign_mask(53.5 - std::fabs(red.k)), far, near);
  result = detail::select(detail::zero_mask(x), x, result);  // keeps expm1(-0) = -0
  return detail::select(detail::nan_mask(x), x + x, result);
}

// log(x). Error: the final rounding of head + (head_err + tail) (0.5 ulp) plus the tail's
// errors against the result's ulp. Worst where the result is smallest against f: m ~ sqrt(2),
// e = 0 or -1 (result +-0.35, ulp 2^-54): s*(f^2/2 + R) ~ 0.018 off by ~2.5 * 2^-53 relative
// (0.09 ulp), rounding the tail's two sums and adding it to head_err (3 * 0.03 ulp), the
// polynomial (0.03 ulp): < 0.75 ulp. Larger |e| only shrinks the tail against the result; for
// f near 0 the tail is O(f^2) against a result ~f. Subnormal x is scaled by 2^54 (exact).
[[gnu::always_inline]] inline double log(double x) {
  const detail::Bits subnormal = detail::sign_mask(x - 0x1p-1022);  // or zero, or negative
  const detail::LogParts p = detail::log_parts(detail::select(subnormal, x * 0x1p54, x),
                                               detail::select(subnormal, 54.0, 0.0));
  double result = p.head + (p.head_err + p.tail);
  result = detail::select(detail::inf_or_nan_mask(x), x + x, result);   // +inf, NaN
  result = detail::select(detail::sign_mask(x), detail::kNaN, result);  // x < 0, -0, -inf
  return detail::select(detail::zero_mask(x), -detail::kInf, result);
}

// log1p(x) = log(u) + log(1 + c/u) with u = 1 + x rounded and c = (1 + x) - u its rounding
// error, computed exactly: x - (u - 1) for x < 1 (u - 1 is exact for u in [0.5, 2], and for
// x < -0.5 u is exact so c = 0); 1 - (u - x) for x >= 1 (u - x is exact). With w = c/u,
// |w| <= 2^-53, log(1 + w) = w - w^2/2 to within 2^-160, and that joins log(u)'s tail before
// the one final rounding. w is at most half the result (x just above 2^-53, u = 1 + 2^-52),
// so rounding it costs <= 0.25 ulp, but only where log(u)'s own errors are tiny (f ~ 0); where
// those are largest (f ~ 0.41) w is ~2^-53 of the result. Bound: log's (< 0.75 ulp) or
// 0.5 + 0.25 + small: < 0.8 ulp, within the documented 2 ulp.
// Tiny x: u = 1, log(u) = 0 and the result is c/1 = x exactly.
[[gnu::always_inline]] inline double log1p(double x) {
  const double u = 1.0 + x;
  const double c = detail::select(detail::sign_mask(x - 1.0), x - (u - 1.0), 1.0 - (u - x));
  const detail::LogParts p = detail::log_parts(u, 0.0);
  const double w = c / u;
  double result = p.head + (p.head_err + (p.tail + (w - (0.5 * w) * w)));
  result = detail::select(detail::inf_or_nan_mask(x), x + x, result);         // +inf, NaN
  result = detail::select(detail::sign_mask(x + 1.0), detail::kNaN, result);  // x < -1, -inf
  result = detail::select(detail::equal_mask(x, -1.0), -detail::kInf, result);
  return detail::select(detail::zero_mask(x), x, result);  // keeps log1p(-0) = -0
}

// 1 / (1 + exp(-x)) without overflow: e = exp(-|x|) is in [0, 1]; one division. Error: exp's
// (< 1 ulp) damped by the division, plus two roundings: < 2.5 ulp.
[[gnu::always_inline]] inline double sigmoid(double x) {
  const double e = exp(-std::fabs(x));
  return detail::select(detail::sign_mask(x), e, 1.0) / (1.0 + e);
}

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) without overflow. Error: log1p's (< 1 ulp)
// plus exp's damped by e/((1+e) log1p(e)) <= 1, plus the final addition: < 3 ulp.
[[gnu::always_inline]] inline double softplus(double x) {
  return detail::select(detail::sign_mask(x), 0.0, x) + log1p(exp(-std::fabs(x)));
}

// tanh(x) = sign(x) * t / (t + 2) with t = expm1(2|x|) >= 0, |x| clamped to 20 first (tanh(20)
// rounds to 1, and expm1(2|x|) would overflow to inf/inf past ~354). The quotient's relative
// condition in t is 2/(t + 2) <= 1, so expm1's relative error passes through at most undamped;
// the rounding of t + 2 (condition <= 1) and of the division add to it. In relative terms:
// expm1's 1.2 ulp is at most 1.2 * 2^-52, each rounding 2^-53, so 3.4 * 2^-53 in all, which is
// < 3.4 ulp of the result (an ulp is at least 2^-53 of the value; measured: 2.2). Tiny x:
// t = 2x exactly, the result x. NaN stays NaN (the
// clamp's comparison leaves a NaN lane unchanged); the sign is copied back bit by bit, so
// tanh(-0) = -0.
[[gnu::always_inline]] inline double tanh(double x) {
  const double a = std::fabs(x);
  const double clamped = detail::select(detail::sign_mask(20.0 - a), 20.0, a);
  const double t = expm1(2.0 * clamped);
  const double r = t / (t + 2.0);
  return detail::from_bits(detail::to_bits(r) | (detail::to_bits(x) & ~detail::kAbsMask));
}

// The float overloads (see the top): the double function, rounded to float once.
[[gnu::always_inline]] inline float exp(float x) {
  return static_cast<float>(exp(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float log(float x) {
  return static_cast<float>(log(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float log1p(float x) {
  return static_cast<float>(log1p(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float expm1(float x) {
  return static_cast<float>(expm1(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float sigmoid(float x) {
  return static_cast<float>(sigmoid(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float softplus(float x) {
  return static_cast<float>(softplus(static_cast<double>(x)));
}
[[gnu::always_inline]] inline float tanh(float x) {
  return static_cast<float>(tanh(static_cast<double>(x)));
}

}  // namespace descent::vmath
