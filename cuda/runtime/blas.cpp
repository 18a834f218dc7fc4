// cuBLAS on one stream (see blas.hpp).
#include "cuda/runtime/blas.hpp"

#include <limits>

#include "common/error.hpp"

namespace descent::gpu {

void check_cublas(cublasStatus_t status, const std::string& call) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw Error(ExitCode::failure, call + " failed: " + cublasGetStatusName(status) + " (" +
                                       cublasGetStatusString(status) + ")");
}

Blas::Blas(cudaStream_t stream) : workspace_(allocate_zeroed(kBlasWorkspaceBytes, stream)) {
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  handle_.reset(handle);
  check_cublas(cublasSetStream(handle, stream), "cublasSetStream");
  check_cublas(cublasSetWorkspace(handle, workspace_.get(), kBlasWorkspaceBytes),
               "cublasSetWorkspace");
  check_cublas(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
  check_cublas(cublasSetPointerMode(handle, CUBLAS_POINTER_MODE_HOST), "cublasSetPointerMode");
}

namespace {

// cuBLAS takes int sizes: a product beyond them is refused rather than truncated.
int dimension(long long v, const char* what) {
  if (v < 0 || v > std::numeric_limits<int>::max())
    throw Error(ExitCode::failure, std::string("a matrix product's ") + what + " (" +
                                       std::to_string(v) + ") is beyond what cuBLAS takes (int)");
  return static_cast<int>(v);
}

// cuBLAS is column-major: a row-major X is the column-major Xᵀ with the same leading dimension,
// so row-major C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, i.e. the call with the
// operands swapped and m and n exchanged.
template <class Real, class Gemm>
void row_major(cublasHandle_t handle, Gemm gemm, const char* name, bool ta, bool tb, long long m,
               long long n, long long k, const Real* a, long long lda, const Real* b, long long ldb,
               Real* c, long long ldc) {
  const Real one = 1, zero = 0;
  check_cublas(
      gemm(handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N,
           dimension(n, "n"), dimension(m, "m"), dimension(k, "k"), &one, b, dimension(ldb, "ldb"),
           a, dimension(lda, "lda"), &zero, c, dimension(ldc, "ldc")),
      name);
}

}  // namespace

void Blas::product(bool ta, bool tb, long long m, long long n, long long k, const float* a,
                   long long lda, const float* b, long long ldb, float* c, long long ldc) {
  row_major(handle_.get(), cublasSgemm, "cublasSgemm", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

void Blas::product(bool ta, bool tb, long long m, long long n, long long k, const double* a,
                   long long lda, const double* b, long long ldb, double* c, long long ldc) {
  row_major(handle_.get(), cublasDgemm, "cublasDgemm", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

}  // namespace descent::gpu
