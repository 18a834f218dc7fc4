// The Program (DESIGN §2): an experiment's model and cost lowered into one graph, stabilized,
// differentiated and simplified: forward values, the gradient of every parameter, and the
// nodes the trainer reads. Both backends run the same Program.
//
// Fit mode: loss is per sample; the differentiated objective is
//   batch_mean(loss) + Σ penalties
// Minimize mode: every parameter has one copy per start (the batch axis is the starts); the
// objective is batch_sum(loss), whose gradient for each start's copy is that start's own.
#pragma once

#include <string>
#include <vector>

#include "config/experiment.hpp"
#include "graph/graph.hpp"

namespace descent {

struct ProgramInput {
  std::string name;
  Shape shape;  // of one sample
  NodeId node = kNoNode;
};

struct ProgramParam {
  std::string name;
  Shape shape;  // of one copy
  NodeId node = kNoNode;
  NodeId gradient = kNoNode;
  const ParamSpec* spec = nullptr;
};

// A [metrics] expression: a scalar per sample, evaluated by the Interpreter and averaged
// (cpu/evaluate.hpp: metric_means), never differentiated nor part of a training step.
struct ProgramMetric {
  std::string name;
  NodeId node = kNoNode;
};

// A tensor constant of [constants] (rank 1 or 2): a VarKind::constant variable, bound by every
// backend to spec->values once, never updated. A scalar constant has no entry: it is a number
// of the graph, so that a config with constants computes exactly what the same config with
// the numbers written in place computes.
struct ProgramConstant {
  std::string name;
  Shape shape;
  NodeId node = kNoNode;  // kNoNode when no expression of the Program uses it
  const ConstantSpec* spec = nullptr;

  const std::vector<double>& values() const { return spec->values; }
};

struct Program {
  Graph graph;
  bool minimize = false;
  std::int64_t starts = 1;
  std::vector<ProgramInput> inputs;
  std::vector<ProgramParam> params;
  std::vector<ProgramConstant> constants;  // the tensor constants, in the config's order
  NodeId loss = kNoNode;                   // per sample (fit) or per start (minimize), stabilized
  NodeId objective = kNoNode;              // the scalar that is differentiated
  NodeId reported = kNoNode;  // the loss that metrics show: batch_mean(loss) + penalties
  std::vector<NodeId> penalties;
  std::vector<ProgramMetric> metrics;  // lowered after the gradients: the step never holds them

  // The nodes a training step evaluates: reported loss and every gradient.
  std::vector<NodeId> step_outputs() const;
};

// The shape of each data input, known once the data is read (vector lengths come from the
// number of columns).
struct InputShape {
  std::string name;
  Shape shape;
};

// Lowers, stabilizes and differentiates. Name, shape and type errors point into the config.
// The files of constants must have been read (host/data/constant_file.hpp). `config` must
// outlive the Program (parameters and constants keep pointers to their specs).
Program build_program(const ExperimentConfig& config, const std::vector<InputShape>& inputs);

// The node of the [model] expression `name` as written (lowered into program.graph, neither
// stabilized nor simplified), for evaluating a trained model (descent predict). An expression
// the cost does not use is lowered too. Throws an input_error listing the model's names when
// there is no such expression.
NodeId lower_model_expression(const ExperimentConfig& config, Program& program,
                              const std::string& name);

// Every [model] expression's node as written, in the config's order (each lowered once, like
// lower_model_expression): the names that `descent derive CONFIG` prints subexpressions by.
std::vector<NodeId> lower_model_expressions(const ExperimentConfig& config, Program& program);

}  // namespace descent
