// The pure C++ face of the CUDA backend (DESIGN §2): the only header under cuda/ that the
// composition root (host/cli) includes. Built without CUDA, cuda/api/gpu_stub.cpp satisfies
// it and reports that no GPU backend is present.
#pragma once

#include <string>

namespace descent::gpu {

struct DeviceProbe {
  bool available = false;
  int device_count = 0;
  std::string name;    // the first device's name when available
  std::string reason;  // why no GPU answered, for the user
};

// Asks the CUDA runtime whether a device answers. Never throws; never fails to start on a
// machine without a driver (the static runtime returns an error code instead).
DeviceProbe probe_devices();

// True when this binary was built with the CUDA backend.
bool built_with_cuda();

}  // namespace descent::gpu
