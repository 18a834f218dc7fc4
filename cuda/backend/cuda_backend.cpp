// make_cuda_backend (cuda/api/gpu_api.hpp): the CUDA training backend, put together from
//   the device    probe_devices, then the chosen device's name and compute capability;
//   the kernels   codegen::emit_program in the run's precision, compiled for sm_<major><minor>
//                 and held to the resource budget (backend_kernels.hpp);
//   the backend   codegen::EmittedBackend over a CudaStepDevice (cuda_step_device.hpp).
// Does not: hold buffers or launch anything itself (EmittedBackend and the StepDevice do), or
// choose between the CPU and the GPU (the CLI's composition root does).
#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "codegen/emit.hpp"
#include "codegen/emitted_backend.hpp"
#include "codegen/launch.hpp"
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"
#include "cuda/backend/backend_kernels.hpp"
#include "cuda/backend/cuda_step_device.hpp"
#include "cuda/runtime/blas.hpp"
#include "cuda/runtime/cuda_handles.hpp"
#include "program/bounds.hpp"

namespace descent::gpu {

namespace {

struct ChosenDevice {
  std::string name;
  int arch = 0;  // 10 * major + minor
};

// Makes `index` the current device and reads what the kernels are compiled for.
ChosenDevice choose_device(int index) {
  const DeviceProbe probe = probe_devices();
  if (!probe.available) throw Error(ExitCode::no_device, probe.reason);
  if (index < 0 || index >= probe.device_count)
    throw Error(ExitCode::no_device, "there is no CUDA device " + std::to_string(index) +
                                         ": the runtime found " +
                                         std::to_string(probe.device_count));
  check_cuda(cudaSetDevice(index), "cudaSetDevice");
  cudaDeviceProp props{};
  check_cuda(cudaGetDeviceProperties(&props, index), "cudaGetDeviceProperties");
  return {props.name, props.major * 10 + props.minor};
}

// The program emitted in the run's precision and compiled for sm_<arch>, within the budget.
struct BackendKernels {
  codegen::EmittedProgram emitted;
  CompiledKernel compiled;
};

BackendKernels backend_kernels(const Program& program, const ProgramPlan& plan,
                               const CudaBackendOptions& options, int arch) {
  codegen::EmitOptions emit;
  emit.name = codegen::c_identifier(options.name);
  emit.precision = options.f32 ? codegen::Precision::f32 : codegen::Precision::f64;
  BackendKernels out{codegen::emit_program(program, plan, emit), {}};
  out.compiled = compile_backend_kernels(program, out.emitted,
                                         emit.name + (options.f32 ? "_f32.cu" : "_f64.cu"), arch,
                                         options.cache_dir);
  return out;
}

// The device memory a run needs, against what the device has free: the data set and the epoch
// order, every parameter with its gradient, two optimizer state arrays and (bounded runs) two
// bounds arrays, the constants, the blocks' partial totals, in the run's precision; and for a
// batched plan its per-row values over the largest batch and cuBLAS's workspace.
void check_device_memory(const Program& program, const codegen::EmittedProgram& emitted,
                         const CudaBackendOptions& options, const std::string& device) {
  std::size_t free = 0, total = 0;
  check_cuda(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  const double real = options.f32 ? 4.0 : 8.0;
  const double data = real * static_cast<double>(options.data_values);
  const double params =
      (has_bounds(program) ? 6 : 4) * real * static_cast<double>(emitted.param_values) +
      real * static_cast<double>(emitted.constant_values);
  const double partials =
      real * static_cast<double>(launch::kMaxRowBlocks) *
      static_cast<double>(std::max(emitted.step.totals, emitted.evaluation.totals));
  const double rows =
      real * static_cast<double>(std::max(emitted.step.row_values, emitted.evaluation.row_values)) *
      static_cast<double>(options.batch_rows);
  const double blas = emitted.step.batched || emitted.evaluation.batched
                          ? static_cast<double>(kBlasWorkspaceBytes)
                          : 0.0;
  const double needed = data + params + partials + rows + blas;
  if (needed <= 0.9 * static_cast<double>(free)) return;
  const auto gb = [](double bytes) { return std::to_string(bytes / 1e9).substr(0, 5) + " GB"; };
  throw Error(ExitCode::bad_input,
              "this run needs about " + gb(needed) + " of device memory (data set " + gb(data) +
                  ", parameters with gradients and optimizer state " + gb(params) +
                  (rows > 0 ? ", a batch's per-row values " + gb(rows) : std::string()) +
                  "), more than the " + gb(0.9 * static_cast<double>(free)) + " free on " + device,
              program.params.empty() ? Span{} : program.params.front().spec->where);
}

template <class Real>
std::unique_ptr<Backend> emitted_backend(const Program& program, BackendKernels kernels,
                                         const std::string& name) {
  auto device =
      std::make_unique<CudaStepDevice<Real>>(name, kernels.compiled.cubin, kernels.emitted);
  return std::make_unique<codegen::EmittedBackend<Real>>(program, std::move(kernels.emitted),
                                                         std::move(device));
}

}  // namespace

std::string check_backend_kernels(const Program& program, const ProgramPlan& plan,
                                  const CudaBackendOptions& options, int arch) {
  return backend_kernels(program, plan, options, arch).compiled.log;
}

std::unique_ptr<Backend> make_cuda_backend(const Program& program, const ProgramPlan& plan,
                                           const CudaBackendOptions& options) {
  const ChosenDevice device = choose_device(options.device);
  BackendKernels kernels = backend_kernels(program, plan, options, device.arch);
  check_device_memory(program, kernels.emitted, options, device.name);
  const std::string name =
      std::string("cuda (") + (options.f32 ? "f32" : "f64") + ", " + device.name + ")";
  if (options.f32) return emitted_backend<float>(program, std::move(kernels), name);
  return emitted_backend<double>(program, std::move(kernels), name);
}

}  // namespace descent::gpu
