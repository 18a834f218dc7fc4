// Choosing and making the backend (see backend_factory.hpp).
#include "cli/backend_factory.hpp"

#include <algorithm>
#include <thread>

#include "common/error.hpp"
#include "config/limits.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/api/gpu_api.hpp"

namespace descent::cli {

namespace {

RunPrecision effective(const std::string& flag, RunPrecision configured) {
  if (flag.empty()) return configured;
  for (std::size_t i = 0; i < std::size(kRunPrecisionNames); ++i)
    if (kRunPrecisionNames[i] == flag) return static_cast<RunPrecision>(i);
  throw input_error("--precision must be auto, f32 or f64, not '" + flag + "'");
}

// The CPU backend in the chosen precision, with the chosen threads.
std::unique_ptr<Backend> make_cpu(const BackendChoice& choice, const Experiment& e) {
  CpuBackendOptions options;
  options.f32 = choice.precision == "f32";
  options.threads = choice.threads;
  return make_cpu_backend(*e.program, e.plan, options);
}

}  // namespace

int resolve_threads(long configured) {
  if (configured > 0) return static_cast<int>(std::min<long>(configured, kMaxThreads));
  const auto cores = static_cast<long>(std::thread::hardware_concurrency());
  return static_cast<int>(std::clamp<long>(cores, 1, kMaxThreads));
}

BackendChoice choose_backend(const std::string& device, const std::string& precision,
                             RunPrecision configured) {
  BackendChoice choice;
  choice.automatic = device == "auto";
  if (device == "cpu") {
    choice.device = "cpu";
    choice.why = "cpu (as asked)";
  } else {
    const gpu::DeviceProbe probe = gpu::probe_devices();
    if (probe.available) {
      choice.device = "gpu";
      choice.why = "gpu: " + probe.name;
    } else if (device == "gpu") {
      throw Error(ExitCode::no_device, "--device gpu: " + probe.reason);
    } else {
      choice.device = "cpu";
      choice.why = "cpu (" + probe.reason + ")";
    }
  }
  const RunPrecision p = effective(precision, configured);
  choice.precision_set = p != RunPrecision::automatic;
  if (p == RunPrecision::automatic)
    choice.precision = choice.device == "gpu" ? "f32" : "f64";
  else
    choice.precision = p == RunPrecision::f32 ? "f32" : "f64";
  return choice;
}

std::unique_ptr<Backend> make_backend(BackendChoice& choice, const Experiment& e) {
  choice.threads = resolve_threads(e.config.train.threads);
  if (choice.device == "cpu") return make_cpu(choice, e);
  gpu::CudaBackendOptions options;
  options.f32 = choice.precision == "f32";
  options.name = e.config.name;
  options.cache_dir = gpu::default_kernel_cache_dir();
  if (e.dataset) {
    for (const DatasetInput& in : e.dataset->inputs)
      options.data_values += (e.dataset->train_rows + e.dataset->validation_rows) * in.shape.size();
    const std::int64_t batch = e.config.train.batch_size;
    options.batch_rows =
        std::max(batch > 0 ? std::min(batch, e.dataset->train_rows) : e.dataset->train_rows,
                 e.dataset->validation_rows);
  } else {
    options.batch_rows = e.program->starts;
  }
  try {
    return gpu::make_cuda_backend(*e.program, e.plan, options);
  } catch (const Error& error) {
    if (!choice.automatic || choice.precision_set || error.code() != ExitCode::bad_input) throw;
    choice.device = "cpu";
    choice.precision = "f64";
    choice.why = "cpu (the GPU backend refused the program: " + error.message() + ")";
    return make_cpu(choice, e);
  }
}

}  // namespace descent::cli
