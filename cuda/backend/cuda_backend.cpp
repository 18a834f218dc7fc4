// make_cuda_backend (cuda/api/gpu_api.hpp): the CUDA training backend, put together from
//   the device       probe_devices, then the chosen device's name and compute capability;
//   the kernels      codegen::emit_program in the run's precision, compiled by compile_cuda for
//                    sm_<major><minor> with the embedded headers and --fmad=false (no a*b + c
//                    contracted into one rounding: the device adds and multiplies as the host
//                    executor and the CPU twin do), through the kernel cache;
//   the budget       ptxas' report (from the compile or the cache) against codegen's budget;
//   the backend      codegen::EmittedBackend over a CudaStepDevice (cuda_step_device.hpp).
// Does not: hold buffers or launch anything itself (EmittedBackend and the StepDevice do), or
// choose between the CPU and the GPU (the CLI's composition root does).
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codegen/emit.hpp"
#include "codegen/emitted_backend.hpp"
#include "codegen/kernel_headers.hpp"
#include "codegen/resources.hpp"
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"
#include "cuda/backend/cuda_step_device.hpp"
#include "cuda/runtime/cuda_handles.hpp"

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

CompiledKernel compile_program(const codegen::EmittedProgram& emitted, const std::string& name,
                               int arch, const std::string& cache_dir) {
  CompileOptions options;
  options.arch = arch;
  options.flags = {"--fmad=false"};
  for (const codegen::KernelHeader& h : codegen::kernel_headers())
    options.headers.push_back({h.name, h.text});
  options.cache_dir = cache_dir;
  const auto start = std::chrono::steady_clock::now();
  CompiledKernel compiled = compile_cuda(emitted.source(), name, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (compiled.from_cache)
    spdlog::debug("kernels '{}' for sm_{} from the cache ({:.3f} s): {}", name, arch, seconds,
                  compiled.cache_path);
  else
    spdlog::info("compiled the kernels '{}' for sm_{} in {:.2f} s{}", name, arch, seconds,
                 compiled.cache_path.empty() ? "" : " (cached in " + compiled.cache_path + ")");
  return compiled;
}

void log_resources(const std::vector<codegen::KernelResources>& report) {
  for (const codegen::KernelResources& k : report)
    spdlog::debug("kernel {}: {} registers, {} bytes stack, {} bytes spilled, {} bytes smem",
                  k.kernel, k.registers, k.stack_bytes, k.spill_store_bytes + k.spill_load_bytes,
                  k.shared_bytes);
}

template <class Real>
std::unique_ptr<Backend> emitted_backend(const Program& program, codegen::EmittedProgram emitted,
                                         const std::string& cubin, const std::string& name) {
  auto device = std::make_unique<CudaStepDevice<Real>>(name, cubin, emitted);
  return std::make_unique<codegen::EmittedBackend<Real>>(program, std::move(emitted),
                                                         std::move(device));
}

}  // namespace

std::unique_ptr<Backend> make_cuda_backend(const Program& program, const ProgramPlan& plan,
                                           const CudaBackendOptions& options) {
  const ChosenDevice device = choose_device(options.device);
  const std::string precision = options.f32 ? "f32" : "f64";

  codegen::EmitOptions emit;
  emit.name = codegen::c_identifier(options.name);
  emit.precision = options.f32 ? codegen::Precision::f32 : codegen::Precision::f64;
  codegen::EmittedProgram emitted = codegen::emit_program(program, plan, emit);

  const CompiledKernel compiled =
      compile_program(emitted, emit.name + "_" + precision + ".cu", device.arch, options.cache_dir);
  const std::vector<codegen::KernelResources> report = codegen::parse_ptxas_report(compiled.log);
  log_resources(report);
  codegen::check_resource_budget(report, codegen::ResourceBudget{}, program, emitted);

  const std::string name = "cuda (" + precision + ", " + device.name + ")";
  if (options.f32) return emitted_backend<float>(program, std::move(emitted), compiled.cubin, name);
  return emitted_backend<double>(program, std::move(emitted), compiled.cubin, name);
}

}  // namespace descent::gpu
