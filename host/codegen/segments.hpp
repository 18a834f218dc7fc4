// The segments of a batched plan (codegen/launch.hpp; internal to host/codegen): which segment
// kernel computes each per-sample node, which values the per-row buffer keeps (their slots),
// and which sink values each segment adds. A fused plan is one segment of everything.
//
// A per-sample node is available from some segment on: a data input from 0, a node from the
// segment that computes it, a product's result from the segment after the one whose end its
// vector is ready at (run_after). A node is computed in the first segment that reads it, so
// that values are computed where they are used rather than stored for later. A value read by
// a later segment, a product or a batched total, and every per-sample vector of a batched plan
// (kept_in_slot), gets a slot. Sink values are numbered segment by segment (each segment adds a
// contiguous range), in id order within one.
//
// Does not: write code (emit.cpp does) or decide what is batched (the step plan does).
#pragma once

#include <cstdint>
#include <vector>

#include "graph/graph.hpp"
#include "plan/step_plan.hpp"

namespace descent::codegen {

struct SegmentLayout {
  struct Segment {
    std::int64_t sink_begin = 0, sink_end = 0;  // the sink values it adds
  };
  bool batched = false;
  std::vector<Segment> segments;
  // By NodeId: the segment that computes a per-sample node; the segment after which a product
  // runs; the segment whose sink adds a total.
  std::vector<int> segment_of, run_after, total_segment;
  // By NodeId: a value's slot in the per-row buffer (-1: none); a total's first sink value.
  std::vector<std::int64_t> slot, sink_offset;
  std::int64_t row_values = 0;   // the slots' values a row
  std::int64_t sink_values = 0;  // what the rows add in the warps' accumulators

  // A batched segment keeps a per-sample vector in the per-row buffer rather than in a local
  // array: a segment's registers then do not grow with the layers' widths (a 32-wide layer's
  // few vectors in f64 were over the register budget), and the buffer is element-major, so the
  // threads of a warp (consecutive rows) read and write consecutive addresses.
  static bool kept_in_slot(const Graph& g, NodeId id) { return g[id].shape.size() > 1; }
};

SegmentLayout lay_out_segments(const Graph& g, const StepPlan& plan);

}  // namespace descent::codegen
