// The GPU API's device probe over the CUDA runtime (static, so that the binary starts on a
// machine with no driver: cudaGetDeviceCount then returns an error instead).
#include <cuda_runtime_api.h>

#include "cuda/api/gpu_api.hpp"

namespace descent::gpu {

DeviceProbe probe_devices() {
  DeviceProbe probe;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    probe.reason = std::string("no CUDA device answered: ") + cudaGetErrorString(status);
    return probe;
  }
  if (count == 0) {
    probe.reason = "the CUDA runtime found no device";
    return probe;
  }
  cudaDeviceProp props{};
  if (cudaGetDeviceProperties(&props, 0) == cudaSuccess) probe.name = props.name;
  probe.available = true;
  probe.device_count = count;
  return probe;
}

bool built_with_cuda() { return true; }

}  // namespace descent::gpu
