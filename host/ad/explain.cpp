// Rendering of recorded derivation steps (see explain.hpp).
#include "ad/explain.hpp"

#include "ad/derive.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"

namespace descent {

namespace {
std::string shown(Graph& g, NodeId id) { return print_expression(g, simplify(g, {id})[0]); }
}  // namespace

std::string explain_derivative(Graph& g, NodeId output, NodeId variable) {
  std::vector<DerivationStep> steps;
  GradientOptions options;
  options.explain = &steps;
  const NodeId gradient = derive_gradients(g, output, {variable}, options)[0];
  const std::string name = g[variable].name;

  std::string out =
      "Reverse mode: start from d(f)/d(f) = 1 at f = " + shown(g, output) +
      ", visit each node once from the output down, and pass each child the\n"
      "node's adjoint times the local derivative; a node's adjoint is the sum of what\n"
      "its parents passed it.\n";
  int number = 0;
  for (const DerivationStep& step : steps) {
    // Copies: shown() simplifies, which builds nodes. Each shown() has a statement of its own
    // (right to left, as GCC evaluated the expressions they were written in), so that the nodes
    // it builds are numbered the same whatever the compiler.
    const bool product = g[step.node].op == Op::mul;
    const NodeId u = g[step.node][0], v = g[step.node][1];
    out += "\n[" + std::to_string(++number) + "] " + shown(g, step.node) + "\n";
    out += "    rule:    " + step.rule + "\n";
    out += "    adjoint: " + shown(g, step.adjoint) + "\n";
    if (product) {
      const std::string v_text = shown(g, v);
      const std::string u_text = shown(g, u);
      out += "    with u = " + u_text + ", v = " + v_text +
             ": u receives adjoint*v and v receives adjoint*u; both terms reach " + name +
             "\n    and are added ((u*v)' = u'*v + u*v'). Multiplying the two derivatives, "
             "u'*v', is the classic mistake.\n";
    }
    for (const auto& [child, contribution] : step.contributions) {
      const std::string received = shown(g, contribution);
      out += "    -> " + shown(g, child) + " receives " + received + "\n";
    }
  }
  out += "\nSumming what reached " + name + " and simplifying:\n  d/d" + name + " = " +
         print_expression(g, gradient) + "\n";
  return out;
}

}  // namespace descent
