// Host-to-device copies through pinned staging memory: the bytes are copied into one of two
// pinned buffers (a chunk at a time) and the device copies them from there on the stream, so a
// large upload (the data set) runs at the bus's pinned speed and never depends on how the
// driver treats pageable memory. While the device copies one chunk, the host fills the other.
//
// Does not: allocate device memory or copy back to the host (cuda/backend/cuda_step_device.hpp).
#pragma once

#include <cstddef>

#include "cuda/runtime/cuda_handles.hpp"

namespace descent::gpu {

class StagedUpload {
 public:
  static constexpr std::size_t kChunkBytes = std::size_t{8} << 20;

  explicit StagedUpload(cudaStream_t stream) : stream_(stream) {}
  StagedUpload(const StagedUpload&) = delete;
  StagedUpload& operator=(const StagedUpload&) = delete;
  // Waits until the device has read the staging buffers.
  ~StagedUpload();

  // Issues the copy of `bytes` from `host` to `device` on the stream. Returns once `host` has
  // been read, so the caller may reuse it at once; the device's copy completes in stream order.
  void copy(void* device, const void* host, std::size_t bytes);

 private:
  struct Slot {
    PinnedMemory memory;  // kChunkBytes, made on first use
    Event read;           // recorded after the device's copy from `memory`
  };
  cudaStream_t stream_;
  Slot slots_[2];
  int next_ = 0;
};

}  // namespace descent::gpu
