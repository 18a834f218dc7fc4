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

// The row-major call as cuBLAS takes it (codegen::column_major: the translation is tested on
// the host).
template <class Real, class Gemm>
void gemm(cublasHandle_t handle, Gemm function, const char* name,
          const codegen::MatrixProductCall<Real>& call) {
  const codegen::ColumnMajorCall<Real> c = codegen::column_major(call);
  const Real one = 1, zero = 0;
  check_cublas(
      function(handle, c.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N,
               c.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N, dimension(c.m, "m"), dimension(c.n, "n"),
               dimension(c.k, "k"), &one, c.a, dimension(c.lda, "lda"), c.b,
               dimension(c.ldb, "ldb"), &zero, c.c, dimension(c.ldc, "ldc")),
      name);
}

}  // namespace

void Blas::product(const codegen::MatrixProductCall<float>& call) {
  gemm(handle_.get(), cublasSgemm, "cublasSgemm", call);
}

void Blas::product(const codegen::MatrixProductCall<double>& call) {
  gemm(handle_.get(), cublasDgemm, "cublasDgemm", call);
}

}  // namespace descent::gpu
