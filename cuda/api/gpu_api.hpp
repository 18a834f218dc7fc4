// The pure C++ face of the CUDA backend (DESIGN §2): the only header under cuda/ that the
// composition root (host/cli) includes. Built without CUDA, cuda/api/gpu_stub.cpp satisfies
// it and reports that no GPU backend is present.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

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

// Run-time compilation of emitted CUDA C++ (NVRTC), which needs no GPU and no driver: a
// machine without a GPU compiles kernels too, which is how the tests check emitted code.
// A header the source includes by `name`, handed to NVRTC with its text (no file is read).
struct NamedHeader {
  std::string name;
  std::string text;
};

struct CompileOptions {
  int arch = 90;                     // compute capability: sm_<arch> (90: H100/H200)
  std::vector<std::string> flags;    // extra NVRTC options, e.g. "--fmad=false"
  std::vector<NamedHeader> headers;  // part of the cache key
  std::string cache_dir;             // where compiled kernels are kept; empty: no cache
};

struct CompiledKernel {
  std::string cubin;       // the device binary (an ELF image) for sm_<arch>
  std::string log;         // NVRTC's log, with ptxas' resource report of every kernel
                           // ("ptxas info ... Used N registers"; kept in the cache too)
  std::string cache_path;  // the cached cubin's path; empty without a cache
  bool from_cache = false;
};

// Compiles `source` (named `name` in messages, e.g. "logistic_step.cu") for sm_<arch>, always
// with ptxas' verbose resource report in the log. With a cache_dir, the cubin is kept there
// under a hash of (source, headers, name, options, architecture, NVRTC version), with the source
// beside it as <hash>.cu for debugging and the log as <hash>.log, and a later call with the same
// inputs reads them back instead of compiling. Throws Error(ExitCode::failure) with
// NVRTC's log when the source does not compile, and Error(ExitCode::no_device) in a build
// without CUDA. A cache that cannot be written costs only the reuse, never the result.
CompiledKernel compile_cuda(const std::string& source, const std::string& name,
                            const CompileOptions& options);

// "major.minor" of the NVRTC this binary uses; "" in a build without CUDA.
std::string nvrtc_version();

// $DESCENT_CACHE_DIR, else $XDG_CACHE_HOME/descent/kernels, else $HOME/.cache/descent/kernels.
std::string default_kernel_cache_dir();

// The CUDA training backend (cuda/backend): the Program's emitted kernels (codegen/emit.hpp),
// compiled by NVRTC for the device's architecture (kernel cache in cache_dir), checked against
// the resource budget (codegen/resources.hpp), and run by codegen/emitted_backend.hpp on the
// device. Throws Error(ExitCode::no_device) when no device answers or in a build without CUDA,
// and Error(ExitCode::bad_input) naming the parameter when the program is over budget.
struct CudaBackendOptions {
  bool f32 = true;        // the run's precision: f32 (the GPU's default) or f64
  std::string name;       // the experiment's name: the kernels' prefix and the sources' names
  std::string cache_dir;  // the kernel cache; empty: none
  int device = 0;
  // Values of the data set the backend will be handed (both splits, every input), for the
  // device memory estimate: a run that cannot fit the device's free memory is refused
  // (ExitCode::bad_input) with the estimate before anything is allocated.
  std::int64_t data_values = 0;
  // The most rows one step or evaluation will take (the batch size, or a whole split), for the
  // same estimate: a batched plan keeps its per-row values for every row of a batch.
  std::int64_t batch_rows = 0;
};
std::unique_ptr<Backend> make_cuda_backend(const Program& program, const ProgramPlan& plan,
                                           const CudaBackendOptions& options);

// The kernels that make_cuda_backend would run, compiled the same way for sm_<arch> and held to
// the same resource budget, with no device needed (the tests check every example config so on
// machines without a GPU). Returns NVRTC's log with ptxas' report. Throws as make_cuda_backend
// does (bad_input over budget), and Error(ExitCode::no_device) in a build without CUDA.
std::string check_backend_kernels(const Program& program, const ProgramPlan& plan,
                                  const CudaBackendOptions& options, int arch);

}  // namespace descent::gpu
