// emit_program (see emit.hpp): for each of a Program's two step plans, gives every node a place
// (a literal, a parameter, a constant or an input, U, T, L or a local), then writes the program
// struct whose functions codegen/launch.hpp's kernels call, and the kernels.
#include "codegen/emit.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "codegen/node_writer.hpp"
#include "codegen/segments.hpp"
#include "common/error.hpp"

namespace descent::codegen {

namespace {

std::string str(std::int64_t v) { return std::to_string(v); }

std::int64_t real_bytes(Precision p) { return p == Precision::f32 ? 4 : 8; }

class ProgramWriter {
 public:
  ProgramWriter(const Program& program, const StepPlan& plan,
                const std::vector<ParamLayout>& layout,
                const std::vector<ConstantLayout>& constants, std::string prefix, bool training,
                const EmitOptions& options)
      : program_(program),
        g_(program.graph),
        plan_(plan),
        layout_(layout),
        constants_(constants),
        prefix_(std::move(prefix)),
        training_(training),
        options_(options),
        places_(g_.size()),
        nodes_(g_, places_) {}

  std::string write(EmittedKernels& out) {
    if (!plan_.phased)
      throw Error(ExitCode::failure,
                  "the CUDA emitter cannot lower this program: " + plan_.unphased_reason);
    place_nodes();
    seg_ = lay_out_segments(g_, plan_);
    out.prefix = prefix_;
    out.totals = plan_.total_values;
    out.uniform_values = plan_.uniform_values;
    out.last_values = last_values_;
    out.warps = choose_warps();
    out.shared_bytes =
        out.warps * std::max<std::int64_t>(seg_.sink_values, 1) * real_bytes(options_.precision);
    const bool has_first = plan_.uniform_values > 0;
    out.first = has_first ? prefix_ + "_first" : "";
    out.update = training_ ? prefix_ + "_update" : "";
    out.batched = seg_.batched;
    if (seg_.batched) {
      for (std::size_t i = 0; i < seg_.segments.size(); ++i)
        out.segments.push_back(prefix_ + "_seg" + std::to_string(i));
      out.finish = prefix_ + "_finish";
      out.products = product_launches();
      out.row_values = seg_.row_values;
    } else {
      out.rows = prefix_ + "_rows";
    }
    std::ostringstream o;
    if (seg_.batched) write_launch_comment(o, out);
    o << "struct " << prefix_ << " {\n"
      << "  typedef " << real_type() << " Real;\n"
      << "  static constexpr int kTotals = " << seg_.sink_values << ";\n"
      << "  static constexpr int kWarps = " << out.warps << ";\n"
      << "  static constexpr bool kTraining = " << (training_ ? "true" : "false") << ";\n"
      << "  static constexpr int kBegin = 0, kEnd = kTotals;\n\n";
    write_first(o);
    if (!seg_.batched) write_sample(o, 0);
    write_finish_total(o);
    write_finish_batched(o);
    write_last(o);
    o << "};\n\n";
    for (std::size_t i = 0; seg_.batched && i < seg_.segments.size(); ++i) {
      o << "struct " << segment_struct(out.segments[i]) << " {\n"
        << "  typedef " << prefix_ << "::Real Real;\n"
        << "  static constexpr int kTotals = " << prefix_ << "::kTotals, kWarps = " << prefix_
        << "::kWarps;\n"
        << "  static constexpr int kBegin = " << seg_.segments[i].sink_begin
        << ", kEnd = " << seg_.segments[i].sink_end << ";\n";
      write_sample(o, static_cast<int>(i));
      o << "};\n\n";
    }
    write_kernels(o, out);
    return o.str();
  }

 private:
  std::string real_type() const {
    return options_.precision == Precision::f32 ? "float" : "double";
  }
  // Where parameter k starts in the packed buffers: a number in fit mode; in minimize mode,
  // where every parameter has one copy per start (= per row), the sizes of the parameters
  // before it times the rows, so that the code does not depend on the number of starts.
  std::string param_offset(std::size_t k) const {
    if (!program_.minimize) return str(layout_[k].offset);
    std::int64_t before = 0;
    for (std::size_t j = 0; j < k; ++j) before += layout_[j].size;
    return "s.rows * " + str(before);
  }

  void place_nodes() {
    for (std::size_t k = 0; k < program_.params.size(); ++k) {
      const NodeId id = program_.params[k].node;
      places_[id] = Place{Place::param, static_cast<int>(k), layout_[k].offset, g_[id].varying};
    }
    for (std::size_t k = 0; k < program_.inputs.size(); ++k)
      if (program_.inputs[k].node != kNoNode)
        places_[program_.inputs[k].node] = Place{Place::input, static_cast<int>(k), 0, true};
    for (std::size_t k = 0; k < program_.constants.size(); ++k)
      if (program_.constants[k].node != kNoNode)
        places_[program_.constants[k].node] =
            Place{Place::constant, static_cast<int>(k), constants_[k].offset};
    for (NodeId id : plan_.all_in_order) {
      const Node& n = g_[id];
      switch (plan_.phase[id]) {
        case PlanPhase::uniform_first:
          places_[id] = n.op == Op::constant ? Place{Place::literal}
                                             : Place{Place::uniform, 0, plan_.uniform_offset[id]};
          break;
        case PlanPhase::per_sample:
          places_[id] = Place{Place::local};
          break;
        case PlanPhase::total:
          places_[id] = Place{Place::total, 0, plan_.total_of(id)->offset};
          break;
        case PlanPhase::uniform_last:
          places_[id] = Place{Place::last, 0, last_values_};
          last_values_ += n.shape.size();
          break;
        default:
          break;
      }
    }
    if (plan_.batch_size != kNoNode) places_[plan_.batch_size] = Place{Place::batch_size};
    for (NodeId id : plan_.all_in_order)
      if (places_[id].kind == Place::unused && plan_.phase[id] != PlanPhase::fused_product)
        throw Error(ExitCode::failure, "internal: node " + str(id) + " has no place");
  }

  // Before writing segment `segment`: its own scalars in locals, its vectors, earlier nodes and
  // products in their slots.
  void place_segment(int segment) {
    for (NodeId id : plan_.per_sample) {
      if (plan_.product_of(id) || seg_.segment_of[id] < segment ||
          SegmentLayout::kept_in_slot(g_, id))
        places_[id] = Place{Place::stored, 0, seg_.slot[id]};
      else
        places_[id] = Place{Place::local};
    }
  }

  std::int64_t sink_offset(const PlanTotal& t) const { return seg_.sink_offset[t.node]; }
  int total_segment(const PlanTotal& t) const { return seg_.total_segment[t.node]; }

  // The matrix products between the segments, in launch order (products in id order, then the
  // batched outer totals after the last segment).
  std::vector<ProductLaunch> product_launches() const {
    std::vector<ProductLaunch> out;
    for (const PlanProduct& p : plan_.products) {
      ProductLaunch launch;
      launch.kind =
          p.matrix_left ? ProductLaunch::Kind::matrix_left : ProductLaunch::Kind::matrix_right;
      launch.after_segment = seg_.run_after[p.node];
      const Place& matrix = places_[p.matrix];
      switch (matrix.kind) {
        case Place::param:
          launch.source = ProductLaunch::Source::params;
          break;
        case Place::uniform:
          launch.source = ProductLaunch::Source::uniforms;
          break;
        case Place::constant:
          launch.source = ProductLaunch::Source::constants;
          break;
        default:
          throw Error(ExitCode::failure, "internal: the matrix of product node " + str(p.node) +
                                             " is not stored in a buffer");
      }
      launch.matrix_offset = matrix.offset;
      launch.a_slot = seg_.slot[p.vector];
      launch.out = seg_.slot[p.node];
      launch.m = p.m;
      launch.k = p.k;
      out.push_back(launch);
    }
    for (const PlanTotal& t : plan_.totals)
      if (t.batched) {
        ProductLaunch launch;
        launch.kind = ProductLaunch::Kind::outer_total;
        launch.after_segment = static_cast<int>(seg_.segments.size()) - 1;
        launch.a_slot = seg_.slot[t.a];
        launch.b_slot = seg_.slot[t.b];
        launch.out = t.offset;
        launch.m = g_[t.a].shape.size();
        launch.k = g_[t.b].shape.size();
        out.push_back(launch);
      }
    return out;
  }

  // The launch order of a batched program, for a reader of the emitted source.
  void write_launch_comment(std::ostream& o, const EmittedKernels& k) const {
    o << "// " << prefix_ << ": a batched plan of " << k.segments.size()
      << " segments; per-row values: " << k.row_values << " a row. Launch order:\n";
    if (!k.first.empty()) o << "//   " << k.first << "\n";
    for (std::size_t i = 0; i < k.segments.size(); ++i) {
      o << "//   " << k.segments[i] << "\n";
      for (const ProductLaunch& p : k.products) {
        if (p.after_segment != static_cast<int>(i)) continue;
        if (p.kind == ProductLaunch::Kind::outer_total)
          o << "//   T[" << p.out << "] (" << p.m << "x" << p.k << ") = slot " << p.a_slot
            << " (rows x " << p.m << ")^T . slot " << p.b_slot << " (rows x " << p.k << ")\n";
        else
          o << "//   slot " << p.out << " = slot " << p.a_slot << " . "
            << (p.kind == ProductLaunch::Kind::matrix_left ? "M^T" : "M") << " (M " << p.m << "x"
            << p.k << ")\n";
      }
    }
    o << "//   " << k.finish << "\n";
    if (!k.update.empty()) o << "//   " << k.update << "\n";
    o << "\n";
  }

  // Shared memory the rows kernel keeps besides the accumulators (the warps' norm sums, the
  // last-block flag), set aside from the limit.
  static constexpr std::int64_t kSharedReserve = 256;

  // Warps a block: as many as 8 whose accumulators fit the block's shared memory.
  int choose_warps() const {
    const std::int64_t per_warp =
        std::max<std::int64_t>(seg_.sink_values, 1) * real_bytes(options_.precision);
    for (int warps = 8; warps >= 1; warps /= 2)
      if (warps * per_warp <= options_.shared_bytes_limit - kSharedReserve) return warps;
    refuse_too_wide();
  }

  // Names the parameter whose gradient reads the widest total.
  [[noreturn]] void refuse_too_wide() const {
    const PlanTotal* widest = nullptr;
    for (const PlanTotal& t : plan_.totals)
      if (!t.batched && (!widest || t.size > widest->size)) widest = &t;
    const ProgramParam* culprit = nullptr;
    for (const ProgramParam& p : program_.params) {
      const std::vector<NodeId> reach = g_.reachable({p.gradient});
      if (std::find(reach.begin(), reach.end(), widest->node) == reach.end()) continue;
      if (!culprit || p.shape.size() > culprit->shape.size()) culprit = &p;
    }
    const std::int64_t fits =
        (options_.shared_bytes_limit - kSharedReserve) / real_bytes(options_.precision) -
        (seg_.sink_values - widest->size);
    throw Error(ExitCode::bad_input,
                (culprit ? "the parameter '" + culprit->name + "' (shape " +
                               culprit->shape.to_string() + ") "
                         : std::string("a batch total ")) +
                    "is too wide for the per-sample GPU kernels: its gradient sums " +
                    str(widest->size) + " values a row, and a block's shared memory holds " +
                    str(std::max<std::int64_t>(fits, 0)) + " more in " + real_type() +
                    "; train it on the CPU (--device cpu)",
                culprit ? culprit->spec->where : Span{});
  }

  // Writes the nodes of phase 1 or 3, with a barrier before any node that reads a value
  // another thread may have written since the last one.
  void write_uniform_nodes(std::ostream& o, const std::vector<NodeId>& nodes, bool after_totals) {
    std::set<NodeId> written;
    for (NodeId id : nodes) {
      if (g_[id].op == Op::constant) continue;
      const Node& n = g_[id];
      bool reads_new = false;
      for (int i = 0; i < n.arity; ++i) reads_new = reads_new || written.count(n[i]) != 0;
      if (reads_new) {
        o << "  DESCENT_BLOCK_SYNC();\n";
        written.clear();
      }
      nodes_.write(o, id);
      written.insert(id);
    }
    (void)after_totals;
  }

  void write_first(std::ostream& o) {
    o << "  static DESCENT_HD void first(int tid, int nthreads, "
         "const descent::launch::StepBuffers<Real>& s) {\n"
         "    (void)tid;\n    (void)nthreads;\n    (void)s;\n";
    write_uniform_nodes(o, plan_.uniform_first, false);
    o << "  }\n\n";
  }

  // Value element `e` of `total`'s child (of a fused product, its product spelled in place).
  std::string total_value(const PlanTotal& t, const std::string& e) const {
    switch (t.product) {
      case PlanTotal::Product::scalar_times:
        return "(" + nodes_.ref(t.a, "0") + " * " + nodes_.ref(t.b, e) + ")";
      case PlanTotal::Product::outer: {
        const std::string cols = str(g_[t.b].shape.size());
        return "(" + nodes_.ref(t.a, "(" + e + ") / " + cols) + " * " +
               nodes_.ref(t.b, "(" + e + ") % " + cols) + ")";
      }
      case PlanTotal::Product::none:
        break;
    }
    return nodes_.ref(t.child, e);
  }

  // Phase 2 for one row: the whole of it (the fused plan), or batched segment `segment`'s nodes,
  // with the per-row values that later segments and products read stored into s.rowbuf.
  void write_sample(std::ostream& o, int segment) {
    o << "  template <class Sink>\n  static DESCENT_HD void sample(long long r, bool valid, "
         "const descent::launch::StepBuffers<Real>& s, Sink& sink) {\n"
         "    constexpr int tid = 0, nthreads = 1;\n"
         "    (void)tid;\n    (void)nthreads;\n    (void)valid;\n    (void)r;\n    (void)sink;\n";
    o << "    const long long row = s.order ? s.order[s.first + r] : s.first + r;\n    "
         "(void)row;\n";
    for (std::size_t k = 0; k < program_.inputs.size(); ++k)
      if (program_.inputs[k].node != kNoNode)
        o << "    const Real* x" << k << " = s.inputs[" << k << "] + row * "
          << program_.inputs[k].shape.size() << ";\n    (void)x" << k << ";\n";
    for (std::size_t k = 0; k < program_.params.size(); ++k)
      if (places_[program_.params[k].node].per_sample)
        o << "    const Real* p" << k << " = s.params + " << param_offset(k) << " + r * "
          << layout_[k].size << ";\n    (void)p" << k << ";\n";
    if (seg_.batched) place_segment(segment);
    for (NodeId id : plan_.per_sample) {
      if (seg_.batched && (plan_.product_of(id) || seg_.segment_of[id] != segment)) continue;
      nodes_.declare(o, id);
      nodes_.write(o, id);
      if (seg_.batched && seg_.slot[id] >= 0 && places_[id].kind == Place::local)
        write_store(o, id, nodes_.ref(id, "i"));
    }
    for (NodeId id : plan_.row_variables)
      if (seg_.batched && segment == 0 && seg_.slot[id] >= 0)
        write_store(o, id, nodes_.ref(id, "i"));
    for (const PlanTotal& t : plan_.totals) {
      if (t.batched || (seg_.batched && total_segment(t) != segment)) continue;
      const std::int64_t local =
          sink_offset(t) - (seg_.batched ? seg_.segments[segment].sink_begin : 0);
      o << (seg_.batched ? "  DESCENT_ROLLED\n" : "") << "  for (int i = 0; i < " << t.size
        << "; ++i) sink.add(" << local << " + i, " << total_value(t, "i") << ");\n";
    }
    // Minimize mode's gradients: one per start (never batched: per-sample outputs).
    for (std::size_t k = 0; training_ && k < program_.params.size(); ++k) {
      const NodeId grad = plan_.outputs[ProgramPlan::gradient_output(k)];
      if (!g_[grad].varying) continue;
      const std::string size = str(layout_[k].size);
      o << "  if (valid) for (int i = 0; i < " << size << "; ++i) s.grads[" << param_offset(k)
        << " + r * " << size << " + i] = " << nodes_.ref(grad, "i") << ";\n";
    }
    o << "  }\n";
  }

  // Row r's values of `id` (element i spelled `value`) into its slot of the per-row buffer.
  void write_store(std::ostream& o, NodeId id, const std::string& value) const {
    o << "  if (valid) for (int i = 0; i < " << g_[id].shape.size() << "; ++i) s.rowbuf[("
      << seg_.slot[id] << " + i) * s.rows + r] = " << value << ";\n";
  }

  // Sink value k's total after the rows' sum (a mean divides), and its place in T.
  void write_finish_total(std::ostream& o) const {
    o << "  static DESCENT_HD Real finish_total(int k, Real sum, Real rows) {\n"
         "    (void)k;\n    (void)rows;\n";
    for (const PlanTotal& t : plan_.totals)
      if (t.mean && !t.batched)
        o << "    if (k >= " << sink_offset(t) << " && k < " << sink_offset(t) + t.size
          << ") return sum / rows;\n";
    o << "    return sum;\n  }\n\n";
    o << "  static DESCENT_HD long long total_place(int k) {\n";
    for (const PlanTotal& t : plan_.totals)
      if (!t.batched && sink_offset(t) != t.offset)  // a fused plan's sink is T itself
        o << "    if (k >= " << sink_offset(t) << " && k < " << sink_offset(t) + t.size
          << ") return k + " << t.offset - sink_offset(t) << ";\n";
    o << "    return k;\n  }\n\n";
  }

  // The outer totals that a matrix product wrote into T: a mean divides by the rows.
  void write_finish_batched(std::ostream& o) const {
    o << "  static DESCENT_HD void finish_batched(int tid, int nthreads, "
         "const descent::launch::StepBuffers<Real>& s) {\n"
         "    (void)tid;\n    (void)nthreads;\n    (void)s;\n";
    for (const PlanTotal& t : plan_.totals)
      if (t.batched && t.mean)
        o << "  for (long long i = tid; i < " << t.size << "; i += nthreads) s.totals[" << t.offset
          << " + i] = s.totals[" << t.offset << " + i] / Real(s.rows);\n";
    o << "  }\n\n";
  }

  void write_last(std::ostream& o) {
    o << "  static DESCENT_HD void last(int tid, int nthreads, "
         "const descent::launch::StepBuffers<Real>& s) {\n"
         "    (void)tid;\n    (void)nthreads;\n";
    write_uniform_nodes(o, plan_.uniform_last, true);
    o << "  DESCENT_BLOCK_SYNC();\n";
    const NodeId reported = plan_.outputs[ProgramPlan::kReported];
    o << "  if (tid == 0) s.scalars[descent::launch::kReported] = " << nodes_.ref(reported, "0")
      << ";\n";
    if (training_) {
      for (std::size_t k = 0; k < program_.params.size(); ++k) {
        const NodeId grad = plan_.outputs[ProgramPlan::gradient_output(k)];
        if (g_[grad].varying) continue;  // written per row
        const ParamLayout& p = layout_[k];
        const std::string e = g_[grad].shape.size() == 1 ? "0"
                              : !program_.minimize       ? "i"
                                                         : "i % " + str(p.size);
        const std::string count = program_.minimize ? "s.rows * " + str(p.size) : str(p.size);
        o << "  for (long long i = tid; i < " << count << "; i += nthreads) s.grads["
          << param_offset(k) << " + i] = " << nodes_.ref(grad, e) << ";\n";
      }
      o << "  if (tid == 0) s.scalars[descent::launch::kObjective] = "
        << nodes_.ref(plan_.outputs[plan_.outputs.size() - 1], "0") << ";\n";
    }
    o << "  }\n";
  }

  void write_kernels(std::ostream& o, const EmittedKernels& k) const {
    const std::string buffers = "descent::launch::StepBuffers<" + prefix_ + "::Real> s";
    const std::string bounds = "__launch_bounds__(" + str(k.threads()) + ")";
    o << "#if DESCENT_DEVICE_CODE\n";
    if (!k.first.empty())
      o << "extern \"C\" __global__ void " << bounds << " " << k.first << "(" << buffers
        << ") { descent::launch::first_kernel<" << prefix_ << ">(s); }\n";
    if (!k.rows.empty())
      o << "extern \"C\" __global__ void " << bounds << " " << k.rows << "(" << buffers
        << ") { descent::launch::rows_kernel<" << prefix_ << ">(s); }\n";
    // Two blocks an SM (the register budget, codegen/resources.hpp): without the minimum,
    // ptxas held some f64 segments to 64 registers and spilled.
    const std::string two_blocks = "__launch_bounds__(" + str(k.threads()) + ", 2)";
    for (const std::string& segment : k.segments)
      o << "extern \"C\" __global__ void " << two_blocks << " " << segment << "(" << buffers
        << ") { descent::launch::segment_kernel<" << segment_struct(segment) << ">(s); }\n";
    if (!k.finish.empty())
      o << "extern \"C\" __global__ void " << two_blocks << " " << k.finish << "(" << buffers
        << ") { descent::launch::finish_kernel<" << prefix_ << ">(s); }\n";
    if (!k.update.empty())
      o << "extern \"C\" __global__ void __launch_bounds__(" << launch_update_threads() << ") "
        << k.update << "(" << buffers << ", descent::UpdateCoefficients<" << prefix_
        << "::Real> c, long long values) { descent::launch::update_kernel(s, c, values); }\n";
    o << "#endif\n\n";
  }

  static int launch_update_threads() { return 256; }

  const Program& program_;
  const Graph& g_;
  const StepPlan& plan_;
  const std::vector<ParamLayout>& layout_;
  const std::vector<ConstantLayout>& constants_;
  std::string prefix_;
  bool training_;
  const EmitOptions& options_;
  std::vector<Place> places_;
  NodeWriter nodes_;
  std::int64_t last_values_ = 0;
  SegmentLayout seg_;  // the segments of a batched plan (codegen/segments.hpp)
};

std::vector<ConstantLayout> layout_constants(const Program& program, std::int64_t& total) {
  std::vector<ConstantLayout> layout;
  total = 0;
  for (const ProgramConstant& c : program.constants) {
    layout.push_back({total, c.shape.size()});
    total += c.shape.size();
  }
  return layout;
}

std::vector<ParamLayout> layout_params(const Program& program, std::int64_t& total) {
  std::vector<ParamLayout> layout;
  total = 0;
  for (const ProgramParam& p : program.params) {
    ParamLayout l;
    l.offset = total;
    l.size = p.shape.size();
    l.copies = program.minimize ? program.starts : 1;
    total += l.size * l.copies;
    layout.push_back(l);
  }
  return layout;
}

}  // namespace

EmittedProgram emit_program(const Program& program, const ProgramPlan& plan,
                            const EmitOptions& options) {
  EmittedProgram out;
  out.precision = options.precision;
  out.params = layout_params(program, out.param_values);
  out.constants = layout_constants(program, out.constant_values);
  out.prelude = "// Emitted by descent (host/codegen/emit.cpp) for '" + options.name + "' in " +
                (options.precision == Precision::f32 ? "f32" : "f64") +
                ".\n"
                "#include \"common/host_device.hpp\"\n"
                "#include \"graph/scalar_math.hpp\"\n"
                "#include \"optim/update_rules.hpp\"\n"
                "#include \"codegen/launch.hpp\"\n\n";
  std::ostringstream o;
  o << ProgramWriter(program, plan.step, out.params, out.constants, options.name + "_step", true,
                     options)
           .write(out.step);
  o << ProgramWriter(program, plan.evaluation, out.params, out.constants, options.name + "_eval",
                     false, options)
           .write(out.evaluation);
  out.body = o.str();
  return out;
}

std::string c_identifier(const std::string& name) {
  if (name.empty()) return "program";
  std::string id;
  for (char c : name) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (std::isdigit(static_cast<unsigned char>(id[0]))) id.insert(0, "_");
  return id;
}

}  // namespace descent::codegen
