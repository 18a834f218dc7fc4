// The CPU backend: trains a Program on this machine's CPU, in double precision (the default) or in
// single precision (CpuBackendOptions::f32); see cpu_backend.cpp for how a batch is evaluated.
// With CpuMath::fast (the default, what training uses) its transcendental functions are
// vector_math.hpp's; with CpuMath::reference they are the Interpreter's, and in f64 every value it
// computes is the Interpreter's bit for bit.
#pragma once

#include <memory>

#include "backend/backend.hpp"
#include "cpu/interpreter.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent {

struct CpuBackendOptions {
  CpuMath math = CpuMath::fast;
  // Compute in float: the data set's rows are converted as a chunk loads them; the parameters
  // and optimizer state are held in float between load() and store(), and updated in float.
  bool f32 = false;
  // Threads that share a batch with enough work, each evaluating a range of its rows (see
  // cpu_backend.cpp); the results depend on the count, never on timing.
  int threads = 1;
};

// `plan` (plan_program(program)) must outlive the backend. The plan's batched products run
// through cpu/matrix_product.hpp; the Interpreter's bit-for-bit values need a fused plan and
// CpuMath::reference.
std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          const CpuBackendOptions& options);
// The f64 backend with `math`.
std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          CpuMath math = CpuMath::fast);

}  // namespace descent
