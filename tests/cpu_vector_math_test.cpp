// Covers host/cpu/vector_math.hpp: the maximum error in ulps of vmath::exp, log, log1p and expm1
// over a million seeded points each (uniform over the domain, log-uniform magnitudes, near 0,
// near the overflow and underflow thresholds, near the argument-reduction boundaries) against
// the x86-64 long double functions (64-bit mantissa); the special values (NaN, +-inf, +-0, -1,
// subnormals, thresholds) exactly; sigmoid and softplus at chosen points against long double
// formulas; the float overloads (every function) within half an ulp of float and a sliver, over
// a million floats each.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "cpu/vector_math.hpp"

namespace descent {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMinSubnormal = std::numeric_limits<double>::denorm_min();
constexpr double kMax = std::numeric_limits<double>::max();
constexpr long double kLn2 = 0.693147180559945309417232121458176568L;

// |y - ref| in units of the double ulp at ref: 2^(max(floor(log2|ref|), -1022) - 52), so
// subnormal results are measured on the subnormal grid. A reference beyond the double range
// counts as infinity (what rounding it to double gives); NaN must meet NaN.
double ulp_error(double y, long double ref) {
  if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : kInf;
  const double ref_rounded = static_cast<double>(ref);
  if (std::isinf(ref_rounded) || std::isinf(y)) return y == ref_rounded ? 0.0 : kInf;
  const int exponent = ref == 0.0L ? -1022 : std::max(std::ilogb(ref), -1022);
  const long double ulp = std::ldexp(1.0L, exponent - 52);
  return static_cast<double>(std::fabs(static_cast<long double>(y) - ref) / ulp);
}

struct MaxError {
  double ulps = 0.0;
  double at = 0.0;
};

// f is a lambda, inlined into a plain loop: the tests check the vectorized code the kernels run.
template <class F>
MaxError measure(const std::vector<double>& xs, F f, long double (*reference)(long double)) {
  std::vector<double> ys(xs.size());
  for (std::size_t i = 0; i < xs.size(); ++i) ys[i] = f(xs[i]);
  MaxError worst;
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const double err = ulp_error(ys[i], reference(xs[i]));
    if (!(err <= worst.ulps)) worst = MaxError{err, xs[i]};
  }
  return worst;
}

// The point sets: each a mix of the families named in the header comment, 1.05M or more.
class Points {
 public:
  explicit Points(std::uint64_t seed) : rng_(seed) {}

  void uniform(double lo, double hi, int n) {
    std::uniform_real_distribution<double> d(lo, hi);
    for (int i = 0; i < n; ++i) xs_.push_back(d(rng_));
  }
  // offset + sign * 2^u, u uniform in [lo_exp, hi_exp): every binade equally often.
  enum class Sign { kPositive, kNegative, kBoth };
  void log_uniform(double lo_exp, double hi_exp, Sign sign, int n, double offset = 0.0) {
    std::uniform_real_distribution<double> d(lo_exp, hi_exp);
    for (int i = 0; i < n; ++i) {
      const double x = std::exp2(d(rng_));
      const bool negative = sign == Sign::kNegative || (sign == Sign::kBoth && (rng_() & 1));
      xs_.push_back(offset + (negative ? -x : x));
    }
  }
  // Every positive double equally likely by bit pattern, in [lo, hi].
  void all_bits(double lo, double hi, int n) {
    std::uniform_int_distribution<std::uint64_t> d(std::bit_cast<std::uint64_t>(lo),
                                                   std::bit_cast<std::uint64_t>(hi));
    for (int i = 0; i < n; ++i) xs_.push_back(std::bit_cast<double>(d(rng_)));
  }
  // center(k) for k uniform in [k_lo, k_hi], moved by up to `steps` doubles either way.
  void near(const std::function<long double(int)>& center, int k_lo, int k_hi, int steps, int n) {
    std::uniform_int_distribution<int> kd(k_lo, k_hi);
    std::uniform_int_distribution<std::int64_t> sd(-steps, steps);
    for (int i = 0; i < n; ++i) {
      const double c = static_cast<double>(center(kd(rng_)));
      const auto bits = static_cast<std::int64_t>(std::bit_cast<std::uint64_t>(c));
      xs_.push_back(std::bit_cast<double>(static_cast<std::uint64_t>(bits + sd(rng_))));
    }
  }
  const std::vector<double>& xs() const { return xs_; }

 private:
  std::mt19937_64 rng_;
  std::vector<double> xs_;
};

using Sign = Points::Sign;

constexpr auto exp_fn = [](double x) { return vmath::exp(x); };
constexpr auto log_fn = [](double x) { return vmath::log(x); };
constexpr auto log1p_fn = [](double x) { return vmath::log1p(x); };
constexpr auto expm1_fn = [](double x) { return vmath::expm1(x); };
long double exp_ref(long double x) { return std::exp(x); }
long double log_ref(long double x) { return std::log(x); }
long double log1p_ref(long double x) { return std::log1p(x); }
long double expm1_ref(long double x) { return std::expm1(x); }

// Error model for the bounds below: the bound is each function's documented accuracy (header
// comments: exp and log < 1 ulp, log1p and expm1 < 2 ulp), plus the reference's own error: the
// long double functions are within a couple of long double ulps, 2^-11 double ulps each, so
// 2^-9 covers them.
constexpr double kReferenceSlack = 0x1p-9;

void expect_within(const char* name, const MaxError& worst, double bound_ulps) {
  std::printf("vmath::%s: max error %.3f ulp at x = %a (%.17g)\n", name, worst.ulps, worst.at,
              worst.at);
  EXPECT_LE(worst.ulps, bound_ulps + kReferenceSlack)
      << name << " at x = " << worst.at << " (" << std::hexfloat << worst.at << ")";
}

TEST(CpuVectorMath, ExpMaxUlpError) {
  Points p(0x5eed0001);
  p.uniform(-746.0, 710.0, 300'000);
  p.log_uniform(-60.0, 9.55, Sign::kBoth, 300'000);
  p.uniform(-1e-3, 1e-3, 100'000);
  // Reduction boundaries (k + 1/2) ln2 over the whole range, overflow, underflow to 0, and the
  // start of the subnormal results.
  p.near([](int k) { return (k + 0.5L) * kLn2; }, -1076, 1024, 64, 250'000);
  p.near([](int) { return 709.782712893383973096L; }, 0, 0, 1 << 20, 30'000);
  p.near([](int) { return -745.133219101941108420L; }, 0, 0, 1 << 20, 30'000);
  p.near([](int) { return -708.396418532264106224L; }, 0, 0, 1 << 20, 30'000);
  p.uniform(-745.2, -708.3, 20'000);
  ASSERT_GE(p.xs().size(), 1'000'000u);
  expect_within("exp", measure(p.xs(), exp_fn, exp_ref), 1.0);
}

TEST(CpuVectorMath, LogMaxUlpError) {
  Points p(0x5eed0002);
  p.all_bits(kMinSubnormal, kMax, 400'000);  // every binade equally often
  p.all_bits(kMinSubnormal, 0x1p-1022, 50'000);
  p.uniform(0.0, 10.0, 150'000);
  p.uniform(0.7, 1.42, 150'000);
  // Near 1 (f ~ 0, the result small) and near the m = sqrt(2) split in every binade.
  p.near([](int) { return 1.0L; }, 0, 0, 1 << 24, 100'000);
  p.log_uniform(-60.0, -20.0, Sign::kBoth, 100'000, 1.0);
  p.near([](int k) { return std::ldexp(1.41421356237309504880L, k); }, -1073, 1023, 64, 100'000);
  ASSERT_GE(p.xs().size(), 1'000'000u);
  expect_within("log", measure(p.xs(), log_fn, log_ref), 1.0);
}

TEST(CpuVectorMath, Log1pMaxUlpError) {
  Points p(0x5eed0003);
  p.uniform(-1.0, 1.0, 200'000);
  p.log_uniform(-1074.0, 1024.0, Sign::kPositive, 200'000);    // every magnitude
  p.log_uniform(-1074.0, 0.0, Sign::kNegative, 150'000);       // (-1, 0)
  p.log_uniform(-60.0, -1.0, Sign::kPositive, 100'000, -1.0);  // just above -1
  p.log_uniform(-60.0, -20.0, Sign::kBoth, 100'000);           // near 0, where u = 1 + x rounds
  // Where u = 1 + x crosses the m = sqrt(2) and m = sqrt(1/2) splits.
  p.near([](int) { return 0.41421356237309504880L; }, 0, 0, 1 << 20, 100'000);
  p.near([](int) { return -0.29289321881345247560L; }, 0, 0, 1 << 20, 100'000);
  p.uniform(1.0, 1e6, 50'000);
  p.log_uniform(52.0, 55.0, Sign::kPositive, 50'000);  // around 2^53, where 1 + x stops moving
  ASSERT_GE(p.xs().size(), 1'000'000u);
  expect_within("log1p", measure(p.xs(), log1p_fn, log1p_ref), 2.0);
}

TEST(CpuVectorMath, Expm1MaxUlpError) {
  Points p(0x5eed0004);
  p.uniform(-40.0, 709.8, 250'000);
  p.uniform(-3.0, 3.0, 150'000);
  p.log_uniform(-60.0, 9.55, Sign::kBoth, 250'000);
  p.log_uniform(-1074.0, -60.0, Sign::kBoth, 50'000);
  // Reduction boundaries near 0 (k = 0 <-> +-1 is where the result is smallest against 2^k),
  // around |k| = 53 (the switch between the two formulas), overflow.
  p.near([](int k) { return (k + 0.5L) * kLn2; }, -60, 60, 64, 200'000);
  p.near([](int k) { return (k + 0.5L) * kLn2; }, -1076, 1024, 64, 50'000);
  p.uniform(-38.0, -36.0, 25'000);
  p.uniform(36.0, 38.0, 25'000);
  p.near([](int) { return 709.782712893383973096L; }, 0, 0, 1 << 20, 50'000);
  ASSERT_GE(p.xs().size(), 1'000'000u);
  expect_within("expm1", measure(p.xs(), expm1_fn, expm1_ref), 2.0);
}

// Error model: tanh's header comment: expm1's relative error passed through a quotient whose
// condition is <= 1, plus two roundings: < 3.4 ulp.
TEST(CpuVectorMath, TanhMaxUlpError) {
  Points p(0x5eed0005);
  p.uniform(-25.0, 25.0, 300'000);
  p.uniform(-1.0, 1.0, 200'000);
  p.log_uniform(-1074.0, 9.0, Sign::kBoth, 300'000);
  p.log_uniform(-40.0, -1.0, Sign::kBoth, 200'000);
  p.near([](int) { return 20.0L; }, 0, 0, 1 << 20, 25'000);  // the clamp
  p.near([](int) { return -20.0L; }, 0, 0, 1 << 20, 25'000);
  ASSERT_GE(p.xs().size(), 1'000'000u);
  expect_within("tanh",
                measure(
                    p.xs(), [](double x) { return vmath::tanh(x); },
                    [](long double x) { return std::tanh(x); }),
                3.4);
  EXPECT_EQ(vmath::tanh(kInf), 1.0);
  EXPECT_EQ(vmath::tanh(-kInf), -1.0);
  EXPECT_EQ(vmath::tanh(800.0), 1.0);
  EXPECT_TRUE(std::signbit(vmath::tanh(-0.0)));
  EXPECT_EQ(vmath::tanh(0.0), 0.0);
  EXPECT_EQ(vmath::tanh(1e-300), 1e-300);
  EXPECT_TRUE(std::isnan(vmath::tanh(kNaN)));
}

// Special values: exact results, signs of zeros included.
TEST(CpuVectorMath, ExpSpecialValues) {
  EXPECT_TRUE(std::isnan(vmath::exp(kNaN)));
  EXPECT_EQ(vmath::exp(kInf), kInf);
  EXPECT_EQ(vmath::exp(-kInf), 0.0);
  EXPECT_FALSE(std::signbit(vmath::exp(-kInf)));
  EXPECT_EQ(vmath::exp(0.0), 1.0);
  EXPECT_EQ(vmath::exp(-0.0), 1.0);
  EXPECT_EQ(vmath::exp(1e-300), 1.0);
  // Overflow: exp(x) rounds to infinity from x = ln(2^1024 * (1 - 2^-54)) =
  // 709.7827128933839968 on; the largest double below that gives a finite result, the next one
  // overflows.
  const double last_finite = 0x1.62e42fefa39efp+9;
  EXPECT_LT(static_cast<long double>(last_finite), 709.7827128933839968L);
  EXPECT_GT(static_cast<long double>(std::nextafter(last_finite, kInf)), 709.7827128933839968L);
  EXPECT_TRUE(std::isfinite(vmath::exp(last_finite)));
  EXPECT_EQ(vmath::exp(std::nextafter(last_finite, kInf)), kInf);
  EXPECT_EQ(vmath::exp(710.0), kInf);
  EXPECT_EQ(vmath::exp(1e300), kInf);
  // Underflow: results down to the smallest subnormal, 0 below half of it.
  EXPECT_EQ(vmath::exp(-745.13), kMinSubnormal);  // e^-745.13 = 1.0000...2 * 2^-1074
  EXPECT_EQ(vmath::exp(-745.2), 0.0);
  EXPECT_EQ(vmath::exp(-1000.0), 0.0);
  EXPECT_EQ(vmath::exp(-1e300), 0.0);
  for (double x : {-708.5, -720.0, -730.0, -740.0, -744.0, -745.0}) {
    const double y = vmath::exp(x);
    EXPECT_LT(y, 0x1p-1022) << x;
    EXPECT_GT(y, 0.0) << x;
    EXPECT_LE(ulp_error(y, std::exp(static_cast<long double>(x))), 1.0) << x;
  }
}

TEST(CpuVectorMath, LogSpecialValues) {
  EXPECT_TRUE(std::isnan(vmath::log(kNaN)));
  EXPECT_TRUE(std::isnan(vmath::log(-1.0)));
  EXPECT_TRUE(std::isnan(vmath::log(-kMinSubnormal)));
  EXPECT_TRUE(std::isnan(vmath::log(-kInf)));
  EXPECT_EQ(vmath::log(0.0), -kInf);
  EXPECT_EQ(vmath::log(-0.0), -kInf);
  EXPECT_EQ(vmath::log(kInf), kInf);
  EXPECT_EQ(vmath::log(1.0), 0.0);
  EXPECT_FALSE(std::signbit(vmath::log(1.0)));
  for (double x : {kMinSubnormal, 3 * kMinSubnormal, 0x1.8p-1050, 0x1.fffffffffffffp-1023,
                   0x1p-1022, 2.0, 0.5, kMax}) {
    EXPECT_LE(ulp_error(vmath::log(x), std::log(static_cast<long double>(x))), 1.0) << x;
  }
  EXPECT_EQ(vmath::log(kMinSubnormal), static_cast<double>(-1074 * kLn2));
}

TEST(CpuVectorMath, Log1pSpecialValues) {
  EXPECT_TRUE(std::isnan(vmath::log1p(kNaN)));
  EXPECT_TRUE(std::isnan(vmath::log1p(-1.5)));
  EXPECT_TRUE(std::isnan(vmath::log1p(std::nextafter(-1.0, -kInf))));
  EXPECT_TRUE(std::isnan(vmath::log1p(-kInf)));
  EXPECT_EQ(vmath::log1p(-1.0), -kInf);
  EXPECT_EQ(vmath::log1p(kInf), kInf);
  EXPECT_EQ(vmath::log1p(0.0), 0.0);
  EXPECT_FALSE(std::signbit(vmath::log1p(0.0)));
  EXPECT_EQ(vmath::log1p(-0.0), 0.0);
  EXPECT_TRUE(std::signbit(vmath::log1p(-0.0)));
  EXPECT_EQ(vmath::log1p(1e-300), 1e-300);
  EXPECT_EQ(vmath::log1p(-1e-300), -1e-300);
  EXPECT_EQ(vmath::log1p(kMinSubnormal), kMinSubnormal);
  EXPECT_EQ(vmath::log1p(0x1p-60), static_cast<double>(std::log1p(0x1p-60L)));
  for (double x : {std::nextafter(-1.0, 0.0), 1e-10, -1e-10, 1.0, 0x1p53, 1e300, kMax}) {
    EXPECT_LE(ulp_error(vmath::log1p(x), std::log1p(static_cast<long double>(x))), 2.0) << x;
  }
}

TEST(CpuVectorMath, Expm1SpecialValues) {
  EXPECT_TRUE(std::isnan(vmath::expm1(kNaN)));
  EXPECT_EQ(vmath::expm1(kInf), kInf);
  EXPECT_EQ(vmath::expm1(-kInf), -1.0);
  EXPECT_EQ(vmath::expm1(0.0), 0.0);
  EXPECT_FALSE(std::signbit(vmath::expm1(0.0)));
  EXPECT_EQ(vmath::expm1(-0.0), 0.0);
  EXPECT_TRUE(std::signbit(vmath::expm1(-0.0)));
  EXPECT_EQ(vmath::expm1(1e-300), 1e-300);
  EXPECT_EQ(vmath::expm1(-1e-300), -1e-300);
  EXPECT_EQ(vmath::expm1(kMinSubnormal), kMinSubnormal);
  EXPECT_LE(ulp_error(vmath::expm1(1e-10), std::expm1(1e-10L)), 1.0);
  EXPECT_LE(ulp_error(vmath::expm1(-1e-10), std::expm1(-1e-10L)), 1.0);
  EXPECT_EQ(vmath::expm1(-40.0), -1.0);
  EXPECT_EQ(vmath::expm1(-745.2), -1.0);
  EXPECT_EQ(vmath::expm1(-1e300), -1.0);
  const double last_finite = 0x1.62e42fefa39efp+9;
  EXPECT_TRUE(std::isfinite(vmath::expm1(last_finite)));
  EXPECT_EQ(vmath::expm1(std::nextafter(last_finite, kInf)), kInf);
  EXPECT_EQ(vmath::expm1(1e300), kInf);
}

long double sigmoid_ref(long double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}
long double softplus_ref(long double x) {
  return x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

// Error model: both are a few roundings on top of exp (< 1 ulp) and log1p (< 2 ulp) whose
// errors the formulas do not amplify (see the header): 4 ulp.
TEST(CpuVectorMath, SigmoidAndSoftplusAtChosenPoints) {
  for (double x : {0.0, -0.0, 1e-300, -1e-300, 1.0, -1.0, 30.0, -30.0, 40.0, -40.0, 710.0, -710.0,
                   800.0, -800.0, kInf, -kInf}) {
    const double s = vmath::sigmoid(x);
    const double sp = vmath::softplus(x);
    EXPECT_LE(ulp_error(s, sigmoid_ref(x)), 4.0) << "sigmoid(" << x << ") = " << s;
    EXPECT_LE(ulp_error(sp, softplus_ref(x)), 4.0) << "softplus(" << x << ") = " << sp;
    EXPECT_TRUE(std::isfinite(s)) << x;
    EXPECT_EQ(std::isfinite(sp), x != kInf) << x;
    EXPECT_GE(s, 0.0);
    EXPECT_LE(s, 1.0);
  }
  EXPECT_EQ(vmath::sigmoid(0.0), 0.5);
  EXPECT_EQ(vmath::softplus(-kInf), 0.0);
  EXPECT_EQ(vmath::sigmoid(kInf), 1.0);
  EXPECT_EQ(vmath::sigmoid(-kInf), 0.0);
  EXPECT_GT(vmath::softplus(-710.0), 0.0);  // e^-710, a subnormal
  EXPECT_TRUE(std::isnan(vmath::sigmoid(kNaN)));
  EXPECT_TRUE(std::isnan(vmath::softplus(kNaN)));
}

// The float overloads: the double function on a float argument, rounded to float once.
// |y - ref| in units of the float ulp at ref (the subnormal grid below 2^-126); a reference
// beyond the float range counts as infinity, NaN must meet NaN.
double float_ulp_error(float y, long double ref) {
  if (std::isnan(ref) || std::isnan(y)) return std::isnan(ref) && std::isnan(y) ? 0.0 : kInf;
  const float ref_rounded = static_cast<float>(ref);
  if (std::isinf(ref_rounded) || std::isinf(y)) return y == ref_rounded ? 0.0 : kInf;
  const int exponent = ref == 0.0L ? -126 : std::max(std::ilogb(ref), -126);
  const long double ulp = std::ldexp(1.0L, exponent - 23);
  return static_cast<double>(std::fabs(static_cast<long double>(y) - ref) / ulp);
}

// Every float in [lo, hi] equally likely by bit pattern (lo, hi >= 0), with either sign when
// `both_signs`.
std::vector<float> float_points(float lo, float hi, bool both_signs, int n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::uint32_t> d(std::bit_cast<std::uint32_t>(lo),
                                                 std::bit_cast<std::uint32_t>(hi));
  std::vector<float> xs;
  for (int i = 0; i < n; ++i) {
    const float x = std::bit_cast<float>(d(rng));
    xs.push_back(both_signs && (rng() & 1) ? -x : x);
  }
  return xs;
}

// Error model: rounding the double result to float is 0.5 ulp of float; the double function's
// own error is below 3.4 ulp of double (the bounds above) and the long double reference's below
// 2^-9 ulp of double, together under 4 ulp of double = 4 * 2^-29 ulp of float.
constexpr double kFloatBound = 0.5 + 4 * 0x1p-29;

TEST(CpuVectorMath, FloatOverloadsRoundTheDoubleResultOnce) {
  const auto check = [](const char* name, const std::vector<float>& xs, auto f,
                        long double (*reference)(long double)) {
    std::vector<float> ys(xs.size());
    for (std::size_t i = 0; i < xs.size(); ++i) ys[i] = f(xs[i]);
    double worst = 0.0;
    float at = 0.0f;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      const double err = float_ulp_error(ys[i], reference(xs[i]));
      if (!(err <= worst)) {
        worst = err;
        at = xs[i];
      }
    }
    std::printf("vmath::%s(float): max error %.9f ulp at x = %a\n", name, worst, at);
    EXPECT_LE(worst, kFloatBound) << name << " at x = " << std::hexfloat << at;
  };
  constexpr float kMaxFloat = std::numeric_limits<float>::max();
  constexpr float kTiny = std::numeric_limits<float>::denorm_min();
  // Every magnitude, either sign: overflow to inf (exp past 88.7), underflow to subnormals and 0.
  check(
      "exp", float_points(kTiny, 110.0f, true, 1'000'000, 1), [](float x) { return vmath::exp(x); },
      exp_ref);
  check(
      "log", float_points(kTiny, kMaxFloat, false, 1'000'000, 2),
      [](float x) { return vmath::log(x); }, log_ref);
  std::vector<float> log1p_xs = float_points(kTiny, kMaxFloat, false, 500'000, 3);
  for (float x : float_points(kTiny, 1.0f, false, 500'000, 4)) log1p_xs.push_back(-x);
  check(
      "log1p", log1p_xs, [](float x) { return vmath::log1p(x); }, log1p_ref);
  check(
      "expm1", float_points(kTiny, 100.0f, true, 1'000'000, 5),
      [](float x) { return vmath::expm1(x); }, expm1_ref);
  check(
      "tanh", float_points(kTiny, 30.0f, true, 1'000'000, 6),
      [](float x) { return vmath::tanh(x); }, [](long double x) { return std::tanh(x); });
  check(
      "sigmoid", float_points(kTiny, 120.0f, true, 1'000'000, 7),
      [](float x) { return vmath::sigmoid(x); }, sigmoid_ref);
  check(
      "softplus", float_points(kTiny, 120.0f, true, 1'000'000, 8),
      [](float x) { return vmath::softplus(x); }, softplus_ref);
}

}  // namespace
}  // namespace descent
