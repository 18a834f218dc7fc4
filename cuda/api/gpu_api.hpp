// The pure C++ face of the CUDA backend (DESIGN §2): the only header under cuda/ that the
// composition root (host/cli) includes. Built without CUDA, cuda/api/gpu_stub.cpp satisfies
// it and reports that no GPU backend is present.
#pragma once

#include <string>
#include <vector>

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
struct CompileOptions {
  int arch = 90;                   // compute capability: sm_<arch> (90: H100/H200)
  std::vector<std::string> flags;  // extra NVRTC options, e.g. "-DDESCENT_REAL=float"
  std::string cache_dir;           // where compiled kernels are kept; empty: no cache
};

struct CompiledKernel {
  std::string cubin;       // the device binary (an ELF image) for sm_<arch>
  std::string log;         // NVRTC's log (warnings), possibly empty
  std::string cache_path;  // the cached cubin's path; empty without a cache
  bool from_cache = false;
};

// Compiles `source` (named `name` in messages, e.g. "logistic_step.cu") for sm_<arch>. With a
// cache_dir, the cubin is kept there under a hash of (source, name, options, architecture,
// NVRTC version), with the source beside it as <hash>.cu for debugging, and a later call with
// the same inputs reads it back instead of compiling. Throws Error(ExitCode::failure) with
// NVRTC's log when the source does not compile, and Error(ExitCode::no_device) in a build
// without CUDA. A cache that cannot be written costs only the reuse, never the result.
CompiledKernel compile_cuda(const std::string& source, const std::string& name,
                            const CompileOptions& options);

// One evaluation of an emitted program (host/codegen/emit.hpp) on the first device: the
// validation harness of the emitter, before a training backend exists. The arrays are in the
// emitted functions' argument order; values travel as double and are converted to the
// program's precision on the way in and back.
struct EmittedRun {
  std::string source;              // EmittedProgram::source()
  std::string name;                // EmitRequest::name
  bool f32 = false;                // the program's Real is float
  std::vector<std::string> flags;  // NVRTC options, e.g. -I<host> for graph/scalar_math.hpp
  long long uniforms = 0, totals = 0;
  long long rows = 0;                       // samples (fit) or starts (minimize)
  std::vector<std::vector<double>> inputs;  // each a whole split, rows x size
  std::vector<std::vector<double>> params;  // each one copy, or one row per start
  std::vector<long long> output_sizes;      // values per output (per sample if per-sample)
  std::vector<bool> output_per_sample;
};

// Compiles for the device's architecture (through compile_cuda, no cache), runs the four
// kernels once over all rows, and returns every output. Throws Error(ExitCode::no_device)
// when no device answers, Error(ExitCode::failure) on a CUDA error (naming the call).
std::vector<std::vector<double>> run_emitted_program(const EmittedRun& run);

// "major.minor" of the NVRTC this binary uses; "" in a build without CUDA.
std::string nvrtc_version();

// $DESCENT_CACHE_DIR, else $XDG_CACHE_HOME/descent/kernels, else $HOME/.cache/descent/kernels.
std::string default_kernel_cache_dir();

}  // namespace descent::gpu
