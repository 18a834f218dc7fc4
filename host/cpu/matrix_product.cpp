// Matrix-matrix products through CBLAS or the built-in loops (see matrix_product.hpp).
#include "cpu/matrix_product.hpp"

#include <algorithm>

#if DESCENT_HAVE_CBLAS
#include <cblas.h>
#endif

namespace descent {

namespace {

#if DESCENT_HAVE_CBLAS
CBLAS_TRANSPOSE cblas_transpose(Transpose t) {
  return t == Transpose::yes ? CblasTrans : CblasNoTrans;
}

// BLAS takes 32-bit sizes; the tiles and matrices of a plan are far smaller (a parameter has at
// most 2^31 elements, config/limits.hpp, and a tile a few thousand rows).
blasint blas_size(std::int64_t n) { return static_cast<blasint>(n); }

void blas_product(Transpose ta, Transpose tb, std::int64_t m, std::int64_t n, std::int64_t k,
                  const double* a, std::int64_t lda, const double* b, std::int64_t ldb, double beta,
                  double* c, std::int64_t ldc) {
  cblas_dgemm(CblasRowMajor, cblas_transpose(ta), cblas_transpose(tb), blas_size(m), blas_size(n),
              blas_size(k), 1.0, a, blas_size(lda), b, blas_size(ldb), beta, c, blas_size(ldc));
}

void blas_product(Transpose ta, Transpose tb, std::int64_t m, std::int64_t n, std::int64_t k,
                  const float* a, std::int64_t lda, const float* b, std::int64_t ldb, float beta,
                  float* c, std::int64_t ldc) {
  cblas_sgemm(CblasRowMajor, cblas_transpose(ta), cblas_transpose(tb), blas_size(m), blas_size(n),
              blas_size(k), 1.0F, a, blas_size(lda), b, blas_size(ldb), beta, c, blas_size(ldc));
}
#else
// c[i][j] = beta*c[i][j] + Σ_p op(a)[i][p]*op(b)[p][j], each sum in the order of p. Row by row
// of C, adding one product of every element of the row at a time (the loop over j is the
// inner one, so the compiler runs it several elements per instruction) when B is not
// transposed; one dot product per element when it is.
template <class T>
void loop_product(Transpose ta, Transpose tb, std::int64_t m, std::int64_t n, std::int64_t k,
                  const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                  std::int64_t ldc) {
  for (std::int64_t i = 0; i < m; ++i) {
    T* row = c + i * ldc;
    if (beta == T{0})
      std::fill(row, row + n, T{0});
    else if (beta != T{1})
      for (std::int64_t j = 0; j < n; ++j) row[j] *= beta;
    const auto a_at = [&](std::int64_t p) {
      return ta == Transpose::yes ? a[p * lda + i] : a[i * lda + p];
    };
    if (tb == Transpose::no) {
      for (std::int64_t p = 0; p < k; ++p) {
        const T s = a_at(p);
        const T* b_row = b + p * ldb;
        for (std::int64_t j = 0; j < n; ++j) row[j] += s * b_row[j];
      }
    } else {
      for (std::int64_t j = 0; j < n; ++j) {
        const T* b_row = b + j * ldb;
        T sum = row[j];
        for (std::int64_t p = 0; p < k; ++p) sum += a_at(p) * b_row[p];
        row[j] = sum;
      }
    }
  }
}
#endif

}  // namespace

template <class T>
void matrix_product(Transpose ta, Transpose tb, std::int64_t m, std::int64_t n, std::int64_t k,
                    const T* a, std::int64_t lda, const T* b, std::int64_t ldb, T beta, T* c,
                    std::int64_t ldc) {
  if (m == 0 || n == 0) return;
#if DESCENT_HAVE_CBLAS
  // A multi-threaded OpenBLAS (when the build found no serial one) is held to one thread.
  static const bool one_thread = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)one_thread;
  blas_product(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
#else
  loop_product(ta, tb, m, n, k, a, lda, b, ldb, beta, c, ldc);
#endif
}

template void matrix_product<float>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t,
                                    const float*, std::int64_t, const float*, std::int64_t, float,
                                    float*, std::int64_t);
template void matrix_product<double>(Transpose, Transpose, std::int64_t, std::int64_t, std::int64_t,
                                     const double*, std::int64_t, const double*, std::int64_t,
                                     double, double*, std::int64_t);

std::string matrix_product_library() {
#if DESCENT_HAVE_CBLAS
  std::string config = openblas_get_config();
  return config;
#else
  return "built-in loops (no BLAS in this build)";
#endif
}

}  // namespace descent
