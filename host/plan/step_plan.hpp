// The step plan (DESIGN §5): how a backend evaluates a set of output nodes over a batch, computed
// once from the graph and consumed by every backend (the CPU backend, the emitter, the CUDA
// backend), so that none of them re-derives it.
//
// A step has three phases:
//   1. uniform_first: nodes that are the same for every sample and read no batch total
//      (parameters' functions), once per step, packed into a buffer U where a backend keeps them;
//   2. per_sample: nodes with one value per sample, for every row; each total (a batch_sum or
//      batch_mean of a per-sample node) adds the rows up, packed into a buffer T;
//   3. uniform_last: the nodes that read a total (the loss, the gradients), once.
// A total of a product that nothing else reads is marked fused: a backend may add s*v (s a
// per-sample scalar) or outer(a, b) row by row without storing the product, whose node then
// leaves phase 2.
//
// Two shapes of graph do not fit the phases: a per-sample node that reads a total (the plan is
// then `phased = false` and a backend evaluates the nodes in id order over the whole batch, or
// refuses), and per-sample outputs (minimize mode's gradients: one per start), which a backend
// must keep for every row.
//
// Products (the batched shape, DESIGN §5). A per-sample product of a shared matrix with a
// per-sample vector, M@v or v@M, is one matrix-vector product per row; over a tile of rows it
// is one matrix-matrix product (R·Mᵀ or R·M, R the tile's vectors as rows), which a backend
// hands to BLAS. A fused outer total Σ_r outer(a_r, b_r) over a tile is Aᵀ·B. The plan lists the
// products it batches (PlanProduct, PlanTotal::batched): every such product under
// PlanChoice::batched, none under fused, and under automatic the ones whose matrix is large
// enough that a matrix-matrix product beats the per-row loop (kBatchedMinElements). A
// backend that does not batch evaluates the same nodes per sample: the values agree to
// rounding, the order of the additions differs.
//
// Does not: evaluate, allocate or choose launch or tile sizes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "graph/graph.hpp"
#include "program/program.hpp"

namespace descent {

enum class PlanPhase : std::uint8_t {
  unused,         // not needed by the outputs
  variable,       // bound by the backend: a parameter, a data input, batch_size
  uniform_first,  // phase 1 (constants too: a backend may fill them once, or spell them)
  per_sample,     // phase 2
  fused_product,  // phase 2's product that its total adds without storing (see PlanTotal)
  total,          // the end of phase 2
  uniform_last,   // phase 3
};

struct PlanTotal {
  NodeId node = kNoNode;    // the batch_sum or batch_mean
  NodeId child = kNoNode;   // the per-sample value it adds up
  bool mean = false;        // batch_mean: divided by the row count once every row is added
  std::int64_t offset = 0;  // its values' place in T
  std::int64_t size = 0;    // values (the child's shape)
  // A child that only this total reads, added row by row without being stored:
  //   scalar_times: child = a*b with a a per-sample scalar and b of the child's shape;
  //   outer:        child = outer(a, b).
  enum class Product : std::uint8_t { none, scalar_times, outer } product = Product::none;
  NodeId a = kNoNode, b = kNoNode;
  // An outer total over a tile as one matrix product, Aᵀ·B (a and b both per sample).
  bool batched = false;
};

// A per-sample product of a shared matrix with a per-sample vector, batched over a tile:
//   matrix_left  (M@v, M of shape (m, k), v of k): the tile's rows R (rows × k) give R·Mᵀ;
//   !matrix_left (v@M, v of m, M of shape (m, k)): R (rows × m) gives R·M.
struct PlanProduct {
  NodeId node = kNoNode;
  NodeId vector = kNoNode;  // the per-sample operand
  NodeId matrix = kNoNode;  // the uniform operand
  bool matrix_left = true;
  std::int64_t m = 0, k = 0;  // the matrix's shape
};

// The automatic choice batches a product whose matrix has at least this many elements: below
// it the per-row loop is as fast (a small matrix stays in registers and L1), above it a
// matrix-matrix product reads the matrix once per tile instead of once per row (measured on
// the example configs and the benchmark MLP: README, "Matrix products").
inline constexpr std::int64_t kBatchedMinElements = 256;

struct StepPlan {
  std::vector<NodeId> outputs;
  std::vector<PlanPhase> phase;  // by NodeId, for the graph's nodes when planned

  std::vector<NodeId> uniform_variables;  // parameters (fit mode), in id order
  std::vector<NodeId> row_variables;      // data inputs and minimize mode's start parameters
  NodeId batch_size = kNoNode;            // the batch_size variable, if the graph reads it

  // False when a per-sample node reads a total (reason says which): the phases do not apply.
  bool phased = true;
  std::string unphased_reason;
  bool per_sample_outputs = false;  // some output has one value per sample

  std::vector<NodeId> uniform_first;       // phase 1, in id order
  std::vector<NodeId> per_sample;          // phase 2, in id order, fused products left out
  std::vector<PlanTotal> totals;           // in id order
  std::vector<NodeId> uniform_last;        // phase 3, in id order
  std::vector<PlanProduct> products;       // phase 2's batched products, in id order
  std::vector<std::int32_t> product_slot;  // by NodeId: its index in products, or -1
  std::vector<NodeId> all_in_order;        // every node but the variables, in id order

  // By NodeId: a phase-1 node's place in U, else -1 (constants have none: they are numbers).
  std::vector<std::int64_t> uniform_offset;
  std::int64_t uniform_values = 0;  // size of U
  std::int64_t total_values = 0;    // size of T

  // The values a row keeps in phase 2: its variables and per-sample nodes (fused ones left out).
  std::int64_t values_per_row = 0;

  const PlanTotal* total_of(NodeId node) const;
  const PlanProduct* product_of(NodeId node) const {
    const std::int32_t slot = product_slot.empty() ? -1 : product_slot[node];
    return slot < 0 ? nullptr : &products[static_cast<std::size_t>(slot)];
  }
  // Whether any product or total is batched.
  bool batched() const;
};

// Plans the evaluation of `outputs`. A batch total of a value that is the same for every
// sample is an internal error (the simplifier turns batch_sum(u) into u*batch_size).
StepPlan plan_step(const Graph& graph, const std::vector<NodeId>& outputs,
                   PlanChoice choice = PlanChoice::automatic);

// The plans of a Program: a training step's (outputs: the reported loss, every gradient in
// Program order, the objective) and an evaluation's (the reported loss alone).
struct ProgramPlan {
  StepPlan step;
  StepPlan evaluation;
  // Where the outputs of `step` are: index 0 the reported loss, 1..params the gradients, then
  // the objective.
  static constexpr std::size_t kReported = 0;
  static std::size_t gradient_output(std::size_t param) { return 1 + param; }
  std::size_t objective_output() const { return step.outputs.size() - 1; }
};

ProgramPlan plan_program(const Program& program, PlanChoice choice = PlanChoice::automatic);

// What a training step's plan batches, for logs and the manifest: "fused" or, e.g.,
// "batched (2 products, 1 outer total)".
std::string describe_plan(const StepPlan& plan);

}  // namespace descent
