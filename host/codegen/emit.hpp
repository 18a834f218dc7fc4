// The emitter (DESIGN §2, §5): a pure function from a Program and its step plan to C++ source
// that compiles both as CUDA (NVRTC) and as host C++. For each of the plan's two programs (the
// training step and the evaluation), it writes a struct <name>_step / <name>_eval with the
// functions that codegen/launch.hpp's kernels call (first, sample, finish_total, last; see
// there), and, under CUDA, the kernels themselves:
//   <name>_step_first, <name>_step_rows, <name>_step_update, <name>_eval_first, <name>_eval_rows
// Phase 1 and phase 3 are block-parallel (element loops over the block's threads, a barrier
// where a node reads what another thread wrote); phase 2 runs one row a thread, every per-sample
// value in registers or local arrays, each total's value handed to the warp's sink.
//
// The source includes common/host_device.hpp, graph/scalar_math.hpp, optim/update_rules.hpp and
// codegen/launch.hpp; NVRTC gets them as named headers (codegen/kernel_headers.hpp), the host
// compiler from host/ on its include path.
//
// Does not: compile, allocate, launch or choose which device runs (cuda/, codegen/step_driver).
// Refuses (Error, ExitCode::failure) a plan whose phases do not apply (a per-sample value that
// reads a total), and (ExitCode::bad_input) a program too wide for the kernels' shared memory,
// naming the parameter whose gradient is widest.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace descent::codegen {

enum class Precision { f32, f64 };

// Where parameter k's values (and gradients, and optimizer state) lie in the packed buffers:
// `copies` copies of `size` values from `offset` (minimize mode: one copy per start).
struct ParamLayout {
  std::int64_t offset = 0;
  std::int64_t size = 0;
  std::int64_t copies = 1;
};

// Where tensor constant k (Program::constants) lies in the packed constants: `size` values from
// `offset`. They are uploaded once and never written.
struct ConstantLayout {
  std::int64_t offset = 0;
  std::int64_t size = 0;
};

// One matrix product of a batched plan (codegen/launch.hpp), over every row of the batch, that
// the backend runs between the segment kernels, in the plan's terms (PlanProduct,
// PlanTotal::batched), with R a node's rows in the per-row buffer (codegen/launch.hpp: stored
// element-major, as Rᵀ from rowbuf + slot·rows; the backend multiplies the transposes):
//   matrix_left   out (rows × m) = R (rows × k) · Mᵀ     M@v, M of shape (m, k)
//   matrix_right  out (rows × k) = R (rows × m) · M      v@M
//   outer_total   T[out] (m × k) = A (rows × m)ᵀ · B (rows × k)   Σ outer(a, b), a sum: the
//                 finish divides a mean
struct ProductLaunch {
  enum class Kind : std::uint8_t {
    matrix_left,
    matrix_right,
    outer_total
  } kind = Kind::matrix_left;
  int after_segment = 0;  // runs after this segment's kernel
  // Where the shared matrix lies (matrix_left, matrix_right): the packed parameters, U or the
  // packed constants, from `matrix_offset`.
  enum class Source : std::uint8_t { params, uniforms, constants } source = Source::params;
  std::int64_t matrix_offset = 0;
  std::int64_t a_slot = 0;  // R, or A (outer_total)
  std::int64_t b_slot = 0;  // B (outer_total)
  std::int64_t out = 0;     // the product's slot, or its total's offset in T
  std::int64_t m = 0, k = 0;
};

// One emitted program (the training step, or the evaluation): its kernels and buffer sizes.
struct EmittedKernels {
  std::string prefix;  // e.g. "logistic_step"
  std::string first;   // kernel names; `first` is empty when phase 1 computes nothing
  std::string rows;
  std::string update;  // empty for the evaluation
  int warps = 8;       // per block of the first and rows kernels
  int threads() const { return warps * 32; }
  std::int64_t totals = 0;  // values in T (and at most that many per block in partials)
  // A batched plan (first, then segments and products, then finish; rows is empty):
  bool batched = false;
  std::vector<std::string> segments;    // kernel names, in launch order (segment_struct)
  std::string finish;                   // kernel name
  std::vector<ProductLaunch> products;  // in launch order
  std::int64_t row_values = 0;          // per row in the per-row buffer (slots)
  std::int64_t uniform_values = 0;      // U
  std::int64_t last_values = 0;         // L
  std::int64_t shared_bytes = 0;        // the rows kernel's static shared memory
};

struct EmittedProgram {
  std::string prelude;  // the #includes of the headers named above
  std::string body;     // `Real`, the program structs and (under CUDA) the kernels
  std::string source() const { return prelude + body; }
  Precision precision = Precision::f64;
  std::vector<ParamLayout> params;        // in Program order
  std::int64_t param_values = 0;          // the packed size
  std::vector<ConstantLayout> constants;  // in Program order
  std::int64_t constant_values = 0;       // the packed size
  EmittedKernels step;
  EmittedKernels evaluation;
};

struct EmitOptions {
  std::string name = "program";  // a C identifier: the prefix of every emitted symbol
  Precision precision = Precision::f64;
  // Shared memory a block may use for its warps' accumulators (CUDA's static limit is 48 KiB).
  std::int64_t shared_bytes_limit = std::int64_t{48} * 1024;
};

EmittedProgram emit_program(const Program& program, const ProgramPlan& plan,
                            const EmitOptions& options);

// The program struct of a batched segment's kernel (a kernel cannot share its struct's name:
// inside the kernel its own name would hide the struct's).
inline std::string segment_struct(const std::string& kernel) { return kernel + "_rows"; }

// `name` as a C identifier for EmitOptions::name: other characters become '_', a leading digit
// gets one in front, and an empty name is "program".
std::string c_identifier(const std::string& name);

}  // namespace descent::codegen
