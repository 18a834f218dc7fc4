// The CPU column of the op table (host/cpu/kernels.cpp): one kernel per op over whole batches of
// TensorOf<T>, in double (the Interpreter, the oracle, and the CPU backend in f64) or in float
// (the CPU backend in f32).
//
// Does not: plan an evaluation (cpu/interpreter.hpp, cpu/cpu_backend.cpp do) or hold values.
#pragma once

#include <vector>

#include "cpu/tensor.hpp"
#include "graph/graph.hpp"

namespace descent {

// Which transcendental functions the CPU kernels use: the scalar reference (std:: math; the
// Interpreter, the oracle) or vector_math.hpp's (the CPU backend's fast path, within the error
// bounds that vector_math.hpp documents). In float, the reference is std::'s float overloads and
// the fast path is vector_math's double functions rounded to float once (kernels.cpp).
enum class CpuMath { reference, fast };

// Evaluates one node from its children's values. In double with CpuMath::reference, every value
// is the Interpreter's.
void evaluate_node(const Graph& graph, NodeId id,
                   const std::vector<const TensorOf<double>*>& inputs, TensorOf<double>& out,
                   CpuMath math = CpuMath::reference);
void evaluate_node(const Graph& graph, NodeId id, const std::vector<const TensorOf<float>*>& inputs,
                   TensorOf<float>& out, CpuMath math = CpuMath::reference);

}  // namespace descent
