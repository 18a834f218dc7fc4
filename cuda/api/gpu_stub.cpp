// The GPU API as seen by a build without CUDA: no device, and a reason that says so.
#include "api/gpu_api.hpp"

namespace descent::gpu {

DeviceProbe probe_devices() {
  DeviceProbe probe;
  probe.reason = "this descent was built without CUDA (configure with -DDESCENT_CUDA=ON)";
  return probe;
}

bool built_with_cuda() { return false; }

}  // namespace descent::gpu
