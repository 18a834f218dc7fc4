// The kernels of an emitted program (codegen/emit.hpp) as the CUDA backend compiles them: NVRTC
// for sm_<arch> with the embedded headers (codegen/kernel_headers.hpp) and --fmad=false (no
// a*b + c contracted into one rounding: the device adds and multiplies as the host executor and
// the CPU twin do), through the kernel cache, then held to codegen's resource budget. Needs no
// device, so the tests run it on machines without one, on every example config.
// Does not: load or launch the cubin (cuda_step_device.hpp).
#pragma once

#include <string>

#include "codegen/emit.hpp"
#include "cuda/api/gpu_api.hpp"
#include "program/program.hpp"

namespace descent::gpu {

// `file_name` names the source in NVRTC's messages and the cache, e.g. "logistic_f32.cu".
// Throws Error(ExitCode::bad_input) naming the widest parameter when a kernel is over budget,
// and Error(ExitCode::failure) with NVRTC's log when the source does not compile.
CompiledKernel compile_backend_kernels(const Program& program,
                                       const codegen::EmittedProgram& emitted,
                                       const std::string& file_name, int arch,
                                       const std::string& cache_dir);

}  // namespace descent::gpu
