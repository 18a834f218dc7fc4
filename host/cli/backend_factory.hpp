// The composition root's one backend factory (DESIGN §2): which device and precision a command
// runs on, and the backend for them. --device auto takes the GPU when one answers and says once
// which device runs and why; the precision is the config's train.precision unless --precision
// overrides it, and "auto" is f32 on the GPU and f64 on the CPU.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.hpp"
#include "cli/experiment_setup.hpp"

namespace descent::cli {

struct BackendChoice {
  std::string device;          // "cpu" or "gpu"
  std::string precision;       // "f32" or "f64"
  std::string why;             // one line for the log: which device and why
  bool automatic = false;      // --device auto: a program the GPU refuses may run on the CPU
  bool precision_set = false;  // the precision was asked for, not "auto"
  int threads = 1;             // the CPU backend's threads (train.threads resolved)
};

// train.threads resolved: the configured count, or (0) the machine's cores, at most kMaxThreads.
int resolve_threads(long configured);

// `device`: auto | cpu | gpu; `precision`: "" (the config's), auto, f32, f64. --device gpu with no
// GPU answering is Error(ExitCode::no_device). Both devices run either precision.
BackendChoice choose_backend(const std::string& device, const std::string& precision,
                             RunPrecision configured);

// The backend of `choice` for the experiment (the GPU's kernels are compiled here, cached). With
// --device auto and an automatic precision, a program that the GPU backend refuses as too wide
// for its kernels trains on the CPU instead, and `choice` says so.
std::unique_ptr<Backend> make_backend(BackendChoice& choice, const Experiment& e);

}  // namespace descent::cli
