// Building a Program from an experiment: name resolution, lowering, stabilizing, AD.
#include "program/program.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include "ad/derive.hpp"
#include "common/error.hpp"
#include "expr/ast.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"

namespace descent {

namespace {

// A name written in an expression, where it was written.
struct NameUse {
  const std::string* name;
  const Span* span;
};

// The names an expression uses, in the order the lowering meets them (left to right). An
// explicit stack, not recursion: the tree may be as deep as the parser allows.
std::vector<NameUse> names_used(const expr::Ast& ast) {
  std::vector<NameUse> out;
  std::vector<const expr::Ast*> pending{&ast};
  while (!pending.empty()) {
    const expr::Ast* node = pending.back();
    pending.pop_back();
    if (node->kind == expr::AstKind::name) out.push_back({&node->name, &node->span});
    for (auto it = node->args.rbegin(); it != node->args.rend(); ++it) pending.push_back(it->get());
  }
  return out;
}

// The model expressions ([model]) as a graph of definitions: each entry parsed once, the
// entries it uses, a cycle check over all of them (used or not), and the order in which the
// ones the cost needs are lowered so that each finds what it uses already lowered. Every walk
// is a loop over an explicit stack, so a chain of any length cannot overflow the stack, and
// each entry is visited a bounded number of times, so the work is linear in the config.
class ModelDefinitions {
 public:
  explicit ModelDefinitions(const std::vector<NamedExpression>& model) {
    entries_.reserve(model.size());
    for (const NamedExpression& m : model) {
      index_.emplace(m.name, entries_.size());
      entries_.push_back({&m, expr::parse_expression(m.text.source), {}});
    }
    for (Entry& entry : entries_) {
      for (const NameUse& use : names_used(*entry.ast)) {
        const auto it = index_.find(*use.name);
        if (it != index_.end()) entry.uses.push_back({it->second, use.span});
      }
    }
    check_for_cycles();
  }

  bool contains(const std::string& name) const { return index_.count(name) > 0; }
  const expr::Ast& ast(std::size_t i) const { return *entries_[i].ast; }
  const std::string& name(std::size_t i) const { return entries_[i].definition->name; }

  // The entries that `root` uses directly or through other entries and that are not yet
  // `visited`, each after every entry it uses: the order to lower them in. Marks them visited.
  std::vector<std::size_t> lowering_order(const expr::Ast& root, std::vector<bool>& visited) const {
    visited.resize(entries_.size(), false);
    std::vector<std::size_t> order;
    struct Frame {
      std::size_t entry;
      std::size_t next_use;
    };
    for (const NameUse& use : names_used(root)) {
      const auto it = index_.find(*use.name);
      if (it == index_.end() || visited[it->second]) continue;
      // Depth-first from this entry; an entry goes out once all it uses are out.
      std::vector<Frame> stack{{it->second, 0}};
      visited[it->second] = true;
      while (!stack.empty()) {
        Frame& top = stack.back();
        const Entry& entry = entries_[top.entry];
        if (top.next_use == entry.uses.size()) {
          order.push_back(top.entry);
          stack.pop_back();
          continue;
        }
        const std::size_t used = entry.uses[top.next_use++].entry;
        if (visited[used]) continue;
        visited[used] = true;
        stack.push_back({used, 0});
      }
    }
    return order;
  }

 private:
  struct Use {
    std::size_t entry;
    const Span* span;  // where the using expression names it
  };
  struct Entry {
    const NamedExpression* definition;
    expr::AstPtr ast;
    std::vector<Use> uses;
  };

  // Depth-first over every entry in written order; an edge back to an entry still on the
  // stack closes a cycle, reported at the use that closes it with the whole chain.
  void check_for_cycles() const {
    enum class State { unvisited, on_stack, done };
    std::vector<State> state(entries_.size(), State::unvisited);
    struct Frame {
      std::size_t entry;
      std::size_t next_use;
    };
    for (std::size_t start = 0; start < entries_.size(); ++start) {
      if (state[start] != State::unvisited) continue;
      std::vector<Frame> stack{{start, 0}};
      state[start] = State::on_stack;
      while (!stack.empty()) {
        Frame& top = stack.back();
        const Entry& entry = entries_[top.entry];
        if (top.next_use == entry.uses.size()) {
          state[top.entry] = State::done;
          stack.pop_back();
          continue;
        }
        const Use& use = entry.uses[top.next_use++];
        if (state[use.entry] == State::on_stack) throw cycle_error(stack, use);
        if (state[use.entry] == State::unvisited) {
          state[use.entry] = State::on_stack;
          stack.push_back({use.entry, 0});
        }
      }
    }
  }

  // The cycle that `closing` closes, from the entry it uses back to it; a long one is shown
  // by its ends.
  template <class Frames>
  Error cycle_error(const Frames& stack, const Use& closing) const {
    constexpr std::size_t kShownAtEachEnd = 5;
    const std::string& name = entries_[closing.entry].definition->name;
    std::size_t from = 0;
    while (stack[from].entry != closing.entry) ++from;
    const std::size_t length = stack.size() - from;
    std::string chain;
    for (std::size_t i = from; i < stack.size(); ++i) {
      const std::size_t k = i - from;
      if (length > 2 * kShownAtEachEnd + 1 && k == kShownAtEachEnd) {
        chain += "... " + std::to_string(length - 2 * kShownAtEachEnd) + " more ... -> ";
        i = stack.size() - kShownAtEachEnd - 1;
        continue;
      }
      chain += this->name(stack[i].entry) + " -> ";
    }
    return input_error(
        "the model expression '" + name + "' depends on itself (" + chain + name + ")",
        *closing.span);
  }

  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t> index_;
};

class ProgramBuilder {
 public:
  ProgramBuilder(const ExperimentConfig& config, const std::vector<InputShape>& inputs,
                 Program& program)
      : config_(config), program_(program), model_(config.model) {
    for (const InputShape& in : inputs) input_shapes_[in.name] = in.shape;
    for (const ParamSpec& p : config.params) params_[p.name] = &p;
    for (const ConstantSpec& c : config.constants) constants_[c.name] = &c;
    for (const auto& [name, _] : input_shapes_) scope_.known_names.push_back(name);
    for (const auto& [name, _] : params_) scope_.known_names.push_back(name);
    for (const auto& [name, _] : constants_) scope_.known_names.push_back(name);
    for (const NamedExpression& m : config.model) scope_.known_names.push_back(m.name);
    scope_.lookup = [this](const std::string& name, const Span&) { return lookup(name); };
  }

  // Lowers the model expressions that `text` uses and that are not lowered yet, each once and
  // after the ones it uses, then `text` itself.
  NodeId lower(const ExpressionText& text) {
    const expr::AstPtr ast = expr::parse_expression(text.source);
    for (const std::size_t i : model_.lowering_order(*ast, visited_)) {
      lowered_[model_.name(i)] = lower_expression(program_.graph, model_.ast(i), scope_);
    }
    return lower_expression(program_.graph, *ast, scope_);
  }

  // A [model] expression by name (lowered once), or kNoNode.
  NodeId lower_named(const std::string& name) {
    for (const NamedExpression& m : config_.model)
      if (m.name == name) return lower(m.text);  // hash-consed: the node it already has, if any
    return kNoNode;
  }

 private:
  // Never lowers anything: a model expression is lowered before anything that uses it.
  NodeId lookup(const std::string& name) {
    Graph& g = program_.graph;
    if (auto it = params_.find(name); it != params_.end()) {
      const ParamSpec& p = *it->second;
      return g.variable(name, config_.minimize() ? VarKind::start_param : VarKind::param, p.shape,
                        p.where);
    }
    if (auto it = input_shapes_.find(name); it != input_shapes_.end())
      return g.variable(name, VarKind::input, it->second);
    if (auto it = constants_.find(name); it != constants_.end()) return constant(*it->second);
    if (auto done = lowered_.find(name); done != lowered_.end()) return done->second;
    if (model_.contains(name))
      throw Error(ExitCode::failure,
                  "internal: the model expression '" + name + "' was used before it was lowered");
    return kNoNode;
  }

  // A scalar constant is a number of the graph (folded like one written in place); a tensor is
  // a variable that backends bind.
  NodeId constant(const ConstantSpec& c) {
    if (c.from_file() && !c.file_read)
      throw Error(ExitCode::failure, "internal: the file of constants." + c.name + " was not read",
                  c.where);
    Graph& g = program_.graph;
    if (c.shape.is_scalar()) return g.constant(c.values.at(0));
    return g.variable(c.name, VarKind::constant, c.shape, c.where);
  }

  const ExperimentConfig& config_;
  Program& program_;
  ModelDefinitions model_;
  NameScope scope_;
  std::map<std::string, Shape> input_shapes_;
  std::map<std::string, const ParamSpec*> params_;
  std::map<std::string, const ConstantSpec*> constants_;
  std::unordered_map<std::string, NodeId> lowered_;
  std::vector<bool> visited_;  // per model entry: lowered or about to be
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

std::vector<NodeId> lower_model_expressions(const ExperimentConfig& config, Program& program) {
  ProgramBuilder builder(config, input_shapes(program), program);
  std::vector<NodeId> nodes;
  nodes.reserve(config.model.size());
  for (const NamedExpression& m : config.model) nodes.push_back(builder.lower(m.text));
  return nodes;
}

std::vector<NodeId> Program::step_outputs() const {
  std::vector<NodeId> outputs{reported};
  for (const ProgramParam& p : params) outputs.push_back(p.gradient);
  return outputs;
}

namespace {

// A cost or penalty may not use an op without a gradient (a comparison, argmax): it would
// train as if that part of the cost were constant.
void refuse_flat_ops(const Graph& g, const std::vector<NodeId>& roots) {
  for (NodeId id : g.reachable(roots)) {
    const Node& n = g[id];
    if (op_info(n.op).differentiable) continue;
    const OpInfo& info = op_info(n.op);
    const std::string what = info.symbol.empty()
                                 ? std::string(info.name)
                                 : "the comparison '" + std::string(info.symbol) + "'";
    throw input_error(what +
                          " has no gradient (it is piecewise constant), so the cost cannot use "
                          "it",
                      g.span(n),
                      "report it as a metric instead: [metrics] name = \"<expression>\"");
  }
}

}  // namespace

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
  refuse_flat_ops(g, roots);
  roots = stabilize(g, roots);
  loss = roots[0];
  penalties.assign(roots.begin() + 1, roots.end());

  NodeId penalty_total = kNoNode;
  for (NodeId p : penalties) penalty_total = penalty_total == kNoNode ? p : g.add(penalty_total, p);
  // Minimize mode with several starts: each start's penalty belongs to its own objective.
  const NodeId per_sample =
      program.minimize && penalty_total != kNoNode ? g.add(loss, penalty_total) : loss;
  // A value that is the same for every sample (start) is its own batch mean, and its batch
  // sum is that many times it: a cost of constants alone (or, in fit mode, of parameters alone)
  // gets no batch total, which the step plan would refuse.
  const bool per_sample_varies = g[per_sample].varying;
  if (program.minimize) {
    program.objective = per_sample_varies
                            ? g.apply(Op::batch_sum, per_sample)
                            : g.mul(g.num(static_cast<double>(program.starts)), per_sample);
    program.reported = per_sample_varies ? g.apply(Op::batch_mean, per_sample) : per_sample;
  } else {
    program.objective = per_sample_varies ? g.apply(Op::batch_mean, loss) : loss;
    if (penalty_total != kNoNode) program.objective = g.add(program.objective, penalty_total);
    program.reported = program.objective;
  }
  program.loss = loss;
  program.penalties = penalties;

  for (const InputShape& in : inputs) {
    const NodeId node = g.find_variable(in.name);
    program.inputs.push_back({in.name, in.shape, node});
  }
  for (const ConstantSpec& c : config.constants)
    if (!c.shape.is_scalar())
      program.constants.push_back({c.name, c.shape, g.find_variable(c.name), &c});
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
  for (const NamedExpression& m : config.metrics) {
    const NodeId node = builder.lower(m.text);
    if (!g[node].shape.is_scalar())
      throw input_error("a metric must be a scalar per sample, but '" + m.name + "' has shape " +
                            g[node].shape.to_string(),
                        m.text.where);
    program.metrics.push_back({m.name, node});
  }
  return program;
}

}  // namespace descent
