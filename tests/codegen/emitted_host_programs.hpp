// The emitted programs of the example configs and of the test configs, compiled as host C++ into
// the test binary, in f32 and f64: the build runs tests/codegen/emit_host_programs.cpp over
// configs/*.toml and tests/configs/*.toml (see tests/CMakeLists.txt);
// codegen_host_executor_test.cpp runs them through the host executor. A config whose own plan
// is fused but that has products a batched plan would batch is emitted with both plans.
#pragma once

#include "codegen/emit.hpp"
#include "codegen/host_step_device.hpp"

namespace descent::test {

struct EmittedHostProgram {
  const char* config;  // the config's path relative to the source folder, e.g. configs/mlp.toml
  const char* plan;    // "auto" (the config's own) or "batched" (train.plan=batched)
  codegen::Precision precision;
  const char* name;                                 // EmitOptions::name it was emitted with
  const char* body;                                 // EmittedProgram::body, as compiled here
  codegen::HostKernels<float> f32_step, f32_eval;   // set in f32
  codegen::HostKernels<double> f64_step, f64_eval;  // set in f64
};

extern const EmittedHostProgram kEmittedHostPrograms[];
extern const int kEmittedHostProgramCount;

}  // namespace descent::test
