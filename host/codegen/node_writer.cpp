// Spelling nodes as emitted C++ (see node_writer.hpp).
#include "codegen/node_writer.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "graph/ops.hpp"
#include "graph/window.hpp"

namespace descent::codegen {

namespace {

// The elementwise spelling of an op, "%a" and "%b" standing for the operands: the arithmetic
// ops infix, every other unary and binary op as its function in graph/scalar_math.hpp
// (descent::math::<op name>, which DESCENT_ELEMENTWISE_OPS guarantees exists); nothing for the
// ops written by their own loops (reductions, products, ...) and the leaves.
std::optional<std::string> elementwise_spelling(Op op) {
  switch (op) {
    case Op::neg:
      return "-(%a)";
    case Op::add:
      return "(%a + %b)";
    case Op::sub:
      return "(%a - %b)";
    case Op::mul:
      return "(%a * %b)";
    case Op::div:
      return "(%a / %b)";
    default:
      break;
  }
  const OpInfo& info = op_info(op);
  const std::string call = "descent::math::" + std::string(info.name);
  if (info.kind == OpKind::unary) return call + "(%a)";
  if (info.kind == OpKind::binary) return call + "(%a, %b)";
  return std::nullopt;
}

std::string substitute(std::string text, const std::string& a, const std::string& b) {
  for (std::size_t at; (at = text.find("%a")) != std::string::npos;) text.replace(at, 2, a);
  for (std::size_t at; (at = text.find("%b")) != std::string::npos;) text.replace(at, 2, b);
  return text;
}

std::string str(std::int64_t v) { return std::to_string(v); }

// `for (int i = tid; i < n; i += nthreads) <body>`: element i of a node over the block's threads.
std::string element_loop(std::int64_t n, const std::string& var) {
  return "  for (int " + var + " = tid; " + var + " < " + str(n) + "; " + var + " += nthreads) ";
}

}  // namespace

std::string real_literal(double v) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", v);
  std::string text = buffer;
  if (text == "inf") return "(Real(1) / Real(0))";
  if (text == "-inf") return "(-Real(1) / Real(0))";
  if (text == "nan" || text == "-nan") return "(Real(0) / Real(0))";
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return "Real(" + text + ")";
}

void NodeWriter::refuse(NodeId id, const std::string& why) const {
  throw Error(ExitCode::failure, "the CUDA emitter cannot lower node " + std::to_string(id) + " (" +
                                     std::string(op_info(g_[id].op).name) + "): " + why);
}

std::string NodeWriter::ref(NodeId id, const std::string& e) const {
  const Node& n = g_[id];
  const Place& place = places_[id];
  const bool one = n.shape.size() == 1;
  const std::string at = one ? "0" : e;
  const std::string off = place.offset == 0 ? "" : str(place.offset) + " + ";
  switch (place.kind) {
    case Place::literal:
      return real_literal(n.value);
    case Place::batch_size:
      return "Real(s.rows)";
    case Place::param:
      return place.per_sample ? "p" + std::to_string(place.index) + "[" + at + "]"
                              : "s.params[" + off + at + "]";
    case Place::constant:
      return "s.constants[" + off + at + "]";
    case Place::input:
      return "x" + std::to_string(place.index) + "[" + at + "]";
    case Place::uniform:
      return "s.uniforms[" + off + at + "]";
    case Place::total:
      return "s.totals[" + off + at + "]";
    case Place::last:
      return "s.lasts[" + off + at + "]";
    case Place::local:
      return one ? "v" + std::to_string(id) : "v" + std::to_string(id) + "[" + e + "]";
    case Place::stored:  // element-major: element e of every row, then element e + 1
      if (place.offset < 0) refuse(id, "the value has no slot in the per-row buffer");
      return one ? "s.rowbuf[" + str(place.offset) + " * s.rows + r]"
                 : "s.rowbuf[(" + str(place.offset) + " + (" + e + ")) * s.rows + r]";
    case Place::unused:
      break;
  }
  refuse(id, "the node has no place in the emitted program");
}

std::string NodeWriter::operand_index(NodeId operand, const Shape& target,
                                      const std::string& e) const {
  const Shape s = g_[operand].shape;
  if (s.size() == 1) return "0";
  if (s == target) return e;
  const std::int64_t col = s.rank >= 1 && s.dims[s.rank - 1] != 1 ? 1 : 0;
  const std::int64_t row = s.rank == 2 && s.dims[0] != 1 ? s.dims[1] : 0;
  const std::string cols = str(target.cols());
  return "(" + e + " / " + cols + ") * " + str(row) + " + (" + e + " % " + cols + ") * " + str(col);
}

void NodeWriter::declare(std::ostream& o, NodeId id) const {
  if (places_[id].kind != Place::local) return;
  const std::int64_t size = g_[id].shape.size();
  o << "  Real v" << id;
  if (size > 1) o << "[" << size << "]";
  o << ";\n";
}

void NodeWriter::write(std::ostream& o, NodeId id) const {
  const Node& n = g_[id];
  if (const std::optional<std::string> spelling = elementwise_spelling(n.op)) {
    const std::string& text = *spelling;
    const std::int64_t size = n.shape.size();
    const auto operand = [&](int k, const std::string& e) {
      return ref(n[k], operand_index(n[k], n.shape, e));
    };
    const std::string value = substitute(text, operand(0, "i"), n.arity > 1 ? operand(1, "i") : "");
    if (size == 1)
      o << "  if (tid == 0) " << ref(id, "0") << " = "
        << substitute(text, ref(n[0], "0"), n.arity > 1 ? ref(n[1], "0") : "") << ";\n";
    else
      o << element_loop(size, "i") << ref(id, "i") << " = " << value << ";\n";
    return;
  }
  switch (n.op) {
    case Op::sum:
    case Op::mean:
    case Op::norm:
    case Op::dot:
    case Op::softmax:
    case Op::logsumexp:
    case Op::argmax:
      return write_reduction(o, id);
    case Op::matmul:
    case Op::outer:
    case Op::transpose:
      return write_product(o, id);
    default:
      return write_other(o, id);
  }
}

// Reductions over a sample's values, in one thread and in index order.
void NodeWriter::write_reduction(std::ostream& o, NodeId id) const {
  const Node& n = g_[id];
  const auto a = [&](const std::string& e) { return ref(n[0], e); };
  const auto out = [&](const std::string& e) { return ref(id, e); };
  const std::int64_t na = g_[n[0]].shape.size();
  if (n.op == Op::argmax) {  // the first largest; NaN when an element is NaN, as the CPU's
    o << "  if (tid == 0) { Real r = Real(0); int best = 0; for (int i = 0; i < " << na
      << "; ++i) { if (" << a("i") << " != " << a("i") << ") { r = Real(0) / Real(0); break; } if ("
      << a("i") << " > " << a("best") << ") best = i; r = Real(best); } " << out("0")
      << " = r; }\n";
    return;
  }
  if (n.op == Op::softmax || n.op == Op::logsumexp) {
    // max + log Σ exp(v - max), as the CPU kernel: never overflows; an infinite or NaN max is
    // the result itself.
    o << "  if (tid == 0) { Real m = " << a("0") << "; for (int i = 1; i < " << na
      << "; ++i) m = " << a("i") << " > m ? " << a("i")
      << " : m; Real lse = m; if (m - m == Real(0)) { Real t = Real(0); for (int i = 0; i < " << na
      << "; ++i) t += descent::math::exp(" << a("i") << " - m); lse = m + descent::math::log(t); }";
    if (n.op == Op::logsumexp)
      o << " " << out("0") << " = lse; }\n";
    else
      o << " for (int i = 0; i < " << n.shape.size() << "; ++i) " << out("i")
        << " = descent::math::exp(" << a("i") << " - lse); }\n";
    return;
  }
  const std::string term = n.op == Op::dot    ? a("i") + " * " + ref(n[1], "i")
                           : n.op == Op::norm ? a("i") + " * " + a("i")
                                              : a("i");
  o << "  if (tid == 0) { Real t = Real(0); for (int i = 0; i < " << na << "; ++i) t += " << term
    << "; " << out("0") << " = "
    << (n.op == Op::mean   ? "t * " + real_literal(1.0 / static_cast<double>(na))
        : n.op == Op::norm ? std::string("descent::math::sqrt(t)")
                           : std::string("t"))
    << "; }\n";
}

// Matrix products, outer products and transposes: one output element per loop index.
void NodeWriter::write_product(std::ostream& o, NodeId id) const {
  const Node& n = g_[id];
  const auto a = [&](const std::string& e) { return ref(n[0], e); };
  const auto out = [&](const std::string& e) { return ref(id, e); };
  const Shape sa = g_[n[0]].shape;
  if (n.op == Op::matmul) {
    const Shape sb = g_[n[1]].shape;
    const std::int64_t m = sa.rank == 2 ? sa.dims[0] : 1, k = sa.dims[sa.rank - 1];
    const std::int64_t cols = sb.rank == 2 ? sb.dims[1] : 1;
    o << element_loop(m * cols, "e") << "{ const int ri = e / " << cols << ", ci = e % " << cols
      << "; Real t = Real(0); for (int q = 0; q < " << k
      << "; ++q) t += " << a("ri * " + str(k) + " + q") << " * "
      << ref(n[1], "q * " + str(cols) + " + ci") << "; " << out("e") << " = t; }\n";
    return;
  }
  const std::int64_t rows = n.shape.dims[0], cols = n.shape.dims[1];
  o << element_loop(rows * cols, "e") << "{ const int ri = e / " << cols << ", ci = e % " << cols
    << "; " << out("e") << " = ";
  if (n.op == Op::outer)
    o << a("ri") << " * " << ref(n[1], "ci") << "; }\n";
  else  // transpose: output (ri, ci) is input (ci, ri)
    o << a("ci * " + str(rows) + " + ri") << "; }\n";
}

void NodeWriter::write_other(std::ostream& o, NodeId id) const {
  const Node& n = g_[id];
  const auto a = [&](const std::string& e) { return ref(n[0], e); };
  const auto out = [&](const std::string& e) { return ref(id, e); };
  const std::string N = str(n.shape.size());
  switch (n.op) {
    case Op::onehot:
      // A class index outside [0, k) or not whole gives NaN in every place (the divergence
      // guard then names this node), where the CPU path stops with an input error.
      o << "  if (tid == 0) { const Real cls = " << a("0")
        << "; const bool ok = cls >= Real(0) && cls < Real(" << N
        << ") && DESCENT_LIBM(floor)(cls) == cls; for (int i = 0; i < " << N << "; ++i) "
        << out("i") << " = ok ? (Real(i) == cls ? Real(1) : Real(0)) : Real(0) / Real(0); }\n";
      return;
    case Op::sum_to: {
      const Shape sa = g_[n[0]].shape;
      const Shape to = n.shape;
      const std::int64_t col = to.rank >= 1 && to.dims[to.rank - 1] != 1 ? 1 : 0;
      const std::int64_t row = to.rank == 2 && to.dims[0] != 1 ? to.dims[1] : 0;
      o << "  if (tid == 0) { for (int i = 0; i < " << N << "; ++i) " << out("i")
        << " = Real(0); for (int ri = 0; ri < " << sa.rows() << "; ++ri) for (int ci = 0; ci < "
        << sa.cols() << "; ++ci) " << out("ri * " + str(row) + " + ci * " + str(col))
        << " += " << a("ri * " + str(sa.cols()) + " + ci") << "; }\n";
      return;
    }
    case Op::slice: {
      // Dropping an indexed axis (of length 1) keeps the row-major order, so element e of the
      // result is (row r0 + e / width, column c0 + e % width) of the operand's window.
      const Shape from = g_[n[0]].shape;
      const Slicing w = slicing_of(g_.attr(n));
      const SliceAxis rows = w.rank == 2 ? w.axis[0] : SliceAxis{0, 1, true};
      const SliceAxis cols = w.axis[w.rank - 1];
      const std::int64_t width = cols.stop - cols.start;
      const std::string first = str(rows.start * from.cols() + cols.start);
      const std::string at = rows.stop - rows.start == 1
                                 ? first + " + e"
                                 : first + " + (e / " + str(width) + ") * " + str(from.cols()) +
                                       " + e % " + str(width);
      o << element_loop(n.shape.size(), "e") << out("e") << " = " << a(at) << ";\n";
      return;
    }
    case Op::pad: {
      // Element (ri, ci) of the result is the operand's (ri - top, ci - left) inside the
      // operand's place, else 0 (the operand is read only inside).
      const Shape from = g_[n[0]].shape;
      const Padding p = padding_of(g_.attr(n));
      const std::int64_t top = p.rank == 2 ? p.before[0] : 0, left = p.before[p.rank - 1];
      const std::string cols = str(n.shape.cols());
      o << element_loop(n.shape.size(), "e") << "{ const int ri = e / " << cols << " - " << top
        << ", ci = e % " << cols << " - " << left << "; " << out("e") << " = ri >= 0 && ri < "
        << from.rows() << " && ci >= 0 && ci < " << from.cols() << " ? "
        << a("ri * " + str(from.cols()) + " + ci") << " : Real(0); }\n";
      return;
    }
    default:
      refuse(id, "no CUDA spelling for this op");
  }
}

}  // namespace descent::codegen
