// run_emitted_program: compiles an emitted program with NVRTC for the first device, loads the
// cubin with the runtime's library API (cudaLibraryLoadData / cudaLibraryGetKernel; no driver
// API), and launches its four kernels once (DESIGN §5):
//   <name>_first_kernel   <<<1, 1>>>          phase 1 into U
//   <name>_sample_kernel  <<<blocks, 256>>>   every row, per-block partial totals
//   <name>_reduce_kernel  <<<1, 256>>>        partials summed in block order into T
//   <name>_last_kernel    <<<1, 1>>>          phase 3 into the outputs
// Device memory is owned by RAII holders; every CUDA call is checked and named in the error.
// This is the emitter's validation harness, not the training backend: it allocates per call
// and keeps nothing between calls.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/gpu_api.hpp"
#include "common/error.hpp"

namespace descent::gpu {

namespace {

void check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess)
    throw Error(ExitCode::failure, what + " failed: " + cudaGetErrorString(status));
}

// A device allocation, freed on scope exit.
class DeviceBuffer {
 public:
  explicit DeviceBuffer(std::size_t bytes) {
    check(cudaMalloc(&ptr_, std::max<std::size_t>(bytes, 8)), "cudaMalloc");
  }
  ~DeviceBuffer() { cudaFree(ptr_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* get() const { return ptr_; }

 private:
  void* ptr_ = nullptr;
};

class Library {
 public:
  explicit Library(const std::string& cubin) {
    check(cudaLibraryLoadData(&library_, cubin.data(), nullptr, nullptr, 0, nullptr, nullptr, 0),
          "cudaLibraryLoadData");
  }
  ~Library() { cudaLibraryUnload(library_); }
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;
  const void* kernel(const std::string& name) const {
    cudaKernel_t k = nullptr;
    check(cudaLibraryGetKernel(&k, library_, name.c_str()), "cudaLibraryGetKernel(" + name + ")");
    return reinterpret_cast<const void*>(k);
  }

 private:
  cudaLibrary_t library_ = nullptr;
};

// Values in the program's precision, as bytes.
std::string to_real(const std::vector<double>& values, bool f32) {
  std::string bytes(values.size() * (f32 ? sizeof(float) : sizeof(double)), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (f32) {
      const float v = static_cast<float>(values[i]);
      std::memcpy(bytes.data() + i * sizeof v, &v, sizeof v);
    } else {
      std::memcpy(bytes.data() + i * sizeof(double), &values[i], sizeof(double));
    }
  }
  return bytes;
}

std::vector<double> from_real(const std::string& bytes, bool f32) {
  const std::size_t size = f32 ? sizeof(float) : sizeof(double);
  std::vector<double> values(bytes.size() / size);
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (f32) {
      float v;
      std::memcpy(&v, bytes.data() + i * size, size);
      values[i] = v;
    } else {
      std::memcpy(&values[i], bytes.data() + i * size, size);
    }
  }
  return values;
}

// Uploads each array and then the table of their device pointers (the `const Real* const*`
// arguments of the kernels).
class PointerTable {
 public:
  PointerTable(const std::vector<std::string>& arrays) {
    std::vector<void*> pointers;
    for (const std::string& bytes : arrays) {
      buffers_.push_back(std::make_unique<DeviceBuffer>(bytes.size()));
      check(cudaMemcpy(buffers_.back()->get(), bytes.data(), bytes.size(), cudaMemcpyHostToDevice),
            "cudaMemcpy (to the device)");
      pointers.push_back(buffers_.back()->get());
    }
    table_ = std::make_unique<DeviceBuffer>(pointers.size() * sizeof(void*));
    check(cudaMemcpy(table_->get(), pointers.data(), pointers.size() * sizeof(void*),
                     cudaMemcpyHostToDevice),
          "cudaMemcpy (pointer table)");
  }
  void* table() const { return table_->get(); }
  void* array(std::size_t k) const { return buffers_[k]->get(); }

 private:
  std::vector<std::unique_ptr<DeviceBuffer>> buffers_;
  std::unique_ptr<DeviceBuffer> table_;
};

}  // namespace

std::vector<std::vector<double>> run_emitted_program(const EmittedRun& run) {
  const DeviceProbe probe = probe_devices();
  if (!probe.available) throw Error(ExitCode::no_device, probe.reason);
  cudaDeviceProp props{};
  check(cudaGetDeviceProperties(&props, 0), "cudaGetDeviceProperties");
  CompileOptions options;
  options.arch = props.major * 10 + props.minor;
  options.flags = run.flags;
  const CompiledKernel compiled = compile_cuda(run.source, run.name + ".cu", options);
  const Library library(compiled.cubin);

  const std::size_t real = run.f32 ? sizeof(float) : sizeof(double);
  std::vector<std::string> input_bytes, param_bytes, output_bytes;
  for (const std::vector<double>& v : run.inputs) input_bytes.push_back(to_real(v, run.f32));
  for (const std::vector<double>& v : run.params) param_bytes.push_back(to_real(v, run.f32));
  for (std::size_t j = 0; j < run.output_sizes.size(); ++j)
    output_bytes.emplace_back(
        static_cast<std::size_t>(run.output_sizes[j] * (run.output_per_sample[j] ? run.rows : 1)) *
            real,
        '\0');
  const PointerTable inputs(input_bytes), params(param_bytes), outputs(output_bytes);

  constexpr int kBlock = 256;  // the emitted kernels' block size
  const int blocks = static_cast<int>(
      std::clamp<long long>((run.rows + kBlock - 1) / kBlock, 1, 4LL * props.multiProcessorCount));
  const DeviceBuffer uniforms(static_cast<std::size_t>(run.uniforms) * real);
  const DeviceBuffer totals(static_cast<std::size_t>(run.totals) * real);
  const DeviceBuffer partials(static_cast<std::size_t>(run.totals * blocks) * real);

  // Scalars in the program's precision, passed by address as cudaLaunchKernel wants.
  const double batch_size_d = static_cast<double>(run.rows);
  const float batch_size_f = static_cast<float>(run.rows);
  const void* batch_size = run.f32 ? static_cast<const void*>(&batch_size_f) : &batch_size_d;
  long long rows = run.rows;
  int block_count = blocks;
  void* params_table = params.table();
  void* inputs_table = inputs.table();
  void* outputs_table = outputs.table();
  void* u = uniforms.get();
  void* t = totals.get();
  void* p = partials.get();
  const long long* no_index = nullptr;

  const auto launch = [&](const std::string& kernel, int grid, int block, std::vector<void*> args) {
    check(cudaLaunchKernel(library.kernel(run.name + "_" + kernel), dim3(grid), dim3(block),
                           args.data(), 0, nullptr),
          "cudaLaunchKernel(" + kernel + ")");
  };
  launch("first_kernel", 1, 1, {&params_table, const_cast<void*>(batch_size), &u});
  launch("sample_kernel", blocks, kBlock,
         {&rows, &inputs_table, &no_index, &params_table, &u, const_cast<void*>(batch_size), &p,
          &outputs_table});
  launch("reduce_kernel", 1, kBlock, {&p, &block_count, const_cast<void*>(batch_size), &t});
  launch("last_kernel", 1, 1,
         {&params_table, &u, &t, const_cast<void*>(batch_size), &outputs_table});
  check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");

  std::vector<std::vector<double>> out;
  for (std::size_t j = 0; j < output_bytes.size(); ++j) {
    std::string bytes(output_bytes[j].size(), '\0');
    check(cudaMemcpy(bytes.data(), outputs.array(j), bytes.size(), cudaMemcpyDeviceToHost),
          "cudaMemcpy (from the device)");
    out.push_back(from_real(bytes, run.f32));
  }
  return out;
}

}  // namespace descent::gpu
