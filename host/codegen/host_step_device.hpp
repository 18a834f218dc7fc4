// The host executor as a StepDevice (codegen/emitted_backend.hpp): host memory, and launches
// that run the host twins of the kernels (codegen/host_executor.hpp) of an emitted program
// compiled as host C++. With it, EmittedBackend trains on a machine without a GPU exactly as it
// trains on one, every sum in the device's order: the tests hold it against the Interpreter.
#pragma once

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codegen/emitted_backend.hpp"
#include "codegen/host_executor.hpp"

namespace descent::codegen {

// The host twins of one emitted program's kernels, e.g. for a program struct P:
//   {&launch::host::first_kernel<P>, &launch::host::rows_kernel<P>}
// A batched program has segments and a finish instead of rows.
template <class Real>
struct HostKernels {
  using Kernel = void (*)(const launch::StepBuffers<Real>&);
  Kernel first = nullptr;
  Kernel rows = nullptr;
  std::vector<Kernel> segments;
  Kernel finish = nullptr;
};

template <class Real>
class HostStepDevice final : public StepDevice<Real> {
 public:
  HostStepDevice(HostKernels<Real> step, HostKernels<Real> evaluation)
      : step_(step), evaluation_(evaluation) {}

  std::string name() const override {
    return std::string("host executor (") + (sizeof(Real) == 4 ? "f32" : "f64") + ")";
  }
  void* allocate(std::size_t bytes) override {
    void* p = std::calloc(bytes, 1);
    if (!p) throw Error(ExitCode::failure, "out of memory: " + std::to_string(bytes) + " bytes");
    return p;
  }
  void release(void* pointer) noexcept override { std::free(pointer); }
  void copy_to_device(void* device, const void* host, std::size_t bytes) override {
    if (bytes) std::memcpy(device, host, bytes);
  }
  void copy_to_host(void* host, const void* device, std::size_t bytes) override {
    if (bytes) std::memcpy(host, device, bytes);
  }
  void synchronize() override {}
  void first(Which which, const launch::StepBuffers<Real>& s, int) override {
    kernels(which).first(s);
  }
  void rows(Which which, const launch::StepBuffers<Real>& s, long long, int) override {
    kernels(which).rows(s);
  }
  void update(const launch::StepBuffers<Real>& s, const UpdateCoefficients<Real>& c,
              long long values) override {
    launch::host::update_kernel(s, c, values);
  }
  void segment(Which which, int index, const launch::StepBuffers<Real>& s, long long,
               int) override {
    const HostKernels<Real>& k = kernels(which);
    if (index < 0 || static_cast<std::size_t>(index) >= k.segments.size())
      throw Error(ExitCode::failure, "internal: no segment " + std::to_string(index));
    k.segments[static_cast<std::size_t>(index)](s);
  }
  void finish(Which which, const launch::StepBuffers<Real>& s, int) override {
    kernels(which).finish(s);
  }
  void product(const MatrixProductCall<Real>& c) override {
    launch::host::matrix_product(c.transpose_a, c.transpose_b, c.m, c.n, c.k, c.a, c.lda, c.b,
                                 c.ldb, c.c, c.ldc);
  }

 private:
  const HostKernels<Real>& kernels(Which which) const {
    return which == Which::step ? step_ : evaluation_;
  }
  HostKernels<Real> step_, evaluation_;
};

}  // namespace descent::codegen
