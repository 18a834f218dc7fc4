// make_cuda_backend: see cuda/api/gpu_api.hpp. (Being written; until then it refuses.)
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"

namespace descent::gpu {

std::unique_ptr<Backend> make_cuda_backend(const Program&, const ProgramPlan&,
                                           const CudaBackendOptions&) {
  throw Error(ExitCode::no_device, "the CUDA training backend is not built into this descent yet");
}

}  // namespace descent::gpu
