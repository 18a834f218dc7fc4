// The GPU as a StepDevice (codegen/emitted_backend.hpp): device memory, copies and the emitted
// kernels' launches on one non-blocking stream, over the CUDA runtime API. EmittedBackend holds
// all the buffer logic; this file only maps its calls onto CUDA:
//   allocate        cudaMallocAsync + cudaMemsetAsync on the stream (zero-filled)
//   release         cudaFreeAsync on the stream (after the work that uses the memory)
//   copy_to_device  through pinned staging buffers (runtime/staged_upload.hpp), async
//   copy_to_host    cudaMemcpyAsync, then cudaStreamSynchronize: filled when it returns
//   synchronize     cudaStreamSynchronize
//   first, rows     cudaLaunchKernel of <prefix>_first <<<1, threads>>> and
//                   <prefix>_rows <<<blocks, threads>>>, argument: StepBuffers<Real>
//   update          cudaLaunchKernel of <name>_step_update <<<update_blocks, kUpdateThreads>>>,
//                   arguments: StepBuffers<Real>, UpdateCoefficients<Real>, long long values
//   segment, finish a batched plan's <prefix>_seg<i> <<<blocks, threads>>> and
//                   <prefix>_finish <<<1, threads>>>
//   product         cublasSgemm / cublasDgemm on the same stream (runtime/blas.hpp)
// The kernels come from the program's cubin, loaded with cudaLibraryLoadData. Launch shapes are
// the ones EmittedBackend passes (codegen/launch.hpp), never the card's: the bits of every sum
// do not depend on the GPU. Kernel faults surface at the next synchronizing call.
//
// Does not: compile (cuda/backend/cuda_backend.cpp does), or choose the device (the current
// device when it is constructed; every call must come from a thread with that device current).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/emitted_backend.hpp"
#include "common/error.hpp"
#include "cuda/runtime/blas.hpp"
#include "cuda/runtime/cuda_handles.hpp"
#include "cuda/runtime/staged_upload.hpp"

namespace descent::gpu {

template <class Real>
class CudaStepDevice final : public codegen::StepDevice<Real> {
 public:
  // `cubin` is the compiled source of `program`, for the current device.
  CudaStepDevice(std::string name, const std::string& cubin, const codegen::EmittedProgram& program)
      : name_(std::move(name)),
        stream_(make_stream()),
        upload_(stream_.get()),
        library_(load_library(cubin)),
        step_(kernels(program.step)),
        evaluation_(kernels(program.evaluation)),
        update_(library_kernel(library_.get(), program.step.update)) {
    if (program.step.batched || program.evaluation.batched)
      blas_ = std::make_unique<Blas>(stream_.get());
  }

  CudaStepDevice(const CudaStepDevice&) = delete;
  CudaStepDevice& operator=(const CudaStepDevice&) = delete;
  // Lets the issued work finish before the staging buffers, the library and the stream go.
  ~CudaStepDevice() override { cudaStreamSynchronize(stream_.get()); }

  std::string name() const override { return name_; }

  void* allocate(std::size_t bytes) override {
    return allocate_zeroed(bytes, stream_.get()).release();
  }
  void release(void* pointer) noexcept override { StreamFreer{stream_.get()}(pointer); }

  void copy_to_device(void* device, const void* host, std::size_t bytes) override {
    upload_.copy(device, host, bytes);
  }
  void copy_to_host(void* host, const void* device, std::size_t bytes) override {
    if (bytes > 0)
      check_cuda(cudaMemcpyAsync(host, device, bytes, cudaMemcpyDeviceToHost, stream_.get()),
                 "cudaMemcpyAsync (to the host)");
    synchronize();
  }
  void synchronize() override {
    check_cuda(cudaStreamSynchronize(stream_.get()), "cudaStreamSynchronize");
  }

  void first(codegen::Which which, const launch::StepBuffers<Real>& s, int threads) override {
    launch(of(which).first, 1, threads, std::array<void*, 1>{buffers(s)}, "first");
  }
  void rows(codegen::Which which, const launch::StepBuffers<Real>& s, long long blocks,
            int threads) override {
    launch(of(which).rows, blocks, threads, std::array<void*, 1>{buffers(s)}, "rows");
  }
  void update(const launch::StepBuffers<Real>& s, const UpdateCoefficients<Real>& c,
              long long values) override {
    launch(update_, launch::update_blocks(values), launch::kUpdateThreads,
           std::array<void*, 3>{buffers(s), const_cast<UpdateCoefficients<Real>*>(&c), &values},
           "update");
  }
  void segment(codegen::Which which, int index, const launch::StepBuffers<Real>& s,
               long long blocks, int threads) override {
    const std::vector<const void*>& segments = of(which).segments;
    launch(index >= 0 && static_cast<std::size_t>(index) < segments.size()
               ? segments[static_cast<std::size_t>(index)]
               : nullptr,
           blocks, threads, std::array<void*, 1>{buffers(s)}, "segment");
  }
  void finish(codegen::Which which, const launch::StepBuffers<Real>& s, int threads) override {
    launch(of(which).finish, 1, threads, std::array<void*, 1>{buffers(s)}, "finish");
  }
  void product(const codegen::MatrixProductCall<Real>& c) override {
    if (!blas_) throw Error(ExitCode::failure, "internal: a matrix product in a fused program");
    blas_->product(c);
  }

 private:
  struct Kernels {
    const void* first = nullptr;        // null when the program has no phase 1
    const void* rows = nullptr;         // the fused plan's
    std::vector<const void*> segments;  // a batched plan's
    const void* finish = nullptr;
  };

  Kernels kernels(const codegen::EmittedKernels& k) const {
    Kernels out;
    const auto get = [this](const std::string& name) {
      return name.empty() ? nullptr : library_kernel(library_.get(), name);
    };
    out.first = get(k.first);
    out.rows = get(k.rows);
    for (const std::string& name : k.segments) out.segments.push_back(get(name));
    out.finish = get(k.finish);
    return out;
  }
  const Kernels& of(codegen::Which which) const {
    return which == codegen::Which::step ? step_ : evaluation_;
  }

  static void* buffers(const launch::StepBuffers<Real>& s) {
    return const_cast<launch::StepBuffers<Real>*>(&s);
  }

  // cudaLaunchKernel takes the address of each argument (the kernels take them by value, and
  // the launch copies them before it returns).
  template <std::size_t N>
  void launch(const void* kernel, long long blocks, int threads, std::array<void*, N> args,
              const char* what) {
    if (kernel == nullptr)
      throw Error(ExitCode::failure, std::string("internal: no ") + what + " kernel to launch");
    const cudaError_t launched =
        cudaLaunchKernel(kernel, dim3(static_cast<unsigned>(blocks)),
                         dim3(static_cast<unsigned>(threads)), args.data(), 0, stream_.get());
    const cudaError_t last = cudaGetLastError();  // also clears a launch error
    if (launched != cudaSuccess || last != cudaSuccess)
      check_cuda(launched != cudaSuccess ? launched : last,
                 std::string("cudaLaunchKernel(") + what + ")");
  }

  std::string name_;
  Stream stream_;
  StagedUpload upload_;
  Library library_;
  Kernels step_, evaluation_;
  const void* update_;
  std::unique_ptr<Blas> blas_;  // a batched plan's products
};

}  // namespace descent::gpu
