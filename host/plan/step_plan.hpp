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
// Does not: evaluate, allocate or choose launch sizes; the batched (matrix-product) shape of
// issue "matrix models" will add steps here, not a second planner.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
};

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

  std::vector<NodeId> uniform_first;  // phase 1, in id order
  std::vector<NodeId> per_sample;     // phase 2, in id order, fused products left out
  std::vector<PlanTotal> totals;      // in id order
  std::vector<NodeId> uniform_last;   // phase 3, in id order
  std::vector<NodeId> all_in_order;   // every node but the variables, in id order

  // By NodeId: a phase-1 node's place in U, else -1 (constants have none: they are numbers).
  std::vector<std::int64_t> uniform_offset;
  std::int64_t uniform_values = 0;  // size of U
  std::int64_t total_values = 0;    // size of T

  // The values a row keeps in phase 2: its variables and per-sample nodes (fused ones left out).
  std::int64_t values_per_row = 0;

  const PlanTotal* total_of(NodeId node) const;
};

// Plans the evaluation of `outputs`. A batch total of a value that is the same for every
// sample is an internal error (the simplifier turns batch_sum(u) into u*batch_size).
StepPlan plan_step(const Graph& graph, const std::vector<NodeId>& outputs);

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

ProgramPlan plan_program(const Program& program);

}  // namespace descent
