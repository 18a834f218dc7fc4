// cuBLAS for a batched plan's matrix products (DESIGN §5): one handle bound to one stream, with
// a workspace allocated once, and a row-major product in float or double.
//
// Determinism: cuBLAS gives the same bits on every run on GPUs of one architecture and SM count
// when one stream uses the handle and the handle has its own workspace (cublasSetWorkspace), as
// here; no split-K with atomics is asked for. The math mode is CUBLAS_DEFAULT_MATH, so single
// precision products do not use TF32 (only CUBLAS_TF32_TENSOR_OP_MATH would allow it).
//
// Does not: choose what to multiply (the emitted program's ProductLaunch list does) or allocate
// the operands.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <string>
#include <type_traits>

#include "codegen/matrix_call.hpp"
#include "cuda/runtime/cuda_handles.hpp"

namespace descent::gpu {

// Throws Error(ExitCode::failure, "<call> failed: <status name>") unless CUBLAS_STATUS_SUCCESS.
void check_cublas(cublasStatus_t status, const std::string& call);

// Memory a cuBLAS handle may use for its kernels (NVIDIA's recommendation for Hopper).
inline constexpr std::size_t kBlasWorkspaceBytes = std::size_t{32} << 20;

class Blas {
 public:
  // A handle on the current device that launches on `stream`, with its own workspace.
  explicit Blas(cudaStream_t stream);
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // C = op(A)·op(B), row-major (codegen/matrix_call.hpp), overwriting C.
  void product(const codegen::MatrixProductCall<float>& call);
  void product(const codegen::MatrixProductCall<double>& call);

 private:
  struct HandleDestroyer {
    void operator()(cublasHandle_t handle) const noexcept { cublasDestroy(handle); }
  };
  std::unique_ptr<std::remove_pointer_t<cublasHandle_t>, HandleDestroyer> handle_;
  DeviceMemory workspace_;
};

}  // namespace descent::gpu
