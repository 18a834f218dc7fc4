// The translation of a batched plan's row-major matrix product into a column-major BLAS call
// (codegen/matrix_call.hpp), which the CUDA backend hands to cuBLAS as it is: checked here, on
// machines without a GPU, against a column-major product written out as BLAS defines it, for
// every pair of transpositions, sizes that are neither square nor equal, and leading dimensions
// wider than the rows they hold (so a swapped ld or m/n would read or write the wrong place).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "codegen/host_executor.hpp"
#include "codegen/matrix_call.hpp"

namespace descent::test {
namespace {

// C = op(A)·op(B) as a column-major BLAS defines it: element (i, j) of X at x[i + j*ld].
void column_major_product(const codegen::ColumnMajorCall<double>& c) {
  for (long long i = 0; i < c.m; ++i)
    for (long long j = 0; j < c.n; ++j) {
      double t = 0.0;
      for (long long q = 0; q < c.k; ++q) {
        const double a = c.transpose_a ? c.a[q + i * c.lda] : c.a[i + q * c.lda];
        const double b = c.transpose_b ? c.b[j + q * c.ldb] : c.b[q + j * c.ldb];
        t += a * b;
      }
      c.c[i + j * c.ldc] = t;
    }
}

TEST(MatrixCall, TheColumnMajorCallComputesTheRowMajorProduct) {
  std::mt19937_64 rng(7);
  // Small integers: every product and sum is exact, so both orders give the same bits.
  std::uniform_int_distribution<int> value(-4, 4);
  const long long m = 5, n = 3, k = 7, pad = 2;
  for (const bool ta : {false, true})
    for (const bool tb : {false, true}) {
      SCOPED_TRACE(std::string("transpose a ") + (ta ? "yes" : "no") + ", b " +
                   (tb ? "yes" : "no"));
      // Row-major storage: op(A) is m × k, so A is stored k × m when transposed.
      const long long a_rows = ta ? k : m, a_cols = ta ? m : k;
      const long long b_rows = tb ? n : k, b_cols = tb ? k : n;
      codegen::MatrixProductCall<double> call;
      call.transpose_a = ta;
      call.transpose_b = tb;
      call.m = m;
      call.n = n;
      call.k = k;
      call.lda = a_cols + pad;
      call.ldb = b_cols + pad;
      call.ldc = n + pad;
      std::vector<double> a(static_cast<std::size_t>(a_rows * call.lda));
      std::vector<double> b(static_cast<std::size_t>(b_rows * call.ldb));
      for (double& x : a) x = value(rng);
      for (double& x : b) x = value(rng);
      call.a = a.data();
      call.b = b.data();
      std::vector<double> expected(static_cast<std::size_t>(m * call.ldc), -99.0);
      std::vector<double> got = expected;
      call.c = expected.data();
      launch::host::matrix_product(ta, tb, m, n, k, call.a, call.lda, call.b, call.ldb, call.c,
                                   call.ldc);
      call.c = got.data();
      column_major_product(codegen::column_major(call));
      EXPECT_EQ(got, expected);  // the padding (-99) untouched too
    }
}

}  // namespace
}  // namespace descent::test
