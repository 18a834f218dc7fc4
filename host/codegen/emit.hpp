// The emitter (DESIGN §2, §5): a pure function from a graph and the nodes a step needs to C++
// source text that compiles both as CUDA (NVRTC) and as host C++. It follows the three phases
// of the CPU backend's evaluation (host/cpu/cpu_backend.cpp):
//   1. <name>_uniform_first: the nodes that are the same for every sample and read no batch
//      total, into the packed buffer U;
//   2. <name>_sample: for ONE sample (row r), every per-sample node as straight-line code
//      (scalars in registers, small vectors and matrices in local arrays), then each batch total
//      adds that sample's value into the packed accumulators `acc`, and per-sample outputs
//      (minimize mode's gradients) are written to their row;
//   3. <name>_uniform_last: after the totals are summed over the batch (T, batch_mean already
//      divided by <name>_finish_totals), the nodes that read them, and every output.
// Under __CUDACC__ it adds four kernels over these functions (uniform_first, sample with a
// deterministic block reduction into per-block partials, reduce over blocks in block order, and
// uniform_last); they are compiled by NVRTC in the tests, but have not run on a GPU yet.
//
// Buffers, in the emitted functions' arguments:
//   params[k]  parameter k's values (one copy; in minimize mode one row per start)
//   inputs[k]  the whole split of data input k (row r at inputs[k] + row*size, with
//              row = index ? index[r] : r)
//   outputs[j] where output j is written (a per-sample output: one row per sample)
// Math: graph/scalar_math.hpp's functions and the CUDA/std exp, log, ... (the source includes
// that header, so the compiler needs host/ on its include path).
//
// Does not: fuse matrix products into cuBLAS calls, choose launch sizes, or run anything.
// Per-sample nodes that read a batch total are refused (the CPU backend's non-tiled case).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "program/program.hpp"

namespace descent::codegen {

enum class Precision { f32, f64 };

struct EmitRequest {
  std::string name;  // a C identifier: the prefix of every emitted symbol
  Precision precision = Precision::f64;
  std::vector<NodeId> inputs;   // per-sample data variables, in the order of `inputs[k]`
                                // (kNoNode for an input the graph does not read)
  std::vector<NodeId> params;   // parameter variables, in the order of `params[k]`
  std::vector<NodeId> outputs;  // what the step reads, in the order of `outputs[j]`
};

struct EmittedProgram {
  std::string prelude;  // includes and macros, once per translation unit
  std::string body;     // `Real`, the functions and (under __CUDACC__) the kernels
  std::string source() const { return prelude + body; }
  std::int64_t uniform_values = 0;         // size of U
  std::int64_t total_values = 0;           // size of acc and T
  std::vector<std::int64_t> output_sizes;  // values per output (per sample where per-sample)
  std::vector<bool> output_per_sample;     // minimize mode's gradients
};

// Throws Error(ExitCode::failure) for a graph the emitter cannot lower (see above).
EmittedProgram emit_program(const Graph& graph, const EmitRequest& request);

// What the emitter needs to lower a training step of `program`: inputs and parameters in
// Program order; outputs: the reported loss, every gradient (the step_outputs), then the
// objective.
EmitRequest emit_request(const Program& program, std::string name, Precision precision);

}  // namespace descent::codegen
