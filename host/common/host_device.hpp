// DESCENT_HD marks a function that compiles for the host and, under nvcc or NVRTC, for the
// device too; the one definition that every header shared with emitted CUDA code uses
// (graph/scalar_math.hpp, optim/update_rules.hpp, codegen/launch.hpp). NVRTC receives this
// header as a named header (codegen/kernel_headers.hpp), so it must stay free of includes.
// DESCENT_ROLLED before a loop keeps the device compiler from unrolling it (emitted code: a
// sample's loop over a wide total would otherwise keep every element live in registers).
#pragma once

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DESCENT_HD __host__ __device__
#define DESCENT_DEVICE_CODE 1
#define DESCENT_ROLLED _Pragma("unroll 1")
#else
#define DESCENT_HD
#define DESCENT_DEVICE_CODE 0
#define DESCENT_ROLLED
#endif
