// Where compiled kernels are cached by default (the same with or without CUDA).
#include <cstdlib>
#include <string>

#include "cuda/api/gpu_api.hpp"

namespace descent::gpu {

std::string default_kernel_cache_dir() {
  const auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  if (const std::string dir = env("DESCENT_CACHE_DIR"); !dir.empty()) return dir;
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return xdg + "/descent/kernels";
  if (const std::string home = env("HOME"); !home.empty()) return home + "/.cache/descent/kernels";
  return "";
}

}  // namespace descent::gpu
