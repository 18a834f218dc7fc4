// The op table's first columns (see ops.hpp for where the other columns live).
#include "graph/ops.hpp"

#include <array>

namespace descent {

namespace {
using K = OpKind;
// clang-format off
constexpr std::array<OpInfo, kOpCount> kOps = {{
  //  op              name          arity kind       comm.  finite-preserving
  {Op::constant,   "constant",   0, K::leaf,   false, true},
  {Op::variable,   "variable",   0, K::leaf,   false, true},
  {Op::neg,        "neg",        1, K::unary,  false, true},
  {Op::exp,        "exp",        1, K::unary,  false, false},
  {Op::log,        "log",        1, K::unary,  false, false},
  {Op::log1p,      "log1p",      1, K::unary,  false, false},
  {Op::expm1,      "expm1",      1, K::unary,  false, false},
  {Op::sqrt,       "sqrt",       1, K::unary,  false, false},
  {Op::abs,        "abs",        1, K::unary,  false, true},
  {Op::sin,        "sin",        1, K::unary,  false, true},
  {Op::cos,        "cos",        1, K::unary,  false, true},
  {Op::tan,        "tan",        1, K::unary,  false, false},
  {Op::tanh,       "tanh",       1, K::unary,  false, true},
  {Op::sigmoid,    "sigmoid",    1, K::unary,  false, true},
  {Op::softplus,   "softplus",   1, K::unary,  false, true},
  {Op::relu,       "relu",       1, K::unary,  false, true},
  {Op::sign,       "sign",       1, K::unary,  false, true},
  {Op::step,       "step",       1, K::unary,  false, true},
  {Op::add,        "add",        2, K::binary, true,  true},
  {Op::sub,        "sub",        2, K::binary, false, true},
  {Op::mul,        "mul",        2, K::binary, true,  true},
  {Op::div,        "div",        2, K::binary, false, false},
  {Op::pow,        "pow",        2, K::binary, false, false},
  {Op::min,        "min",        2, K::binary, true,  true},
  {Op::max,        "max",        2, K::binary, true,  true},
  {Op::xlogy,      "xlogy",      2, K::binary, false, false},
  {Op::sum,        "sum",        1, K::tensor, false, true},
  {Op::mean,       "mean",       1, K::tensor, false, true},
  {Op::dot,        "dot",        2, K::tensor, true,  true},
  {Op::matmul,     "matmul",     2, K::tensor, false, true},
  {Op::outer,      "outer",      2, K::tensor, false, true},
  {Op::transpose,  "transpose",  1, K::tensor, false, true},
  {Op::softmax,    "softmax",    1, K::tensor, false, true},
  {Op::logsumexp,  "logsumexp",  1, K::tensor, false, true},
  {Op::norm,       "norm",       1, K::tensor, false, true},
  {Op::onehot,     "onehot",     1, K::tensor, false, true},
  {Op::sum_to,     "sum_to",     1, K::tensor, false, true},
  {Op::batch_mean, "batch_mean", 1, K::batch,  false, true},
  {Op::batch_sum,  "batch_sum",  1, K::batch,  false, true},
}};
// clang-format on

static_assert(rows_follow_op_order(kOps), "kOps rows must follow the order of enum Op");
}  // namespace

const OpInfo& op_info(Op op) { return kOps[op_index(op)]; }

std::optional<Op> op_for_function(std::string_view name) {
  for (const OpInfo& info : kOps) {
    if (info.kind == OpKind::leaf || info.kind == OpKind::batch) continue;
    if (info.name == name) return info.op;
  }
  return std::nullopt;
}

}  // namespace descent
