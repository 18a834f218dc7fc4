// The CPU reference backend: the interpreter evaluates the Program in double precision, and
// the shared update rules (update_rules.hpp) change the parameters in place.
#include <cmath>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "graph/printer.hpp"
#include "train/backend.hpp"
#include "train/optimizer.hpp"

namespace descent {

namespace {

bool all_finite(const std::vector<double>& values) {
  for (double v : values)
    if (!std::isfinite(v)) return false;
  return true;
}

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const Program& program)
      : program_(program),
        training_(program.graph, training_outputs(program)),
        evaluation_(program.graph, {program.reported}) {}

  std::string name() const override { return "cpu (f64 interpreter)"; }

  void load(const TrainState& state) override { params_ = state.params; }
  void store(TrainState& state) const override { state.params = params_; }

  StepResult step(const Batch& batch, const UpdateSettings& update) override {
    run(training_, batch);
    StepResult result;
    result.loss = training_.value(program_.reported).data[0];
    double squared = 0.0;
    for (const ProgramParam& p : program_.params)
      for (double g : training_.value(p.gradient).data) squared += g * g;
    result.grad_norm = std::sqrt(squared);
    if (!std::isfinite(result.loss) || !std::isfinite(result.grad_norm)) {
      result.finite = false;
      result.problem = describe_first_non_finite();
      return result;
    }
    // Clip the global norm: g ← g * clip/‖g‖ when ‖g‖ > clip.
    const double scale = update.clip_norm > 0 && result.grad_norm > update.clip_norm
                             ? update.clip_norm / result.grad_norm
                             : 1.0;
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      const Tensor& g = training_.value(program_.params[i].gradient);
      ParamState& p = params_[i];
      gradient_buffer_ = expand_to(g, p.value.size());
      if (scale != 1.0)
        for (double& v : gradient_buffer_) v *= scale;
      apply_update(update.optimizer, update.step, update.lr, p.value, gradient_buffer_, p.state0,
                   p.state1);
    }
    return result;
  }

  double evaluate(const Batch& batch) override {
    run(evaluation_, batch);
    return evaluation_.value(program_.reported).data[0];
  }

  double objective_and_gradients(const Batch& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    run(training_, batch);
    gradients.clear();
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      gradients.push_back(
          expand_to(training_.value(program_.params[i].gradient), params_[i].value.size()));
    return training_.value(program_.objective).data[0];
  }

 private:
  static std::vector<NodeId> training_outputs(const Program& program) {
    std::vector<NodeId> outputs = program.step_outputs();
    outputs.push_back(program.objective);
    return outputs;
  }

  // A gradient the simplifier folded to a smaller (broadcastable) shape, e.g. a filled
  // zero, is spread over the parameter's elements.
  static std::vector<double> expand_to(const Tensor& g, std::size_t size) {
    if (g.data.size() == size) return g.data;
    if (g.data.size() == 1) return std::vector<double>(size, g.data[0]);
    throw Error(ExitCode::failure, "internal: gradient of " + std::to_string(g.data.size()) +
                                       " values for a parameter of " + std::to_string(size));
  }

  void run(Interpreter& interpreter, const Batch& batch) {
    for (std::size_t k = 0; k < program_.inputs.size(); ++k) {
      const ProgramInput& in = program_.inputs[k];
      if (in.node == kNoNode) continue;  // an input the cost never reads
      Tensor t;
      t.shape = in.shape;
      t.batch = batch.rows;
      t.data.assign(batch.inputs[k], batch.inputs[k] + batch.rows * in.shape.size());
      interpreter.set(in.node, std::move(t));
    }
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      const ProgramParam& p = program_.params[i];
      Tensor t;
      t.shape = p.shape;
      t.batch = program_.minimize ? program_.starts : 0;
      t.data = params_[i].value;
      interpreter.set(p.node, std::move(t));
    }
    interpreter.run();
  }

  // The first node, in evaluation order, holding a non-finite value: the place where the
  // run diverged, with its expression and its position in the config.
  std::string describe_first_non_finite() const {
    const Graph& g = program_.graph;
    for (NodeId id : training_.order()) {
      if (all_finite(training_.value(id).data)) continue;
      std::string where;
      for (NodeId k = id; k != kNoNode;) {
        if (g[k].span.valid()) {
          where = g[k].span.where() + ": ";
          break;
        }
        k = g[k].arity > 0 ? g[k][0] : kNoNode;
      }
      return where + "the first non-finite value is in '" + print_expression(g, id) + "'";
    }
    return "a non-finite value appeared";
  }

  const Program& program_;
  Interpreter training_;
  Interpreter evaluation_;
  std::vector<ParamState> params_;
  std::vector<double> gradient_buffer_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Program& program) {
  return std::make_unique<CpuBackend>(program);
}

}  // namespace descent
