// The op table: one row per op of the language. Its first columns (name, arity, kind, algebraic
// facts, attribute) are kOpTable below; the others live beside the code that uses them, each an
// array indexed by Op whose rows name their op, guarded by static_assert(rows_follow_op_order),
// so that adding a row here without filling every column fails to compile:
//   shape rule          host/graph/graph.cpp     (kShapeRules)
//   derivative rule     host/ad/rules.cpp        (kDerivativeRules)
//   CPU evaluation      host/cpu/kernels.cpp     (kCpuKernels)
//   printed form        host/graph/printer.cpp   (kSpellings: a call or an infix operator)
//   elementwise math    host/graph/scalar_math.hpp (DESCENT_ELEMENTWISE_OPS and math::<name>),
//                       from which graph/elementwise.cpp builds the constant folder's and the
//                       CPU interpreter's column and codegen/node_writer.cpp spells the op in
//                       emitted CUDA; elementwise.cpp static_asserts the list is exactly the
//                       unary and binary ops.
//
// Adding an op, step by step (what catches a step left out is in brackets):
//   1. Its enumerator in Op, in the group of its kind, and its row in kOpTable at the same place
//      [static_assert below]. An attribute (OpAttr) makes lowering read literals after the
//      operand and the printer write them back; nothing else to do for it (slice's window is
//      the exception: written in brackets, graph/window.hpp packs it into the node).
//   2. Its row in each column above [each column's static_assert fails to compile].
//   3. Elementwise (unary or binary): its function in descent::math and its name in
//      DESCENT_ELEMENTWISE_OPS [elementwise.cpp's static_assert]; the CPU kernel's row can
//      point at the generic kernel, which reads math::<name> through the list; a vectorised
//      form in cpu/kernels.cpp's FastMath is optional (tests/cpu_vector_math_test.cpp bounds it).
//      Any other kind: its CPU kernel and its emitter case in codegen/node_writer.cpp
//      [tests/codegen_host_executor_test.cpp and the emitter refuse an op they cannot write].
//   4. Stabilizer and simplifier rules, if it has identities worth using (graph/stabilize.cpp,
//      graph/simplify.cpp) [optional].
//   5. A use in the gradient-check corpus [tests/ad_gradcheck_test.cpp asserts every op is
//      covered] and the README's list of functions [tests/op_table_test.cpp].
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace descent {

// clang-format off
enum class Op : std::uint8_t {
  // leaves
  constant,  // a number, filled into the node's shape
  variable,  // a named input, parameter or free variable
  // elementwise unary
  neg, exp, log, log1p, expm1, sqrt, abs, sin, cos, tan, tanh, sigmoid, softplus, relu,
  sign,  // -1, 0, 1; sign(0) = 0
  step,  // 1 for x > 0, else 0
  // elementwise binary (NumPy broadcasting)
  add, sub, mul, div, pow, min, max,
  xlogy,  // x*log(y), defined as 0 where x == 0 (so 0*log(0) is 0, not NaN)
  // comparisons: 1 where true, else 0 (written a < b, a <= b, ...; metrics only, no gradient)
  less, less_equal, greater, greater_equal, equal, not_equal,
  // tensor ops
  sum, mean,   // all elements → scalar
  dot,         // (n), (n) → scalar
  matmul,      // a @ b: (m,k)@(k,n), (m,k)@(k), (k)@(k,n), (k)@(k)
  outer,       // (m), (n) → (m, n)
  transpose,   // (m, n) → (n, m)
  softmax,     // (n) → (n)
  logsumexp,   // any → scalar, computed stably
  norm,        // Euclidean norm of all elements → scalar
  argmax,      // (n) → the index of the first largest element (metrics only, no gradient)
  onehot,      // onehot(index, k): scalar index → (k); k is an attribute
  sum_to,      // sums a broadcast value back down to the attribute shape
  slice,       // x[i], x[a:b], A[i, j], A[a:b, c:d], A[:, j]: written in brackets, not called
  pad,         // pad(v, before, after), pad(A, top, bottom, left, right): zeros around v
  // over the implicit batch axis (training only)
  batch_mean,  // mean over the samples of a batch: varying → uniform
  batch_sum,   // sum over the samples of a batch: varying → uniform
  count_
};
// clang-format on
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::count_);

enum class OpKind : std::uint8_t { leaf, unary, binary, tensor, batch };

// What an op carries besides its children, fixed when the node is built (Graph::apply_with_attr)
// and part of its identity: lowering reads it from literal arguments after the operand, the
// printer writes them back, rewrites copy it.
enum class OpAttr : std::uint8_t {
  none,
  count,   // one whole number n: the result is a vector of n (onehot's class count)
  dims,    // 1 or 2 whole numbers: a target shape (sum_to); a scalar target prints as sum()
  window,  // an index or a range on each axis (slice), written in brackets after the operand
           // (graph/window.hpp); the op is no function of the language
  widths,  // 2 or 4 whole numbers: zeros before and after the operand on each axis (pad)
};

struct OpInfo {
  Op op;
  std::string_view name;  // the function name in the language ("add" etc. for infix ops)
  int arity;
  OpKind kind;
  bool commutative;
  // The result is finite whenever every input is finite (lets x*0 fold to 0 safely).
  bool finite_preserving;
  OpAttr attr;
  std::string_view attr_name;  // what each literal of the attribute is called in errors
  // Has a gradient that training can use. The others (comparisons, argmax) are piecewise
  // constant: a cost or penalty that uses one is refused (program/program.cpp); [metrics] may.
  bool differentiable;
  // The operator that writes the op in the language ("+", "<=", "@"; "-" for neg), or empty for
  // an op written as a call: what the printer writes and what messages quote.
  std::string_view symbol;
};

// clang-format off
inline constexpr std::array<OpInfo, kOpCount> kOpTable = {{
  //  op              name          arity kind            comm.  finite  attribute  differentiable  symbol
  {Op::constant,   "constant",   0, OpKind::leaf,   false, true,  OpAttr::none, {}, true, {}},
  {Op::variable,   "variable",   0, OpKind::leaf,   false, true,  OpAttr::none, {}, true, {}},
  {Op::neg,        "neg",        1, OpKind::unary,  false, true,  OpAttr::none, {}, true, "-"},
  {Op::exp,        "exp",        1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::log,        "log",        1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::log1p,      "log1p",      1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::expm1,      "expm1",      1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::sqrt,       "sqrt",       1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::abs,        "abs",        1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::sin,        "sin",        1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::cos,        "cos",        1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::tan,        "tan",        1, OpKind::unary,  false, false, OpAttr::none, {}, true, {}},
  {Op::tanh,       "tanh",       1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::sigmoid,    "sigmoid",    1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::softplus,   "softplus",   1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::relu,       "relu",       1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::sign,       "sign",       1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::step,       "step",       1, OpKind::unary,  false, true,  OpAttr::none, {}, true, {}},
  {Op::add,        "add",        2, OpKind::binary, true,  true,  OpAttr::none, {}, true, "+"},
  {Op::sub,        "sub",        2, OpKind::binary, false, true,  OpAttr::none, {}, true, "-"},
  {Op::mul,        "mul",        2, OpKind::binary, true,  true,  OpAttr::none, {}, true, "*"},
  {Op::div,        "div",        2, OpKind::binary, false, false, OpAttr::none, {}, true, "/"},
  {Op::pow,        "pow",        2, OpKind::binary, false, false, OpAttr::none, {}, true, "^"},
  {Op::min,        "min",        2, OpKind::binary, true,  true,  OpAttr::none, {}, true, {}},
  {Op::max,        "max",        2, OpKind::binary, true,  true,  OpAttr::none, {}, true, {}},
  {Op::xlogy,      "xlogy",      2, OpKind::binary, false, false, OpAttr::none, {}, true, {}},
  {Op::less,          "less",          2, OpKind::binary, false, true, OpAttr::none, {}, false, "<"},
  {Op::less_equal,    "less_equal",    2, OpKind::binary, false, true, OpAttr::none, {}, false, "<="},
  {Op::greater,       "greater",       2, OpKind::binary, false, true, OpAttr::none, {}, false, ">"},
  {Op::greater_equal, "greater_equal", 2, OpKind::binary, false, true, OpAttr::none, {}, false, ">="},
  {Op::equal,         "equal",         2, OpKind::binary, true,  true, OpAttr::none, {}, false, "=="},
  {Op::not_equal,     "not_equal",     2, OpKind::binary, true,  true, OpAttr::none, {}, false, "!="},
  {Op::sum,        "sum",        1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::mean,       "mean",       1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::dot,        "dot",        2, OpKind::tensor, true,  true,  OpAttr::none, {}, true, {}},
  {Op::matmul,     "matmul",     2, OpKind::tensor, false, true,  OpAttr::none, {}, true, "@"},
  {Op::outer,      "outer",      2, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::transpose,  "transpose",  1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::softmax,    "softmax",    1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::logsumexp,  "logsumexp",  1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::norm,       "norm",       1, OpKind::tensor, false, true,  OpAttr::none, {}, true, {}},
  {Op::argmax,     "argmax",     1, OpKind::tensor, false, true,  OpAttr::none, {}, false, {}},
  {Op::onehot,     "onehot",     1, OpKind::tensor, false, true,  OpAttr::count, "class count", true, {}},
  {Op::sum_to,     "sum_to",     1, OpKind::tensor, false, true,  OpAttr::dims, "a dimension", true, {}},
  {Op::slice,      "slice",      1, OpKind::tensor, false, true,  OpAttr::window, "an index", true, {}},
  {Op::pad,        "pad",        1, OpKind::tensor, false, true,  OpAttr::widths, "a pad width", true, {}},
  {Op::batch_mean, "batch_mean", 1, OpKind::batch,  false, true,  OpAttr::none, {}, true, {}},
  {Op::batch_sum,  "batch_sum",  1, OpKind::batch,  false, true,  OpAttr::none, {}, true, {}},
}};
// clang-format on

inline constexpr std::size_t op_index(Op op) { return static_cast<std::size_t>(op); }
inline constexpr const OpInfo& op_info(Op op) { return kOpTable[op_index(op)]; }
inline constexpr std::string_view op_name(Op op) { return op_info(op).name; }

// True when row i of a column of the op table (an array indexed by Op whose rows name their
// op: shape rule, derivative rule, CPU kernel, ...) is the row of Op i. Every column
// static_asserts it, so that adding an op without its row in every column fails to compile.
template <class Rows>
constexpr bool rows_follow_op_order(const Rows& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (static_cast<std::size_t>(rows[i].op) != i) return false;
  return true;
}
static_assert(rows_follow_op_order(kOpTable), "kOpTable rows must follow the order of enum Op");

// Only unary tensor ops carry an attribute (the lowering and the printer read the operand
// first, then the attribute's literals).
inline constexpr bool attributes_are_on_unary_tensor_ops() {
  for (const OpInfo& info : kOpTable)
    if (info.attr != OpAttr::none &&
        (info.arity != 1 || info.kind != OpKind::tensor || info.attr_name.empty()))
      return false;
  return true;
}
static_assert(attributes_are_on_unary_tensor_ops());

// The op that a function call `name(...)` in the language denotes, if any.
std::optional<Op> op_for_function(std::string_view name);

}  // namespace descent
