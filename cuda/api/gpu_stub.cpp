// The GPU API as seen by a build without CUDA: no device, and a reason that says so.
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"

namespace descent::gpu {

DeviceProbe probe_devices() {
  DeviceProbe probe;
  probe.reason = "this descent was built without CUDA (configure with -DDESCENT_CUDA=ON)";
  return probe;
}

bool built_with_cuda() { return false; }

CompiledKernel compile_cuda(const std::string&, const std::string& name, const CompileOptions&) {
  throw Error(ExitCode::no_device, "cannot compile '" + name +
                                       "': this descent was built without CUDA (configure with "
                                       "-DDESCENT_CUDA=ON)");
}

std::string nvrtc_version() { return ""; }

std::unique_ptr<Backend> make_cuda_backend(const Program&, const ProgramPlan&,
                                           const CudaBackendOptions&) {
  throw Error(ExitCode::no_device,
              "no GPU backend: this descent was built without CUDA (configure with "
              "-DDESCENT_CUDA=ON)");
}

}  // namespace descent::gpu
