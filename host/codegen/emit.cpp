// emit_program (see emit.hpp): for each of a Program's two step plans, gives every node a place
// (a literal, a parameter, a constant or an input, U, T, L or a local), then writes the program
// struct whose functions codegen/launch.hpp's kernels call, and the kernels.
#include "codegen/emit.hpp"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "codegen/node_writer.hpp"
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
    out.prefix = prefix_;
    out.totals = plan_.total_values;
    out.uniform_values = plan_.uniform_values;
    out.last_values = last_values_;
    out.warps = choose_warps();
    out.shared_bytes =
        out.warps * std::max<std::int64_t>(plan_.total_values, 1) * real_bytes(options_.precision);
    const bool has_first = plan_.uniform_values > 0;
    out.first = has_first ? prefix_ + "_first" : "";
    out.rows = prefix_ + "_rows";
    out.update = training_ ? prefix_ + "_update" : "";
    std::ostringstream o;
    o << "struct " << prefix_ << " {\n"
      << "  typedef " << real_type() << " Real;\n"
      << "  static constexpr int kTotals = " << plan_.total_values << ";\n"
      << "  static constexpr int kWarps = " << out.warps << ";\n"
      << "  static constexpr bool kTraining = " << (training_ ? "true" : "false") << ";\n\n";
    write_first(o);
    write_sample(o);
    write_finish_total(o);
    write_last(o);
    o << "};\n\n";
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

  // Shared memory the rows kernel keeps besides the accumulators (the warps' norm sums, the
  // last-block flag), set aside from the limit.
  static constexpr std::int64_t kSharedReserve = 256;

  // Warps a block: as many as 8 whose accumulators fit the block's shared memory.
  int choose_warps() const {
    const std::int64_t per_warp =
        std::max<std::int64_t>(plan_.total_values, 1) * real_bytes(options_.precision);
    for (int warps = 8; warps >= 1; warps /= 2)
      if (warps * per_warp <= options_.shared_bytes_limit - kSharedReserve) return warps;
    refuse_too_wide();
  }

  // Names the parameter whose gradient reads the widest total.
  [[noreturn]] void refuse_too_wide() const {
    const PlanTotal* widest = &plan_.totals.front();
    for (const PlanTotal& t : plan_.totals)
      if (t.size > widest->size) widest = &t;
    const ProgramParam* culprit = nullptr;
    for (const ProgramParam& p : program_.params) {
      const std::vector<NodeId> reach = g_.reachable({p.gradient});
      if (std::find(reach.begin(), reach.end(), widest->node) == reach.end()) continue;
      if (!culprit || p.shape.size() > culprit->shape.size()) culprit = &p;
    }
    const std::int64_t fits =
        (options_.shared_bytes_limit - kSharedReserve) / real_bytes(options_.precision) -
        (plan_.total_values - widest->size);
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

  void write_sample(std::ostream& o) {
    o << "  template <class Sink>\n  static DESCENT_HD void sample(long long r, bool valid, "
         "const descent::launch::StepBuffers<Real>& s, Sink& sink) {\n"
         "    constexpr int tid = 0, nthreads = 1;\n"
         "    (void)tid;\n    (void)nthreads;\n    (void)valid;\n    (void)r;\n";
    o << "    const long long row = s.order ? s.order[s.first + r] : s.first + r;\n    "
         "(void)row;\n";
    for (std::size_t k = 0; k < program_.inputs.size(); ++k)
      if (program_.inputs[k].node != kNoNode)
        o << "    const Real* x" << k << " = s.inputs[" << k << "] + row * "
          << program_.inputs[k].shape.size() << ";\n";
    for (std::size_t k = 0; k < program_.params.size(); ++k)
      if (places_[program_.params[k].node].per_sample)
        o << "    const Real* p" << k << " = s.params + " << param_offset(k) << " + r * "
          << layout_[k].size << ";\n    (void)p" << k << ";\n";
    for (NodeId id : plan_.per_sample) {
      nodes_.declare(o, id);
      nodes_.write(o, id);
    }
    for (const PlanTotal& t : plan_.totals)
      o << "  for (int i = 0; i < " << t.size << "; ++i) sink.add(" << t.offset << " + i, "
        << total_value(t, "i") << ");\n";
    // Minimize mode's gradients: one per start.
    for (std::size_t k = 0; training_ && k < program_.params.size(); ++k) {
      const NodeId grad = plan_.outputs[ProgramPlan::gradient_output(k)];
      if (!g_[grad].varying) continue;
      const std::string size = str(layout_[k].size);
      o << "  if (valid) for (int i = 0; i < " << size << "; ++i) s.grads[" << param_offset(k)
        << " + r * " << size << " + i] = " << nodes_.ref(grad, "i") << ";\n";
    }
    o << "  }\n\n";
  }

  void write_finish_total(std::ostream& o) const {
    o << "  static DESCENT_HD Real finish_total(int k, Real sum, Real rows) {\n"
         "    (void)k;\n    (void)rows;\n";
    for (const PlanTotal& t : plan_.totals)
      if (t.mean)
        o << "    if (k >= " << t.offset << " && k < " << t.offset + t.size
          << ") return sum / rows;\n";
    o << "    return sum;\n  }\n\n";
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
    o << "extern \"C\" __global__ void " << bounds << " " << k.rows << "(" << buffers
      << ") { descent::launch::rows_kernel<" << prefix_ << ">(s); }\n";
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
