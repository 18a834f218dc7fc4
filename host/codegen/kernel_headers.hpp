// The headers that emitted source includes (codegen/emit.hpp), embedded in the binary at build
// time (cmake/embed_headers.cmake), so that NVRTC compiles emitted kernels from any working
// directory, with no source tree: each is handed to NVRTC as a named header, and its text is
// part of the kernel cache's key, so that an edited header never returns a stale kernel.
#pragma once

#include <span>

namespace descent::codegen {

struct KernelHeader {
  const char* name;  // as emitted source includes it, e.g. "graph/scalar_math.hpp"
  const char* text;
};

std::span<const KernelHeader> kernel_headers();

}  // namespace descent::codegen
