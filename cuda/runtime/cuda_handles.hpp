// Owners of CUDA runtime resources (STYLE habit 6: no error path frees by hand): a stream, an
// event, pinned host memory, a library of kernels loaded from a cubin, and device memory from
// the stream-ordered allocator; and check_cuda, which turns a runtime error into a
// descent::Error that names the call ("cudaMallocAsync failed: out of memory").
//
// Runtime API only (no driver API), so that the static runtime keeps the binary starting on
// machines without a driver. Does not: decide what to allocate, copy or launch (cuda/backend).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>

namespace descent::gpu {

// Throws Error(ExitCode::failure, "<call> failed: <cudaGetErrorString>") unless cudaSuccess.
void check_cuda(cudaError_t status, const std::string& call);

struct StreamDestroyer {
  void operator()(cudaStream_t stream) const noexcept { cudaStreamDestroy(stream); }
};
using Stream = std::unique_ptr<std::remove_pointer_t<cudaStream_t>, StreamDestroyer>;
// A stream that does not synchronize with the legacy default stream.
Stream make_stream();

struct EventDestroyer {
  void operator()(cudaEvent_t event) const noexcept { cudaEventDestroy(event); }
};
using Event = std::unique_ptr<std::remove_pointer_t<cudaEvent_t>, EventDestroyer>;
// An event without timing (the cheapest kind), for ordering the host after a stream's work.
Event make_event();

struct PinnedFreer {
  void operator()(void* memory) const noexcept { cudaFreeHost(memory); }
};
using PinnedMemory = std::unique_ptr<unsigned char, PinnedFreer>;
PinnedMemory make_pinned(std::size_t bytes);

struct LibraryUnloader {
  void operator()(cudaLibrary_t library) const noexcept { cudaLibraryUnload(library); }
};
using Library = std::unique_ptr<std::remove_pointer_t<cudaLibrary_t>, LibraryUnloader>;
// Loads a cubin (an ELF image for this device's architecture) into the current device.
Library load_library(const std::string& cubin);
// The entry function `name` of `library`, as cudaLaunchKernel takes it (a cudaKernel_t is
// accepted in place of a function symbol).
const void* library_kernel(cudaLibrary_t library, const std::string& name);

// Device memory from cudaMallocAsync, returned to the pool on `stream` (ordered after the work
// issued before it).
struct StreamFreer {
  cudaStream_t stream = nullptr;
  void operator()(void* memory) const noexcept { cudaFreeAsync(memory, stream); }
};
using DeviceMemory = std::unique_ptr<void, StreamFreer>;
// `bytes` (at least 1) of zero-filled device memory, ordered on `stream`.
DeviceMemory allocate_zeroed(std::size_t bytes, cudaStream_t stream);

}  // namespace descent::gpu
