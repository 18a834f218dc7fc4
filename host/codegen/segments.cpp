// Laying out a batched plan's segments (see segments.hpp).
#include "codegen/segments.hpp"

#include <algorithm>
#include <limits>

namespace descent::codegen {

namespace {

// Moves each node into the first segment that reads it (it is available there too), so that a
// value is computed where it is used rather than stored for later: products read their vector
// in the segment after which they run; a node that only batched totals read stays put.
void delay_to_readers(const Graph& g, const StepPlan& plan, SegmentLayout& out) {
  constexpr int kNone = std::numeric_limits<int>::max();
  std::vector<int> first_reader(g.size(), kNone);
  const auto read_in = [&](NodeId value, int segment) {
    if (value != kNoNode && plan.phase[value] == PlanPhase::per_sample)
      first_reader[value] = std::min(first_reader[value], segment);
  };
  for (const PlanTotal& t : plan.totals)
    if (!t.batched)
      for (NodeId operand : {t.child, t.a, t.b}) read_in(operand, out.total_segment[t.node]);
  for (auto it = plan.per_sample.rbegin(); it != plan.per_sample.rend(); ++it) {
    const NodeId id = *it;
    if (const PlanProduct* p = plan.product_of(id)) {
      read_in(p->vector, out.run_after[id]);
      continue;
    }
    if (first_reader[id] != kNone) out.segment_of[id] = first_reader[id];
    const Node& node = g[id];
    for (int i = 0; i < node.arity; ++i)
      if (!plan.product_of(node[i])) read_in(node[i], out.segment_of[id]);
  }
}

// Gives a slot to every value that a segment after its own, a product or a batched total reads.
void mark_stored(const Graph& g, const StepPlan& plan, SegmentLayout& out) {
  std::vector<bool> needed(g.size(), false);
  const auto later = [&](NodeId value, int reader_segment) {
    if (plan.product_of(value) || reader_segment > out.segment_of[value]) needed[value] = true;
  };
  for (NodeId id : plan.per_sample) {
    if (const PlanProduct* p = plan.product_of(id)) {
      needed[p->vector] = needed[id] = true;
      continue;
    }
    if (SegmentLayout::kept_in_slot(g, id)) needed[id] = true;
    const Node& node = g[id];
    for (int i = 0; i < node.arity; ++i)
      if (plan.phase[node[i]] == PlanPhase::per_sample) later(node[i], out.segment_of[id]);
  }
  for (const PlanTotal& t : plan.totals) {
    if (t.batched) {
      needed[t.a] = needed[t.b] = true;
      continue;
    }
    for (NodeId operand : {t.child, t.a, t.b})
      if (operand != kNoNode && plan.phase[operand] == PlanPhase::per_sample)
        later(operand, out.total_segment[t.node]);
  }
  for (NodeId id = 0; id < static_cast<NodeId>(g.size()); ++id)
    if (needed[id]) {
      out.slot[id] = out.row_values;
      out.row_values += g[id].shape.size();
    }
}

}  // namespace

SegmentLayout lay_out_segments(const Graph& g, const StepPlan& plan) {
  SegmentLayout out;
  out.batched = plan.batched();
  const std::size_t n = g.size();
  std::vector<int> avail(n, 0);  // the first segment that can read a node
  out.segment_of.assign(n, 0);
  out.run_after.assign(n, 0);
  out.slot.assign(n, -1);
  out.total_segment.assign(n, 0);
  out.sink_offset.assign(n, 0);
  int last = 0;
  if (out.batched) {
    for (NodeId id : plan.per_sample) {
      const Node& node = g[id];
      if (const PlanProduct* p = plan.product_of(id)) {
        out.run_after[id] =
            plan.product_of(p->vector) ? out.run_after[p->vector] : avail[p->vector];
        avail[id] = out.run_after[id] + 1;
        continue;
      }
      int seg = 0;
      for (int i = 0; i < node.arity; ++i) seg = std::max(seg, avail[node[i]]);
      out.segment_of[id] = avail[id] = seg;
      last = std::max(last, seg);
    }
    for (const PlanTotal& t : plan.totals) {
      if (t.batched) continue;
      const int seg =
          t.product == PlanTotal::Product::none ? avail[t.child] : std::max(avail[t.a], avail[t.b]);
      out.total_segment[t.node] = seg;
      last = std::max(last, seg);
    }
    delay_to_readers(g, plan, out);
    mark_stored(g, plan, out);
  }
  out.segments.assign(static_cast<std::size_t>(last) + 1, SegmentLayout::Segment{});
  for (std::size_t i = 0; i < out.segments.size(); ++i) {
    out.segments[i].sink_begin = out.sink_values;
    for (const PlanTotal& t : plan.totals)
      if (!t.batched && out.total_segment[t.node] == static_cast<int>(i)) {
        out.sink_offset[t.node] = out.sink_values;
        out.sink_values += t.size;
      }
    out.segments[i].sink_end = out.sink_values;
  }
  return out;
}

}  // namespace descent::codegen
