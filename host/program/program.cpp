// Building a Program from an experiment: name resolution, lowering, stabilizing, AD.
#include "program/program.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "ad/derive.hpp"
#include "common/error.hpp"
#include "expr/ast.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"

namespace descent {

namespace {

class ProgramBuilder {
 public:
  ProgramBuilder(const ExperimentConfig& config, const std::vector<InputShape>& inputs,
                 Program& program)
      : config_(config), program_(program) {
    for (const InputShape& in : inputs) input_shapes_[in.name] = in.shape;
    for (const ParamSpec& p : config.params) params_[p.name] = &p;
    for (const NamedExpression& m : config.model) model_[m.name] = &m;
    for (const auto& [name, _] : input_shapes_) scope_.known_names.push_back(name);
    for (const auto& [name, _] : params_) scope_.known_names.push_back(name);
    for (const auto& [name, _] : model_) scope_.known_names.push_back(name);
    scope_.lookup = [this](const std::string& name, const Span& span) {
      return lookup(name, span);
    };
  }

  NodeId lower(const ExpressionText& text) {
    const auto ast = expr::parse_expression(text.source);
    return lower_expression(program_.graph, *ast, scope_);
  }

  // A [model] expression by name (lowered once), or kNoNode.
  NodeId lower_named(const std::string& name) { return lookup(name, Span{}); }

 private:
  NodeId lookup(const std::string& name, const Span& span) {
    Graph& g = program_.graph;
    if (auto it = params_.find(name); it != params_.end()) {
      const ParamSpec& p = *it->second;
      return g.variable(name, config_.minimize() ? VarKind::start_param : VarKind::param, p.shape,
                        p.where);
    }
    if (auto it = input_shapes_.find(name); it != input_shapes_.end())
      return g.variable(name, VarKind::input, it->second);
    auto it = model_.find(name);
    if (it == model_.end()) return kNoNode;
    if (auto done = lowered_.find(name); done != lowered_.end()) return done->second;
    if (in_progress_.count(name)) {
      std::string cycle;
      for (const std::string& n : stack_) cycle += n + " -> ";
      throw input_error(
          "the model expression '" + name + "' depends on itself (" + cycle + name + ")", span);
    }
    in_progress_.insert(name);
    stack_.push_back(name);
    const NodeId value = lower(it->second->text);
    stack_.pop_back();
    in_progress_.erase(name);
    lowered_[name] = value;
    return value;
  }

  const ExperimentConfig& config_;
  Program& program_;
  NameScope scope_;
  std::map<std::string, Shape> input_shapes_;
  std::map<std::string, const ParamSpec*> params_;
  std::map<std::string, const NamedExpression*> model_;
  std::map<std::string, NodeId> lowered_;
  std::set<std::string> in_progress_;
  std::vector<std::string> stack_;
};

std::vector<InputShape> input_shapes(const Program& program) {
  std::vector<InputShape> shapes;
  for (const ProgramInput& in : program.inputs) shapes.push_back({in.name, in.shape});
  return shapes;
}

}  // namespace

NodeId lower_model_expression(const ExperimentConfig& config, Program& program,
                              const std::string& name) {
  const auto named = std::find_if(config.model.begin(), config.model.end(),
                                  [&](const NamedExpression& m) { return m.name == name; });
  if (named == config.model.end()) {
    std::string names;
    for (const NamedExpression& m : config.model) names += (names.empty() ? "" : ", ") + m.name;
    throw input_error(
        "the model has no expression named '" + name + "'", Span{},
        names.empty() ? "the config's [model] section is empty" : "its expressions: " + names);
  }
  ProgramBuilder builder(config, input_shapes(program), program);
  return builder.lower_named(name);
}

std::vector<NodeId> Program::step_outputs() const {
  std::vector<NodeId> outputs{reported};
  for (const ProgramParam& p : params) outputs.push_back(p.gradient);
  return outputs;
}

Program build_program(const ExperimentConfig& config, const std::vector<InputShape>& inputs) {
  Program program;
  program.minimize = config.minimize();
  program.starts = config.minimize() ? config.train.starts : 1;
  Graph& g = program.graph;
  ProgramBuilder builder(config, inputs, program);

  NodeId loss = builder.lower(config.loss);
  if (!g[loss].shape.is_scalar())
    throw input_error(std::string(program.minimize ? "the cost" : "the loss") +
                          " must be a scalar" + (program.minimize ? "" : " per sample") +
                          ", but it has shape " + g[loss].shape.to_string(),
                      config.loss.where);
  std::vector<NodeId> penalties;
  for (const ExpressionText& text : config.penalties) {
    const NodeId p = builder.lower(text);
    if (!g[p].shape.is_scalar())
      throw input_error("a penalty must be a scalar, but it has shape " + g[p].shape.to_string(),
                        text.where);
    if (g[p].varying && !program.minimize)
      throw input_error("a penalty must depend on parameters alone, but this one uses data",
                        text.where);
    penalties.push_back(p);
  }

  // Stabilize before differentiating (DESIGN §4).
  std::vector<NodeId> roots{loss};
  roots.insert(roots.end(), penalties.begin(), penalties.end());
  roots = stabilize(g, roots);
  loss = roots[0];
  penalties.assign(roots.begin() + 1, roots.end());

  NodeId penalty_total = kNoNode;
  for (NodeId p : penalties) penalty_total = penalty_total == kNoNode ? p : g.add(penalty_total, p);
  // Minimize mode with several starts: each start's penalty belongs to its own objective.
  const NodeId per_sample =
      program.minimize && penalty_total != kNoNode ? g.add(loss, penalty_total) : loss;
  if (program.minimize) {
    program.objective = g.apply(Op::batch_sum, per_sample);
    program.reported = g.apply(Op::batch_mean, per_sample);
  } else {
    program.objective = g.apply(Op::batch_mean, loss);
    if (penalty_total != kNoNode) program.objective = g.add(program.objective, penalty_total);
    program.reported = program.objective;
  }
  program.loss = loss;
  program.penalties = penalties;

  for (const InputShape& in : inputs) {
    const NodeId node = g.find_variable(in.name);
    program.inputs.push_back({in.name, in.shape, node});
  }
  std::vector<NodeId> wrt;
  for (const ParamSpec& spec : config.params) {
    NodeId node = g.find_variable(spec.name);
    if (node == kNoNode) {
      spdlog::warn("{}: warning: parameter '{}' is not used by the cost; it will not change",
                   spec.where.where(), spec.name);
      node = g.variable(spec.name, program.minimize ? VarKind::start_param : VarKind::param,
                        spec.shape, spec.where);
    }
    program.params.push_back({spec.name, spec.shape, node, kNoNode, &spec});
    wrt.push_back(node);
  }
  const std::vector<NodeId> gradients = derive_gradients(g, program.objective, wrt);
  for (std::size_t i = 0; i < gradients.size(); ++i) program.params[i].gradient = gradients[i];
  return program;
}

}  // namespace descent
