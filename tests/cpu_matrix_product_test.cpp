// cpu/matrix_product.hpp against a sum in long double, for every combination of transposes, in
// float and double, overwriting (beta = 0) and accumulating (beta = 1), with leading dimensions
// wider than the rows. Error model: a product's element is a sum of k products (plus C's old
// value) added in some order; each product and each addition rounds once, so the element is
// off by at most γ_(k+1) Σ|terms| with γ_n = n·u/(1 - n·u) (Higham, the standard bound for a
// dot product in any order), u the precision's unit roundoff.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "cpu/matrix_product.hpp"

namespace descent {
namespace {

template <class T>
void check_products() {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> value(-2.0, 2.0);
  const double u = std::numeric_limits<T>::epsilon() / 2;
  for (const auto& [m, n, k] : {std::array<std::int64_t, 3>{1, 1, 1},
                                {3, 5, 7},
                                {64, 33, 129},
                                std::array<std::int64_t, 3>{130, 10, 784},
                                {7, 1, 300},
                                {5, 4, 0}})
    for (const Transpose ta : {Transpose::no, Transpose::yes})
      for (const Transpose tb : {Transpose::no, Transpose::yes})
        for (const T beta : {T{0}, T{1}}) {
          // Stored shapes: A is m×k (or k×m transposed), B k×n (or n×k), each row padded by 3.
          const std::int64_t lda = (ta == Transpose::yes ? m : k) + 3;
          const std::int64_t ldb = (tb == Transpose::yes ? k : n) + 3;
          const std::int64_t ldc = n + 2;
          std::vector<T> a(static_cast<std::size_t>((ta == Transpose::yes ? k : m) * lda));
          std::vector<T> b(static_cast<std::size_t>((tb == Transpose::yes ? n : k) * ldb));
          std::vector<T> c(static_cast<std::size_t>(m * ldc));
          for (T& x : a) x = static_cast<T>(value(rng));
          for (T& x : b) x = static_cast<T>(value(rng));
          for (T& x : c) x = static_cast<T>(value(rng));
          const std::vector<T> before = c;
          matrix_product<T>(ta, tb, m, n, k, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
          const double gamma =
              static_cast<double>(k + 1) * u / (1 - static_cast<double>(k + 1) * u);
          for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j) {
              long double sum = beta == T{0} ? 0.0L : before[static_cast<std::size_t>(i * ldc + j)];
              long double magnitude = std::fabs(sum);
              for (std::int64_t p = 0; p < k; ++p) {
                const T x = ta == Transpose::yes ? a[static_cast<std::size_t>(p * lda + i)]
                                                 : a[static_cast<std::size_t>(i * lda + p)];
                const T y = tb == Transpose::yes ? b[static_cast<std::size_t>(j * ldb + p)]
                                                 : b[static_cast<std::size_t>(p * ldb + j)];
                sum += static_cast<long double>(x) * y;
                magnitude += std::fabs(static_cast<long double>(x) * y);
              }
              const double got = c[static_cast<std::size_t>(i * ldc + j)];
              ASSERT_LE(std::fabs(got - static_cast<double>(sum)),
                        gamma * static_cast<double>(magnitude))
                  << "m=" << m << " n=" << n << " k=" << k << " ta=" << (ta == Transpose::yes)
                  << " tb=" << (tb == Transpose::yes) << " beta=" << beta << " at " << i << ","
                  << j;
            }
          // The padding of C is never written.
          for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = n; j < ldc; ++j)
              ASSERT_EQ(c[static_cast<std::size_t>(i * ldc + j)],
                        before[static_cast<std::size_t>(i * ldc + j)]);
        }
}

TEST(MatrixProduct, DoubleWithinTheDotProductBound) { check_products<double>(); }
TEST(MatrixProduct, FloatWithinTheDotProductBound) { check_products<float>(); }

TEST(MatrixProduct, SameOperandsSameBits) {
  // Determinism: the same product twice gives the same bits.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> value;
  const std::int64_t m = 200, n = 150, k = 300;
  std::vector<double> a(m * k), b(k * n), c1(m * n), c2(m * n);
  for (double& x : a) x = value(rng);
  for (double& x : b) x = value(rng);
  matrix_product<double>(Transpose::no, Transpose::no, m, n, k, a.data(), k, b.data(), n, 0.0,
                         c1.data(), n);
  matrix_product<double>(Transpose::no, Transpose::no, m, n, k, a.data(), k, b.data(), n, 0.0,
                         c2.data(), n);
  EXPECT_EQ(c1, c2);
  EXPECT_FALSE(matrix_product_library().empty());
}

}  // namespace
}  // namespace descent
