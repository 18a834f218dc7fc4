// The op table's first columns: every op's name, arity, kind and algebraic facts.
// The other columns live beside the code that uses them, each as an array indexed by Op
// guarded by static_assert(size == kOpCount), so adding a row here without filling every
// column fails to compile:
//   shape rule          host/graph/graph.cpp     (infer_shape)
//   derivative rule     host/ad/rules.cpp        (kDerivativeRules)
//   CPU evaluation      host/cpu/kernels.cpp     (kCpuKernels)
//   printed spelling    host/graph/printer.cpp   (kSpellings)
#pragma once

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
  // tensor ops
  sum, mean,   // all elements → scalar
  dot,         // (n), (n) → scalar
  matmul,      // a @ b: (m,k)@(k,n), (m,k)@(k), (k)@(k,n), (k)@(k)
  outer,       // (m), (n) → (m, n)
  transpose,   // (m, n) → (n, m)
  softmax,     // (n) → (n)
  logsumexp,   // any → scalar, computed stably
  norm,        // Euclidean norm of all elements → scalar
  onehot,      // onehot(index, k): scalar index → (k); k is an attribute
  sum_to,      // sums a broadcast value back down to the attribute shape
  // over the implicit batch axis (training only)
  batch_mean,  // mean over the samples of a batch: varying → uniform
  batch_sum,   // sum over the samples of a batch: varying → uniform
  count_
};
// clang-format on
inline constexpr std::size_t kOpCount = static_cast<std::size_t>(Op::count_);

enum class OpKind : std::uint8_t { leaf, unary, binary, tensor, batch };

struct OpInfo {
  Op op;
  std::string_view name;  // the function name in the language ("add" etc. for infix ops)
  int arity;
  OpKind kind;
  bool commutative;
  // The result is finite whenever every input is finite (lets x*0 fold to 0 safely).
  bool finite_preserving;
};

const OpInfo& op_info(Op op);
inline std::string_view op_name(Op op) { return op_info(op).name; }
inline std::size_t op_index(Op op) { return static_cast<std::size_t>(op); }

// True when row i of a column of the op table (an array indexed by Op whose rows name their
// op: shape rule, derivative rule, CPU kernel, ...) is the row of Op i. Every column
// static_asserts it, so that adding an op without its row in every column fails to compile.
template <class Rows>
constexpr bool rows_follow_op_order(const Rows& rows) {
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (static_cast<std::size_t>(rows[i].op) != i) return false;
  return true;
}

// The op that a function call `name(...)` in the language denotes, if any.
std::optional<Op> op_for_function(std::string_view name);

}  // namespace descent
