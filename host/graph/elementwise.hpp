// The scalar-evaluation column of the op table for elementwise ops, on doubles: used by the
// constant folder and by the CPU interpreter's elementwise loops. Math is in scalar_math.hpp.
#pragma once

#include "graph/ops.hpp"

namespace descent {

using UnaryFn = double (*)(double);
using BinaryFn = double (*)(double, double);

struct ElementwiseFn {
  Op op;
  UnaryFn unary;    // set for OpKind::unary
  BinaryFn binary;  // set for OpKind::binary
};

// The row for `op`; both pointers are null for ops that are not elementwise.
const ElementwiseFn& elementwise_fn(Op op);

}  // namespace descent
