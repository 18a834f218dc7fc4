// Elementwise scalar functions by op, as a table indexed by Op, built from scalar_math.hpp's
// list of elementwise ops (DESCENT_ELEMENTWISE_OPS).
#include "graph/elementwise.hpp"

#include <array>

#include "graph/scalar_math.hpp"

namespace descent {

namespace {

constexpr std::array<ElementwiseFn, kOpCount> make_elementwise_column() {
  std::array<ElementwiseFn, kOpCount> rows{};
  for (std::size_t i = 0; i < kOpCount; ++i) rows[i] = {static_cast<Op>(i), nullptr, nullptr};
#define DESCENT_UNARY_ROW(op) rows[op_index(Op::op)].unary = [](double x) { return math::op(x); };
#define DESCENT_BINARY_ROW(op) \
  rows[op_index(Op::op)].binary = [](double a, double b) { return math::op(a, b); };
  DESCENT_ELEMENTWISE_OPS(DESCENT_UNARY_ROW, DESCENT_BINARY_ROW)
#undef DESCENT_UNARY_ROW
#undef DESCENT_BINARY_ROW
  return rows;
}
constexpr std::array<ElementwiseFn, kOpCount> kElementwise = make_elementwise_column();

// The list names exactly the unary and binary ops of the op table, each with the function of its
// arity: an op added to the table but not to DESCENT_ELEMENTWISE_OPS (or to it but without its
// math:: function, which fails to compile above) stops the build here.
constexpr bool list_covers_the_elementwise_ops() {
  for (const ElementwiseFn& row : kElementwise) {
    const OpKind kind = op_info(row.op).kind;
    if ((kind == OpKind::unary) != (row.unary != nullptr)) return false;
    if ((kind == OpKind::binary) != (row.binary != nullptr)) return false;
  }
  return true;
}
static_assert(list_covers_the_elementwise_ops(),
              "every unary and binary op needs its entry in DESCENT_ELEMENTWISE_OPS "
              "(graph/scalar_math.hpp) and its function in descent::math");
}  // namespace

const ElementwiseFn& elementwise_fn(Op op) { return kElementwise[op_index(op)]; }

}  // namespace descent
