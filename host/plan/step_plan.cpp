// Planning a step's phases (see step_plan.hpp).
#include "plan/step_plan.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace descent {

namespace {

bool is_batch_op(Op op) { return op == Op::batch_sum || op == Op::batch_mean; }

// Finds the totals whose child only they read and that a backend can add without storing it:
// s*v with s a per-sample scalar, or outer(a, b). Their children leave phase 2.
void fuse_products(const Graph& g, const std::vector<int>& readers, StepPlan& plan) {
  for (PlanTotal& total : plan.totals) {
    const Node& product = g[total.child];
    if (readers[total.child] != 1) continue;
    if (product.op == Op::outer) {
      total.product = PlanTotal::Product::outer;
      total.a = product[0];
      total.b = product[1];
    } else if (product.op == Op::mul) {
      for (int i = 0; i < 2; ++i) {
        const Node& s = g[product[i]];
        const Node& o = g[product[1 - i]];
        if (s.varying && s.shape.size() == 1 && o.shape == product.shape) {
          total.product = PlanTotal::Product::scalar_times;
          total.a = product[i];
          total.b = product[1 - i];
          break;
        }
      }
    }
    if (total.product == PlanTotal::Product::none) continue;
    plan.phase[total.child] = PlanPhase::fused_product;
    std::erase(plan.per_sample, total.child);
  }
}

// Whether the automatic choice batches a product over a matrix of `elements` values.
bool worth_batching(PlanChoice choice, std::int64_t elements) {
  switch (choice) {
    case PlanChoice::fused:
      return false;
    case PlanChoice::batched:
      return true;
    case PlanChoice::automatic:
      break;
  }
  return elements >= kBatchedMinElements;
}

// Lists phase 2's products of a uniform matrix with a per-sample vector, and marks the outer
// totals of two per-sample vectors, that `choice` batches.
void batch_products(const Graph& g, PlanChoice choice, StepPlan& plan) {
  plan.product_slot.assign(g.size(), -1);
  for (NodeId id : plan.per_sample) {
    const Node& n = g[id];
    if (n.op != Op::matmul) continue;
    const Node& a = g[n[0]];
    const Node& b = g[n[1]];
    PlanProduct p;
    p.node = id;
    if (!a.varying && a.shape.rank == 2 && b.varying && b.shape.rank == 1) {
      p.matrix = n[0];
      p.vector = n[1];
      p.matrix_left = true;
    } else if (a.varying && a.shape.rank == 1 && !b.varying && b.shape.rank == 2) {
      p.vector = n[0];
      p.matrix = n[1];
      p.matrix_left = false;
    } else {
      continue;
    }
    const Shape& m = g[p.matrix].shape;
    p.m = m.dims[0];
    p.k = m.dims[1];
    if (!worth_batching(choice, m.size())) continue;
    plan.product_slot[id] = static_cast<std::int32_t>(plan.products.size());
    plan.products.push_back(p);
  }
  for (PlanTotal& total : plan.totals)
    if (total.product == PlanTotal::Product::outer && g[total.a].varying && g[total.b].varying)
      total.batched = worth_batching(choice, total.size);
}

}  // namespace

bool StepPlan::batched() const {
  return !products.empty() ||
         std::any_of(totals.begin(), totals.end(), [](const PlanTotal& t) { return t.batched; });
}

const PlanTotal* StepPlan::total_of(NodeId node) const {
  for (const PlanTotal& t : totals)
    if (t.node == node) return &t;
  return nullptr;
}

StepPlan plan_step(const Graph& g, const std::vector<NodeId>& outputs, PlanChoice choice) {
  StepPlan plan;
  plan.outputs = outputs;
  plan.phase.assign(g.size(), PlanPhase::unused);
  plan.uniform_offset.assign(g.size(), -1);
  std::vector<bool> reads_total(g.size(), false);
  std::vector<int> readers(g.size(), 0);
  for (NodeId id : outputs) ++readers[id];
  for (NodeId id : g.reachable(outputs)) {
    const Node& n = g[id];
    for (int i = 0; i < n.arity; ++i) {
      ++readers[n[i]];
      if (reads_total[n[i]]) reads_total[id] = true;
    }
    if (n.op == Op::variable) {
      plan.phase[id] = PlanPhase::variable;
      if (n.var_kind == VarKind::batch_size)
        plan.batch_size = id;
      else
        (n.varying ? plan.row_variables : plan.uniform_variables).push_back(id);
      continue;
    }
    plan.all_in_order.push_back(id);
    if (is_batch_op(n.op)) {
      if (!g[n[0]].varying)
        throw Error(ExitCode::failure,
                    "internal: a batch total of a value that is the same for "
                    "every sample reached the step plan (node " +
                        std::to_string(id) + ")");
      plan.phase[id] = PlanPhase::total;
      const std::int64_t size = n.shape.size();
      plan.totals.push_back({id, n[0], n.op == Op::batch_mean, plan.total_values, size});
      plan.total_values += size;
      reads_total[id] = true;
    } else if (n.varying) {
      plan.phase[id] = PlanPhase::per_sample;
      plan.per_sample.push_back(id);
      if (reads_total[id] && plan.phased) {
        plan.phased = false;
        plan.unphased_reason = "node " + std::to_string(id) + " (" + std::string(op_name(n.op)) +
                               ") has one value per sample and reads a batch total";
      }
    } else if (reads_total[id]) {
      plan.phase[id] = PlanPhase::uniform_last;
      plan.uniform_last.push_back(id);
    } else {
      plan.phase[id] = PlanPhase::uniform_first;
      plan.uniform_first.push_back(id);
      if (n.op != Op::constant) {
        plan.uniform_offset[id] = plan.uniform_values;
        plan.uniform_values += n.shape.size();
      }
    }
  }
  for (NodeId id : outputs)
    if (g[id].varying) plan.per_sample_outputs = true;
  if (plan.phased && !plan.per_sample_outputs) {
    fuse_products(g, readers, plan);
    batch_products(g, choice, plan);
  }
  for (NodeId id : plan.row_variables) plan.values_per_row += g[id].shape.size();
  for (NodeId id : plan.per_sample) plan.values_per_row += g[id].shape.size();
  return plan;
}

std::string describe_plan(const StepPlan& plan) {
  if (!plan.batched()) return "fused";
  const auto totals = std::count_if(plan.totals.begin(), plan.totals.end(),
                                    [](const PlanTotal& t) { return t.batched; });
  const auto count = [](std::size_t n, const char* what) {
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  return "batched (" + count(plan.products.size(), "product") + ", " +
         count(static_cast<std::size_t>(totals), "outer total") + ")";
}

ProgramPlan plan_program(const Program& program, PlanChoice choice) {
  std::vector<NodeId> outputs = program.step_outputs();
  outputs.push_back(program.objective);
  return {plan_step(program.graph, outputs, choice),
          plan_step(program.graph, {program.reported}, choice)};
}

}  // namespace descent
