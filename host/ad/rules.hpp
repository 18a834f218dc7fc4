// The derivative-rule column of the op table: for node y = op(a, b) with adjoint g, the
// contribution to each child's adjoint. Contributions may have the broadcast shape of y;
// reverse.cpp sums them back down to the child's shape and over the batch where needed.
#pragma once

#include "graph/graph.hpp"

namespace descent {

struct DerivativeRule {
  Op op;
  const char* name;  // as --explain prints it
  // Sets out[i] to the contribution for child i, or kNoNode when it has none.
  void (*partials)(Graph& g, NodeId y, NodeId adjoint, NodeId out[2]);
};

const DerivativeRule& derivative_rule(Op op);

}  // namespace descent
