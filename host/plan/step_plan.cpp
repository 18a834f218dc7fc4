// Planning a step's phases (see step_plan.hpp).
#include "plan/step_plan.hpp"

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

}  // namespace

const PlanTotal* StepPlan::total_of(NodeId node) const {
  for (const PlanTotal& t : totals)
    if (t.node == node) return &t;
  return nullptr;
}

StepPlan plan_step(const Graph& g, const std::vector<NodeId>& outputs) {
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
  if (plan.phased && !plan.per_sample_outputs) fuse_products(g, readers, plan);
  for (NodeId id : plan.row_variables) plan.values_per_row += g[id].shape.size();
  for (NodeId id : plan.per_sample) plan.values_per_row += g[id].shape.size();
  return plan;
}

ProgramPlan plan_program(const Program& program) {
  std::vector<NodeId> outputs = program.step_outputs();
  outputs.push_back(program.objective);
  return {plan_step(program.graph, outputs), plan_step(program.graph, {program.reported})};
}

}  // namespace descent
