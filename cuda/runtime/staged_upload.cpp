// Host-to-device copies through two pinned buffers (see staged_upload.hpp).
#include "cuda/runtime/staged_upload.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace descent::gpu {

StagedUpload::~StagedUpload() {
  for (Slot& slot : slots_)
    if (slot.read) cudaEventSynchronize(slot.read.get());
}

void StagedUpload::copy(void* device, const void* host, std::size_t bytes) {
  auto* to = static_cast<unsigned char*>(device);
  const auto* from = static_cast<const unsigned char*>(host);
  while (bytes > 0) {
    const std::size_t n = std::min(bytes, kChunkBytes);
    Slot& slot = slots_[next_];
    next_ ^= 1;
    if (!slot.memory) {
      Event read = make_event();
      slot.memory = make_pinned(kChunkBytes);
      slot.read = std::move(read);
    } else {
      // The slot's previous chunk must have reached the device before it is overwritten.
      check_cuda(cudaEventSynchronize(slot.read.get()), "cudaEventSynchronize");
    }
    std::memcpy(slot.memory.get(), from, n);
    check_cuda(cudaMemcpyAsync(to, slot.memory.get(), n, cudaMemcpyHostToDevice, stream_),
               "cudaMemcpyAsync (to the device)");
    check_cuda(cudaEventRecord(slot.read.get(), stream_), "cudaEventRecord");
    to += n;
    from += n;
    bytes -= n;
  }
}

}  // namespace descent::gpu
