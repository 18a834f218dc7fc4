// Fuzz target: the expression pipeline of `descent derive` and of training, on one expression
// text: parse (host/expr), lower with every name a free scalar (host/graph), stabilize,
// differentiate by every variable and simplify (host/ad), print the results and check that the
// printed derivative parses back; then the same text as the cost of a minimize-mode program
// (host/program) whose training step is planned (host/plan) and emitted as CUDA C++
// (host/codegen).
// Bad input must end in a descent::Error; a crash, a sanitizer report, another exception or
// an "internal" error is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ad/derive.hpp"
#include "ad/explain.hpp"
#include "codegen/emit.hpp"
#include "expr/ast.hpp"
#include "fuzz_support.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"
#include "plan/step_plan.hpp"
#include "program/program.hpp"

namespace {

using namespace descent;

// As `descent derive` does: a derivative whose text would be enormous is refused, not printed.
constexpr std::size_t kMaxPrinted = 100'000;

void derive_and_print(const std::string& text, bool explain) {
  Graph graph;
  const auto ast = expr::parse_expression(text, "expr");
  const NodeId written = lower_expression(graph, *ast, free_variable_scope(graph));
  const std::vector<NodeId> variables = graph.variables_of({written});
  const NodeId f = stabilize(graph, {written})[0];
  if (printed_size_estimate(graph, f, kMaxPrinted) < kMaxPrinted) print_expression(graph, f);
  if (explain) {
    for (const NodeId v : variables) explain_derivative(graph, f, v);
    return;
  }
  const std::vector<NodeId> gradients = derive_gradients(graph, f, variables);
  for (const NodeId g : gradients) {
    if (printed_size_estimate(graph, g, kMaxPrinted) >= kMaxPrinted) continue;
    const std::string printed = print_expression(graph, g);
    // What the printer writes is the input language: it must parse back.
    expr::parse_expression(printed, "printed");
  }
}

// The text as the cost of a minimize-mode experiment whose parameters are its free names.
void build_and_emit(const std::string& text) {
  Graph names;
  const auto ast = expr::parse_expression(text, "expr");
  const NodeId written = lower_expression(names, *ast, free_variable_scope(names));
  ExperimentConfig config;
  config.path = "fuzz.toml";
  config.name = "fuzz";
  config.loss.source = make_source("fuzz.toml", text);
  config.train.steps = 1;
  for (const NodeId v : names.variables_of({written})) {
    ParamSpec param;
    param.name = names[v].name;
    config.params.push_back(param);
  }
  const Program program = build_program(config, {});
  codegen::EmitOptions options;
  options.name = "fuzz";
  options.precision = codegen::Precision::f32;
  codegen::emit_program(program, plan_program(program), options);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > descent::fuzz::kMaxInputBytes) return 0;
  if (size == 0) return 0;
  // The first byte picks what runs after the parse by its low bits ('0' derive, '1' explain,
  // '2' derive and emit, '3' explain and emit); the rest is the expression.
  const std::uint8_t mode = data[0];
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  descent::fuzz::expect_clean([&] { derive_and_print(text, (mode & 1) != 0); });
  if ((mode & 2) != 0) descent::fuzz::expect_clean([&] { build_and_emit(text); });
  return 0;
}
