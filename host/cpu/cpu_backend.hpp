// The CPU backend: trains a Program in double precision on this machine's CPU (see
// cpu_backend.cpp for how a batch is evaluated). With CpuMath::fast (the default, what training
// uses) its transcendental functions are vector_math.hpp's; with CpuMath::reference they are
// the Interpreter's, and every value it computes is the Interpreter's bit for bit.
#pragma once

#include <memory>

#include "backend/backend.hpp"
#include "cpu/interpreter.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent {

struct CpuBackendOptions {
  CpuMath math = CpuMath::fast;
  bool f32 = false;  // compute in float (the data rows are rounded as a tile loads them)
  int threads = 1;   // threads of the batched products and of the rows of large batches
};

// `plan` (plan_program(program)) must outlive the backend. The plan's batched products run
// through cpu/matrix_product.hpp; the Interpreter's bit-for-bit values need a fused plan and
// CpuMath::reference.
std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          const CpuBackendOptions& options = {});

}  // namespace descent
