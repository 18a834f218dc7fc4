// Elementwise scalar functions by op, as a table indexed by Op.
#include "graph/elementwise.hpp"

#include <array>
#include <cmath>

#include "graph/scalar_math.hpp"

namespace descent {

namespace {
namespace m = descent::math;
// clang-format off
constexpr std::array<ElementwiseFn, kOpCount> kElementwise = {{
  {Op::constant, nullptr, nullptr},
  {Op::variable, nullptr, nullptr},
  {Op::neg,      [](double x) { return -x; }, nullptr},
  {Op::exp,      [](double x) { return std::exp(x); }, nullptr},
  {Op::log,      [](double x) { return std::log(x); }, nullptr},
  {Op::log1p,    [](double x) { return std::log1p(x); }, nullptr},
  {Op::expm1,    [](double x) { return std::expm1(x); }, nullptr},
  {Op::sqrt,     [](double x) { return std::sqrt(x); }, nullptr},
  {Op::abs,      [](double x) { return std::fabs(x); }, nullptr},
  {Op::sin,      [](double x) { return std::sin(x); }, nullptr},
  {Op::cos,      [](double x) { return std::cos(x); }, nullptr},
  {Op::tan,      [](double x) { return std::tan(x); }, nullptr},
  {Op::tanh,     [](double x) { return std::tanh(x); }, nullptr},
  {Op::sigmoid,  [](double x) { return m::sigmoid(x); }, nullptr},
  {Op::softplus, [](double x) { return m::softplus(x); }, nullptr},
  {Op::relu,     [](double x) { return m::relu(x); }, nullptr},
  {Op::sign,     [](double x) { return m::sign(x); }, nullptr},
  {Op::step,     [](double x) { return m::step(x); }, nullptr},
  {Op::add,      nullptr, [](double a, double b) { return a + b; }},
  {Op::sub,      nullptr, [](double a, double b) { return a - b; }},
  {Op::mul,      nullptr, [](double a, double b) { return a * b; }},
  {Op::div,      nullptr, [](double a, double b) { return a / b; }},
  {Op::pow,      nullptr, [](double a, double b) { return m::pow(a, b); }},
  {Op::min,      nullptr, [](double a, double b) { return m::min(a, b); }},
  {Op::max,      nullptr, [](double a, double b) { return m::max(a, b); }},
  {Op::xlogy,    nullptr, [](double a, double b) { return m::xlogy(a, b); }},
  {Op::sum, nullptr, nullptr},       {Op::mean, nullptr, nullptr},
  {Op::dot, nullptr, nullptr},       {Op::matmul, nullptr, nullptr},
  {Op::outer, nullptr, nullptr},     {Op::transpose, nullptr, nullptr},
  {Op::softmax, nullptr, nullptr},   {Op::logsumexp, nullptr, nullptr},
  {Op::norm, nullptr, nullptr},      {Op::onehot, nullptr, nullptr},
  {Op::sum_to, nullptr, nullptr},    {Op::batch_mean, nullptr, nullptr},
  {Op::batch_sum, nullptr, nullptr},
}};
// clang-format on
static_assert(rows_follow_op_order(kElementwise),
              "kElementwise rows must follow the order of enum Op");
}  // namespace

const ElementwiseFn& elementwise_fn(Op op) { return kElementwise[op_index(op)]; }

}  // namespace descent
