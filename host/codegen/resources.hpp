// The resource budget of emitted kernels (DESIGN §5): what ptxas reports for every kernel of a
// compiled program (registers, stack frame, spills, shared memory), and the check that refuses a
// program over budget with a message that names the parameter that made it too wide, instead of
// running it slowly in silence.
//
// The budget: no spills, and no stack frame beyond kMaxStackBytes (a per-sample value that does
// not fit the registers would live in local memory, read and written for every row; the small
// frame allowed is what CUDA's sin, cos and tan keep for reducing huge arguments, touched only
// on that slow path), and at most kMaxRegisters registers a thread (so that a 256-thread block
// leaves room for at least two blocks an SM: 65536 / (2 * 256) = 128).
#pragma once

#include <string>
#include <vector>

#include "codegen/emit.hpp"
#include "program/program.hpp"

namespace descent::codegen {

struct KernelResources {
  std::string kernel;
  int registers = 0;
  long stack_bytes = 0;
  long spill_store_bytes = 0;
  long spill_load_bytes = 0;
  long shared_bytes = 0;
};

// Every entry function's line of ptxas' verbose report (NVRTC's log, compiled with
// --ptxas-options=--verbose), in the order reported.
std::vector<KernelResources> parse_ptxas_report(const std::string& log);

struct ResourceBudget {
  static constexpr int kMaxRegisters = 128;
  static constexpr long kMaxStackBytes = 64;
  int max_registers = kMaxRegisters;
  long max_stack_bytes = kMaxStackBytes;
  long max_spill_bytes = 0;
};

// Throws Error(ExitCode::bad_input) when a kernel of `emitted` is over `budget`: the message
// names the kernel, what is over, and the program's widest parameter (the one with the most
// values a sample), with its place in the config. Also fails (ExitCode::failure) when the
// report lacks one of the program's kernels.
void check_resource_budget(const std::vector<KernelResources>& report, const ResourceBudget& budget,
                           const Program& program, const EmittedProgram& emitted);

}  // namespace descent::codegen
