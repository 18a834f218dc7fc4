// The emitted programs of the example configs, compiled as host C++ into the test binary: the
// build runs tests/codegen/emit_host_programs.cpp over configs/*.toml (see tests/CMakeLists.txt)
// and codegen_emit_test.cpp evaluates them against the Interpreter.
#pragma once

namespace descent::test {

struct EmittedHostProgram {
  const char* config;  // file name under configs/
  long long uniforms;  // size of U
  long long totals;    // size of acc and T
  void (*uniform_first)(const double* const* params, double batch_size, double* U);
  void (*sample)(long long r, const double* const* inputs, const long long* index,
                 const double* const* params, const double* U, double batch_size, double* acc,
                 double* const* outputs);
  double (*finish_total)(long long k, double sum, double rows);
  void (*uniform_last)(const double* const* params, const double* U, const double* T,
                       double batch_size, double* const* outputs);
};

extern const EmittedHostProgram kEmittedHostPrograms[];
extern const int kEmittedHostProgramCount;

}  // namespace descent::test
