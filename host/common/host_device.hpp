// DESCENT_HD marks a function that compiles for the host and, under nvcc or NVRTC, for the
// device too; the one definition that every header shared with emitted CUDA code uses
// (graph/scalar_math.hpp, optim/update_rules.hpp, codegen/launch.hpp). NVRTC receives this
// header as a named header (codegen/kernel_headers.hpp), so it must stay free of includes.
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DESCENT_HD __host__ __device__
#define DESCENT_DEVICE_CODE 1
#else
#define DESCENT_HD
#define DESCENT_DEVICE_CODE 0
#endif
