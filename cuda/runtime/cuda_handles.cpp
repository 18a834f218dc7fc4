// The owners of CUDA runtime resources (see cuda_handles.hpp).
#include "cuda/runtime/cuda_handles.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace descent::gpu {

void check_cuda(cudaError_t status, const std::string& call) {
  if (status != cudaSuccess)
    throw Error(ExitCode::failure, call + " failed: " + cudaGetErrorString(status));
}

Stream make_stream() {
  cudaStream_t stream = nullptr;
  check_cuda(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking),
             "cudaStreamCreateWithFlags");
  return Stream(stream);
}

Event make_event() {
  cudaEvent_t event = nullptr;
  check_cuda(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  return Event(event);
}

PinnedMemory make_pinned(std::size_t bytes) {
  void* memory = nullptr;
  check_cuda(cudaMallocHost(&memory, std::max<std::size_t>(bytes, 1)), "cudaMallocHost");
  return PinnedMemory(static_cast<unsigned char*>(memory));
}

Library load_library(const std::string& cubin) {
  cudaLibrary_t library = nullptr;
  check_cuda(cudaLibraryLoadData(&library, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
             "cudaLibraryLoadData");
  return Library(library);
}

const void* library_kernel(cudaLibrary_t library, const std::string& name) {
  cudaKernel_t kernel = nullptr;
  check_cuda(cudaLibraryGetKernel(&kernel, library, name.c_str()),
             "cudaLibraryGetKernel(" + name + ")");
  return reinterpret_cast<const void*>(kernel);
}

DeviceMemory allocate_zeroed(std::size_t bytes, cudaStream_t stream) {
  bytes = std::max<std::size_t>(bytes, 1);
  void* memory = nullptr;
  check_cuda(cudaMallocAsync(&memory, bytes, stream),
             "cudaMallocAsync(" + std::to_string(bytes) + " bytes)");
  DeviceMemory owned(memory, StreamFreer{stream});
  check_cuda(cudaMemsetAsync(memory, 0, bytes, stream), "cudaMemsetAsync");
  return owned;
}

}  // namespace descent::gpu
