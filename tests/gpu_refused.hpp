// The example configs that the GPU refuses (tests/gpu_refused_configs.txt), and the refusal
// they must get: an input error (exit code 2) at the parameter in the config, that names a
// kernel over the resource budget and the parameter with its shape. Used by the budget tests
// (codegen_emit_test.cpp, cuda_backend_test.cpp's NVRTC-only test) and by the GPU tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "test_support.hpp"

namespace descent::test {

struct GpuRefusal {
  std::string parameter;  // "W1"
  std::string shape;      // "(32, 64)"
};

// Config file name ("digits.toml") → the refusal its kernels get.
inline std::map<std::string, GpuRefusal> gpu_refused_configs() {
  std::map<std::string, GpuRefusal> refused;
  std::istringstream in(read_file(kSourceDir / "tests" / "gpu_refused_configs.txt"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string config;
    GpuRefusal r;
    fields >> config >> r.parameter;
    std::getline(fields >> std::ws, r.shape);
    refused[config] = r;
  }
  return refused;
}

// The refusal that `config` must get from the budget check.
inline void expect_gpu_refusal(const Error& error, const fs::path& config, const GpuRefusal& r) {
  EXPECT_EQ(error.code(), ExitCode::bad_input) << error.render();
  EXPECT_NE(error.message().find("the GPU kernel '"), std::string::npos) << error.message();
  EXPECT_NE(
      error.message().find("the widest parameter, '" + r.parameter + "' (shape " + r.shape + ")"),
      std::string::npos)
      << error.message();
  // At the parameter's line in the config.
  EXPECT_EQ(error.render().rfind(config.string() + ":", 0), 0u) << error.render();
  EXPECT_NE(error.render().find("  " + r.parameter + " = "), std::string::npos) << error.render();
}

}  // namespace descent::test
