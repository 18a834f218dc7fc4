// compile_backend_kernels (see backend_kernels.hpp), with the compile logged: compiled (info,
// with the time) or read from the cache (debug), and every kernel's resources (debug).
#include "cuda/backend/backend_kernels.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <vector>

#include "codegen/kernel_headers.hpp"
#include "codegen/resources.hpp"

namespace descent::gpu {

CompiledKernel compile_backend_kernels(const Program& program,
                                       const codegen::EmittedProgram& emitted,
                                       const std::string& file_name, int arch,
                                       const std::string& cache_dir) {
  CompileOptions options;
  options.arch = arch;
  options.flags = {"--fmad=false"};
  for (const codegen::KernelHeader& h : codegen::kernel_headers())
    options.headers.push_back({h.name, h.text});
  options.cache_dir = cache_dir;
  const auto start = std::chrono::steady_clock::now();
  CompiledKernel compiled = compile_cuda(emitted.source(), file_name, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (compiled.from_cache)
    spdlog::debug("kernels '{}' for sm_{} from the cache ({:.3f} s): {}", file_name, arch, seconds,
                  compiled.cache_path);
  else
    spdlog::info("compiled the kernels '{}' for sm_{} in {:.2f} s{}", file_name, arch, seconds,
                 compiled.cache_path.empty() ? "" : " (cached in " + compiled.cache_path + ")");

  const std::vector<codegen::KernelResources> report = codegen::parse_ptxas_report(compiled.log);
  for (const codegen::KernelResources& k : report)
    spdlog::debug("kernel {}: {} registers, {} bytes stack, {} bytes spilled, {} bytes smem",
                  k.kernel, k.registers, k.stack_bytes, k.spill_store_bytes + k.spill_load_bytes,
                  k.shared_bytes);
  codegen::check_resource_budget(report, codegen::ResourceBudget{}, program, emitted);
  return compiled;
}

}  // namespace descent::gpu
