// emit_program (see emit.hpp): classifies the nodes into the three phases the CPU backend
// uses, gives each node a place (a literal, a parameter or input, the U or T buffer, or a
// local), and writes one statement group per node. Element access goes through ref(), which
// spells element e of a node in the current phase; broadcasting inside a sample becomes index
// arithmetic with the same strides as the CPU kernels (host/cpu/kernels.cpp).
#include "codegen/emit.hpp"

#include <array>
#include <cstdio>
#include <sstream>

#include "common/error.hpp"
#include "graph/ops.hpp"

namespace descent::codegen {

namespace {

enum class Phase { first, sample, last };

// The elementwise spelling of each op, "%a" and "%b" standing for the operands; nullptr for
// the ops emitted by their own loops (reductions, products, ...) and the leaves.
struct Spelling {
  Op op;
  const char* text;
};
// clang-format off
constexpr std::array<Spelling, kOpCount> kSpellings = {{
  {Op::constant, nullptr},               {Op::variable, nullptr},
  {Op::neg, "-(%a)"},                    {Op::exp, "exp(%a)"},
  {Op::log, "log(%a)"},                  {Op::log1p, "log1p(%a)"},
  {Op::expm1, "expm1(%a)"},              {Op::sqrt, "sqrt(%a)"},
  {Op::abs, "fabs(%a)"},                 {Op::sin, "sin(%a)"},
  {Op::cos, "cos(%a)"},                  {Op::tan, "tan(%a)"},
  {Op::tanh, "tanh(%a)"},                {Op::sigmoid, "descent::math::sigmoid(%a)"},
  {Op::softplus, "descent::math::softplus(%a)"}, {Op::relu, "descent::math::relu(%a)"},
  {Op::sign, "descent::math::sign(%a)"}, {Op::step, "descent::math::step(%a)"},
  {Op::add, "(%a + %b)"},                {Op::sub, "(%a - %b)"},
  {Op::mul, "(%a * %b)"},                {Op::div, "(%a / %b)"},
  {Op::pow, "descent::math::pow(%a, %b)"}, {Op::min, "descent::math::min(%a, %b)"},
  {Op::max, "descent::math::max(%a, %b)"}, {Op::xlogy, "descent::math::xlogy(%a, %b)"},
  {Op::sum, nullptr},        {Op::mean, nullptr},      {Op::dot, nullptr},
  {Op::matmul, nullptr},     {Op::outer, nullptr},     {Op::transpose, nullptr},
  {Op::softmax, nullptr},    {Op::logsumexp, nullptr}, {Op::norm, nullptr},
  {Op::onehot, nullptr},     {Op::sum_to, nullptr},    {Op::batch_mean, nullptr},
  {Op::batch_sum, nullptr},
}};
// clang-format on
static_assert(rows_follow_op_order(kSpellings), "kSpellings rows must follow the order of enum Op");

std::string literal(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  std::string text = buffer;
  if (text == "inf") return "(Real(1) / Real(0))";
  if (text == "-inf") return "(-Real(1) / Real(0))";
  if (text == "nan" || text == "-nan") return "(Real(0) / Real(0))";
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return "Real(" + text + ")";
}

std::string substitute(std::string text, const std::string& a, const std::string& b) {
  for (std::size_t at; (at = text.find("%a")) != std::string::npos;) text.replace(at, 2, a);
  for (std::size_t at; (at = text.find("%b")) != std::string::npos;) text.replace(at, 2, b);
  return text;
}

bool is_total(const Graph& g, const Node& n) {
  return (n.op == Op::batch_sum || n.op == Op::batch_mean) && g[n[0]].varying;
}

class Emitter {
 public:
  Emitter(const Graph& g, const EmitRequest& request) : g_(g), request_(request) {}

  EmittedProgram run() {
    classify();
    EmittedProgram out;
    out.uniform_values = uniform_size_;
    out.total_values = total_size_;
    for (NodeId id : request_.outputs) {
      out.output_sizes.push_back(g_[id].shape.size());
      out.output_per_sample.push_back(g_[id].varying);
    }
    std::ostringstream s;
    const std::string& p = request_.name;
    s << "// Emitted by descent (host/codegen/emit.cpp) for '" << p << "'.\n";
    // The header's DESCENT_USING_MATH picks std:: math on the host and CUDA's under NVRTC.
    s << "#include \"graph/scalar_math.hpp\"\n";
    out.prelude = s.str();
    std::ostringstream b;
    b << "typedef " << (request_.precision == Precision::f32 ? "float" : "double") << " Real;\n";
    b << "constexpr long long " << p << "_kUniforms = " << uniform_size_ << ";\n";
    b << "constexpr long long " << p << "_kTotals = " << total_size_ << ";\n\n";
    emit_uniform_first(b);
    emit_sample(b);
    emit_finish_total(b);
    emit_uniform_last(b);
    emit_kernels(b);
    out.body = b.str();
    return out;
  }

 private:
  struct Place {
    enum Kind { literal, param, input, batch_size, uniform, total, local } kind = local;
    int index = 0;            // param or input number
    std::int64_t offset = 0;  // in U or T
  };

  [[noreturn]] void refuse(NodeId id, const std::string& why) const {
    throw Error(ExitCode::failure, "the CUDA emitter cannot lower node " + std::to_string(id) +
                                       " (" + std::string(op_info(g_[id].op).name) + "): " + why);
  }

  void classify() {
    places_.assign(g_.size(), Place{});
    for (std::size_t k = 0; k < request_.params.size(); ++k)
      if (request_.params[k] != kNoNode)
        places_[request_.params[k]] = Place{Place::param, static_cast<int>(k), 0};
    for (std::size_t k = 0; k < request_.inputs.size(); ++k)
      if (request_.inputs[k] != kNoNode)
        places_[request_.inputs[k]] = Place{Place::input, static_cast<int>(k), 0};
    std::vector<bool> reads_total(g_.size(), false);
    for (NodeId id : g_.reachable(request_.outputs)) {
      const Node& n = g_[id];
      for (int i = 0; i < n.arity; ++i)
        if (reads_total[n[i]]) reads_total[id] = true;
      if (n.op == Op::constant) {
        places_[id].kind = Place::literal;
        continue;
      }
      if (n.op == Op::variable) {
        if (n.var_kind == VarKind::batch_size)
          places_[id].kind = Place::batch_size;
        else if (places_[id].kind != Place::param && places_[id].kind != Place::input)
          refuse(id, "the variable '" + n.name + "' is neither an input nor a parameter");
        continue;
      }
      if (is_total(g_, n)) {
        places_[id] = Place{Place::total, 0, total_size_};
        total_size_ += n.shape.size();
        totals_.push_back(id);
        reads_total[id] = true;
      } else if (n.op == Op::batch_sum || n.op == Op::batch_mean) {
        refuse(id, "a batch total of a value that is the same for every sample");
      } else if (n.varying) {
        if (reads_total[id]) refuse(id, "a per-sample value that reads a batch total");
        per_sample_.push_back(id);
      } else if (reads_total[id]) {
        last_.push_back(id);
      } else {
        places_[id] = Place{Place::uniform, 0, uniform_size_};
        uniform_size_ += n.shape.size();
        first_.push_back(id);
      }
    }
  }

  // Element `e` (a C++ expression for the flat index inside one sample) of node `id`.
  std::string ref(NodeId id, const std::string& e) const {
    const Node& n = g_[id];
    const Place& place = places_[id];
    const bool one = n.shape.size() == 1;
    const std::string at = one ? "0" : e;
    switch (place.kind) {
      case Place::literal:
        return literal(n.value);
      case Place::batch_size:
        return "batch_size";
      case Place::param:
        return (n.varying ? "p" + std::to_string(place.index)
                          : "params[" + std::to_string(place.index) + "]") +
               "[" + at + "]";
      case Place::input:
        return "x" + std::to_string(place.index) + "[" + at + "]";
      case Place::uniform:
        return "U[" + std::to_string(place.offset) + " + " + at + "]";
      case Place::total:
        return "T[" + std::to_string(place.offset) + " + " + at + "]";
      case Place::local:
        return one ? "v" + std::to_string(id) : "v" + std::to_string(id) + "[" + e + "]";
    }
    return "";
  }

  // Where the element of `operand` that broadcasts to element `e` of a `target`-shaped value
  // lives (the strides of the CPU kernels: a dimension of 1 repeats).
  std::string operand_index(NodeId operand, const Shape& target) const {
    const Shape s = g_[operand].shape;
    if (s.size() == 1) return "0";
    if (s == target) return "i";
    const std::int64_t col = s.rank >= 1 && s.dims[s.rank - 1] != 1 ? 1 : 0;
    const std::int64_t row = s.rank == 2 && s.dims[0] != 1 ? s.dims[1] : 0;
    const std::string cols = std::to_string(target.cols());
    return "(i / " + cols + ") * " + std::to_string(row) + " + (i % " + cols + ") * " +
           std::to_string(col);
  }

  // A local's declaration; nothing for a node written into U.
  void declare(std::ostream& o, NodeId id) const {
    if (places_[id].kind != Place::local) return;
    const std::int64_t size = g_[id].shape.size();
    o << "  Real v" << id;
    if (size > 1) o << "[" << size << "]";
    o << ";\n";
  }

  void emit_node(std::ostream& o, NodeId id) const {
    const Node& n = g_[id];
    declare(o, id);
    const std::int64_t size = n.shape.size();
    const auto out = [&](const std::string& e) { return ref(id, e); };
    const auto a = [&](const std::string& e) { return ref(n[0], e); };
    const auto b = [&](const std::string& e) { return ref(n[1], e); };
    const std::string N = std::to_string(size);
    if (const char* text = kSpellings[op_index(n.op)].text) {
      const std::string ea = operand_index(n[0], n.shape);
      const std::string eb = n.arity > 1 ? operand_index(n[1], n.shape) : "";
      const std::string value = substitute(text, a(ea), n.arity > 1 ? b(eb) : "");
      if (size == 1)
        o << "  " << out("0") << " = " << substitute(text, a("0"), n.arity > 1 ? b("0") : "")
          << ";\n";
      else
        o << "  for (int i = 0; i < " << N << "; ++i) " << out("i") << " = " << value << ";\n";
      return;
    }
    const Shape sa = g_[n[0]].shape;
    const std::string na = std::to_string(sa.size());
    switch (n.op) {
      case Op::sum:
      case Op::mean:
      case Op::norm:
      case Op::dot: {
        const std::string term = n.op == Op::dot    ? a("i") + " * " + b("i")
                                 : n.op == Op::norm ? a("i") + " * " + a("i")
                                                    : a("i");
        o << "  { Real s = Real(0); for (int i = 0; i < " << na << "; ++i) s += " << term << "; "
          << out("0") << " = "
          << (n.op == Op::mean   ? "s * " + literal(1.0 / static_cast<double>(sa.size()))
              : n.op == Op::norm ? std::string("sqrt(s)")
                                 : std::string("s"))
          << "; }\n";
        return;
      }
      case Op::matmul: {
        const Shape sb = g_[n[1]].shape;
        const std::int64_t m = sa.rank == 2 ? sa.dims[0] : 1, k = sa.dims[sa.rank - 1];
        const std::int64_t cols = sb.rank == 2 ? sb.dims[1] : 1;
        o << "  for (int ri = 0; ri < " << m << "; ++ri) for (int ci = 0; ci < " << cols
          << "; ++ci) { Real s = Real(0); for (int q = 0; q < " << k
          << "; ++q) s += " << a("ri * " + std::to_string(k) + " + q") << " * "
          << b("q * " + std::to_string(cols) + " + ci") << "; "
          << out("ri * " + std::to_string(cols) + " + ci") << " = s; }\n";
        return;
      }
      case Op::outer: {
        const std::string cols = std::to_string(n.shape.dims[1]);
        o << "  for (int ri = 0; ri < " << n.shape.dims[0] << "; ++ri) for (int ci = 0; ci < "
          << cols << "; ++ci) " << out("ri * " + cols + " + ci") << " = " << a("ri") << " * "
          << b("ci") << ";\n";
        return;
      }
      case Op::transpose: {
        const std::string rows = std::to_string(n.shape.dims[0]);
        const std::string cols = std::to_string(n.shape.dims[1]);
        o << "  for (int ri = 0; ri < " << rows << "; ++ri) for (int ci = 0; ci < " << cols
          << "; ++ci) " << out("ri * " + cols + " + ci") << " = " << a("ci * " + rows + " + ri")
          << ";\n";
        return;
      }
      case Op::softmax:
      case Op::logsumexp: {
        // max + log Σ exp(v - max), as the CPU kernel: never overflows; an infinite or NaN
        // max is the result itself.
        o << "  { Real m = " << a("0") << "; for (int i = 1; i < " << na << "; ++i) m = " << a("i")
          << " > m ? " << a("i") << " : m; Real lse = m; if (m - m == Real(0)) { Real s = "
          << "Real(0); for (int i = 0; i < " << na << "; ++i) s += exp(" << a("i")
          << " - m); lse = m + log(s); }";
        if (n.op == Op::logsumexp)
          o << " " << out("0") << " = lse; }\n";
        else
          o << " for (int i = 0; i < " << N << "; ++i) " << out("i") << " = exp(" << a("i")
            << " - lse); }\n";
        return;
      }
      case Op::onehot: {
        // A class index outside [0, k) or not whole gives NaN in every place (the divergence
        // guard then names this node), where the CPU path stops with an input error.
        o << "  { const Real cls = " << a("0") << "; const bool ok = cls >= Real(0) && cls < Real("
          << N << ") && floor(cls) == cls; for (int i = 0; i < " << N << "; ++i) " << out("i")
          << " = ok ? (Real(i) == cls ? Real(1) : Real(0)) : Real(0) / Real(0); }\n";
        return;
      }
      case Op::sum_to: {
        const Shape to = n.shape;
        const std::int64_t col = to.rank >= 1 && to.dims[to.rank - 1] != 1 ? 1 : 0;
        const std::int64_t row = to.rank == 2 && to.dims[0] != 1 ? to.dims[1] : 0;
        o << "  for (int i = 0; i < " << N << "; ++i) " << out("i") << " = Real(0);\n";
        o << "  for (int ri = 0; ri < " << sa.rows() << "; ++ri) for (int ci = 0; ci < "
          << sa.cols() << "; ++ci) "
          << out("ri * " + std::to_string(row) + " + ci * " + std::to_string(col))
          << " += " << a("ri * " + std::to_string(sa.cols()) + " + ci") << ";\n";
        return;
      }
      default:
        refuse(id, "no CUDA spelling for this op");
    }
  }

  static void unused(std::ostream& o, std::initializer_list<const char*> names) {
    for (const char* name : names) o << "  (void)" << name << ";\n";
  }

  void emit_uniform_first(std::ostream& o) const {
    o << "DESCENT_HD inline void " << request_.name
      << "_uniform_first(const Real* const* params, Real batch_size, Real* U) {\n"
         "  DESCENT_USING_MATH;\n";
    unused(o, {"params", "batch_size", "U"});
    for (NodeId id : first_) emit_node(o, id);
    o << "}\n\n";
  }

  void emit_sample(std::ostream& o) const {
    o << "DESCENT_HD inline void " << request_.name
      << "_sample(long long r, const Real* const* inputs, const long long* index, "
         "const Real* const* params, const Real* U, Real batch_size, Real* acc, "
         "Real* const* outputs) {\n  DESCENT_USING_MATH;\n";
    unused(o, {"r", "inputs", "index", "params", "U", "batch_size", "acc", "outputs"});
    o << "  const long long row = index ? index[r] : r;\n  (void)row;\n";
    for (std::size_t k = 0; k < request_.inputs.size(); ++k)
      if (request_.inputs[k] != kNoNode)
        o << "  const Real* x" << k << " = inputs[" << k << "] + row * "
          << g_[request_.inputs[k]].shape.size() << ";\n  (void)x" << k << ";\n";
    for (std::size_t k = 0; k < request_.params.size(); ++k)
      if (request_.params[k] != kNoNode && g_[request_.params[k]].varying)  // minimize mode
        o << "  const Real* p" << k << " = params[" << k << "] + r * "
          << g_[request_.params[k]].shape.size() << ";\n  (void)p" << k << ";\n";
    for (NodeId id : per_sample_) emit_node(o, id);
    for (NodeId id : totals_) {
      const NodeId c = g_[id][0];
      const std::int64_t size = g_[id].shape.size();
      o << "  for (int i = 0; i < " << size << "; ++i) acc[" << places_[id].offset
        << " + i] += " << ref(c, "i") << ";\n";
    }
    for (std::size_t j = 0; j < request_.outputs.size(); ++j) {
      const NodeId id = request_.outputs[j];
      if (!g_[id].varying) continue;
      const std::int64_t size = g_[id].shape.size();
      o << "  for (int i = 0; i < " << size << "; ++i) outputs[" << j << "][r * " << size
        << " + i] = " << ref(id, "i") << ";\n";
    }
    o << "}\n\n";
  }

  // Total value k after the sum over the batch: batch_mean's are divided by the row count.
  void emit_finish_total(std::ostream& o) const {
    o << "DESCENT_HD inline Real " << request_.name
      << "_finish_total(long long k, Real sum, Real rows) {\n  (void)k;\n  (void)rows;\n";
    for (NodeId id : totals_)
      if (g_[id].op == Op::batch_mean)
        o << "  if (k >= " << places_[id].offset << " && k < "
          << places_[id].offset + g_[id].shape.size() << ") return sum / rows;\n";
    o << "  return sum;\n}\n\n";
  }

  void emit_uniform_last(std::ostream& o) const {
    o << "DESCENT_HD inline void " << request_.name
      << "_uniform_last(const Real* const* params, const Real* U, const Real* T, "
         "Real batch_size, Real* const* outputs) {\n  DESCENT_USING_MATH;\n";
    unused(o, {"params", "U", "T", "batch_size", "outputs"});
    for (NodeId id : last_) emit_node(o, id);
    for (std::size_t j = 0; j < request_.outputs.size(); ++j) {
      const NodeId id = request_.outputs[j];
      if (g_[id].varying) continue;
      o << "  for (int i = 0; i < " << g_[id].shape.size() << "; ++i) outputs[" << j
        << "][i] = " << ref(id, "i") << ";\n";
    }
    o << "}\n\n";
  }

  // The launches: one thread for each uniform phase; the samples over a grid-stride loop with
  // a fixed-order shared-memory reduction per block (so the sums depend on the launch shape,
  // never on timing); then the per-block partials summed in block order.
  void emit_kernels(std::ostream& o) const {
    const std::string& p = request_.name;
    o << "#if defined(__CUDACC__)\n"
      << "constexpr int " << p << "_kBlock = 256;\n"
      << "extern \"C\" __global__ void " << p
      << "_first_kernel(const Real* const* params, Real batch_size, Real* U) {\n"
      << "  if (blockIdx.x == 0 && threadIdx.x == 0) " << p
      << "_uniform_first(params, batch_size, U);\n}\n"
      << "extern \"C\" __global__ void __launch_bounds__(256) " << p
      << "_sample_kernel(long long rows, const Real* const* inputs, const long long* index, "
         "const Real* const* params, const Real* U, Real batch_size, Real* partials, "
         "Real* const* outputs) {\n"
      << "  Real acc[" << p << "_kTotals > 0 ? " << p << "_kTotals : 1];\n"
      << "  for (long long k = 0; k < " << p << "_kTotals; ++k) acc[k] = Real(0);\n"
      << "  for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < rows; "
         "r += (long long)gridDim.x * blockDim.x)\n"
      << "    " << p << "_sample(r, inputs, index, params, U, batch_size, acc, outputs);\n"
      << "  __shared__ Real shared[" << p << "_kBlock];\n"
      << "  for (long long k = 0; k < " << p << "_kTotals; ++k) {\n"
      << "    shared[threadIdx.x] = acc[k];\n    __syncthreads();\n"
      << "    for (int s = " << p << "_kBlock / 2; s > 0; s >>= 1) {\n"
      << "      if ((int)threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];\n"
      << "      __syncthreads();\n    }\n"
      << "    if (threadIdx.x == 0) partials[blockIdx.x * " << p << "_kTotals + k] = shared[0];\n"
      << "    __syncthreads();\n  }\n}\n"
      << "extern \"C\" __global__ void " << p
      << "_reduce_kernel(const Real* partials, int blocks, Real rows, Real* T) {\n"
      << "  for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k < " << p
      << "_kTotals; k += (long long)gridDim.x * blockDim.x) {\n"
      << "    Real s = Real(0);\n"
      << "    for (int b = 0; b < blocks; ++b) s += partials[b * " << p << "_kTotals + k];\n"
      << "    T[k] = " << p << "_finish_total(k, s, rows);\n  }\n}\n"
      << "extern \"C\" __global__ void " << p
      << "_last_kernel(const Real* const* params, const Real* U, const Real* T, "
         "Real batch_size, Real* const* outputs) {\n"
      << "  if (blockIdx.x == 0 && threadIdx.x == 0) " << p
      << "_uniform_last(params, U, T, batch_size, outputs);\n}\n"
      << "#endif\n";
  }

  const Graph& g_;
  const EmitRequest& request_;
  std::vector<Place> places_;
  std::vector<NodeId> first_, per_sample_, totals_, last_;
  std::int64_t uniform_size_ = 0, total_size_ = 0;
};

}  // namespace

EmittedProgram emit_program(const Graph& graph, const EmitRequest& request) {
  return Emitter(graph, request).run();
}

EmitRequest emit_request(const Program& program, std::string name, Precision precision) {
  EmitRequest request;
  request.name = std::move(name);
  request.precision = precision;
  for (const ProgramInput& in : program.inputs) request.inputs.push_back(in.node);
  for (const ProgramParam& p : program.params) request.params.push_back(p.node);
  request.outputs = program.step_outputs();
  request.outputs.push_back(program.objective);
  return request;
}

}  // namespace descent::codegen
