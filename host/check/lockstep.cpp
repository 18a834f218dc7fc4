// The lockstep check of a backend against the oracle (see lockstep.hpp for the error model).
#include "check/lockstep.hpp"

#include <algorithm>
#include <cmath>

#include "cpu/cpu_backend.hpp"
#include "cpu/evaluate.hpp"
#include "cpu/interpreter.hpp"
#include "optim/optimizer.hpp"
#include "program/bounds.hpp"

namespace descent {

namespace {

constexpr double kRoundings = 64;  // K: roundings along a per-sample term (plus L, below)
constexpr double kCombine = 8;     // C: the conditioning of phase 3
constexpr double kUpdate = 32;     // the update rule's arithmetic, in roundings
constexpr std::int64_t kScaleRows = 4096;

double unit_roundoff(const std::string& precision) {
  return precision == "f32" ? std::ldexp(1.0, -24) : std::ldexp(1.0, -53);
}

// The scales of the error model, by node, estimated on up to kScaleRows rows spread over the
// batch: a total's largest Σ_r |t_r| (mean |t_r| for a mean), and a per-sample node's largest
// magnitude on any row (for the per-sample outputs of minimize mode, whose rounding is relative
// to the terms that cancel in them).
std::vector<double> node_scales(const Program& program, const ProgramPlan& plan,
                                const std::vector<ParamState>& state, const DataSplits* data,
                                const BatchRows& batch, const std::vector<std::int64_t>& order) {
  const Graph& g = program.graph;
  std::vector<double> scale(g.size(), 0.0);
  const std::int64_t stride = std::max<std::int64_t>(1, batch.rows / kScaleRows);
  std::vector<std::int64_t> rows;
  for (std::int64_t r = 0; r < batch.rows; r += stride) rows.push_back(r);
  const auto n = static_cast<std::int64_t>(rows.size());
  std::vector<NodeId> outputs;
  for (const PlanTotal& t : plan.step.totals) outputs.push_back(t.child);
  for (NodeId id : plan.step.outputs)
    if (g[id].varying) outputs.push_back(id);
  Interpreter interpreter(g, outputs);
  bind_constants(program, interpreter);
  for (std::size_t k = 0; k < program.inputs.size() && data; ++k) {
    const ProgramInput& in = program.inputs[k];
    if (in.node == kNoNode) continue;
    const SplitRows& split =
        batch.split == BatchRows::Split::train ? data->train : data->validation;
    std::vector<double> values;
    for (std::int64_t r : rows) {
      const double* row = split.row(k, batch.row(r, order), in.shape.size());
      values.insert(values.end(), row, row + in.shape.size());
    }
    interpreter.set(in.node, Tensor{in.shape, n, std::move(values)});
  }
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    std::vector<double> values;
    if (program.minimize) {
      for (std::int64_t r : rows)
        values.insert(values.end(), state[i].value.begin() + r * p.shape.size(),
                      state[i].value.begin() + (r + 1) * p.shape.size());
    } else {
      values = state[i].value;
    }
    interpreter.set(p.node, Tensor{p.shape, program.minimize ? n : 0, std::move(values)});
  }
  interpreter.run();
  for (NodeId id : interpreter.order())
    if (g[id].varying)
      for (double v : interpreter.value(id).all()) scale[id] = std::max(scale[id], std::fabs(v));
  for (const PlanTotal& t : plan.step.totals) {
    const Tensor& terms = interpreter.value(t.child);
    for (std::int64_t i = 0; i < terms.shape.size(); ++i) {
      double sum = 0.0;
      for (std::int64_t r = 0; r < terms.samples(); ++r) sum += std::fabs(terms.sample(r)[i]);
      const double mean = sum / static_cast<double>(terms.samples());
      scale[t.node] =
          std::max(scale[t.node], t.mean ? mean : mean * static_cast<double>(batch.rows));
    }
  }
  return scale;
}

// The largest scale among the totals an output reads, and the per-sample values it is made of
// without a total in between.
double output_scale(const Graph& g, const ProgramPlan& plan, const std::vector<double>& scales,
                    NodeId output) {
  double s = 0.0;
  std::vector<NodeId> stack{output};
  std::vector<char> seen(g.size(), 0);
  while (!stack.empty()) {
    const NodeId id = stack.back();
    stack.pop_back();
    if (seen[id]) continue;
    seen[id] = 1;
    s = std::max(s, scales[id]);
    if (plan.step.phase[id] == PlanPhase::total) continue;
    for (int i = 0; i < g[id].arity; ++i) stack.push_back(g[id][i]);
  }
  return s;
}

// Compares `got` with `want` element by element (a one-value `want` stands for every element);
// tolerance(i) gives element i's.
template <class Tolerance>
TensorCheck compare(std::string name, const std::vector<double>& got,
                    const std::vector<double>& want, Tolerance tolerance) {
  TensorCheck worst;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double w = want[want.size() == 1 ? 0 : i];
    TensorCheck c;
    c.element = static_cast<std::int64_t>(i);
    c.got = got[i];
    c.want = w;
    c.error = std::fabs(got[i] - w);
    if (!std::isfinite(got[i]) || !std::isfinite(w))
      c.error = got[i] == w ? 0.0 : std::numeric_limits<double>::infinity();
    c.tolerance = tolerance(i, w);
    if (worst.element < 0 || c.fraction() > worst.fraction()) worst = c;
  }
  worst.tensor = std::move(name);
  return worst;
}

class Lockstep {
 public:
  Lockstep(const Program& program, const ProgramPlan& plan, Backend& backend,
           const DataSplits* data, const std::vector<std::int64_t>& order)
      : program_(program),
        plan_(plan),
        backend_(backend),
        // The oracle evaluates every product per sample, in order (the Interpreter's values).
        oracle_plan_(plan_program(program, PlanChoice::fused)),
        oracle_(make_cpu_backend(program, oracle_plan_, {.math = CpuMath::reference})),
        data_(data),
        order_(order),
        u_(unit_roundoff(backend.precision())),
        roundings_(kRoundings + longest_sample_sum(program.graph, plan.step)) {
    for (Backend* b : {&backend_, oracle_.get()}) {
      if (data_) b->attach(*data_);
      if (!order_.empty()) b->set_epoch_order(order_);
    }
  }

  // Checks one step from `state` and advances `state` to the oracle's state after it.
  StepCheck check(long step, std::vector<ParamState>& state, const CheckStep& s) {
    StepCheck out;
    out.step = step;
    out.rows = s.batch.rows;
    const std::vector<double> scales = node_scales(program_, plan_, state, data_, s.batch, order_);
    // Both sides' summation errors: the backend's, and the oracle's (a sequential sum in f64).
    const double depth =
        static_cast<double>(backend_.summation_depth(s.batch.rows)) +
        static_cast<double>(oracle_->summation_depth(s.batch.rows)) * unit_roundoff("f64") / u_;
    const auto model = [&](NodeId output) {
      const double scale = output_scale(program_.graph, plan_, scales, output);
      return [=, this](std::size_t, double want) {
        return kCombine * (roundings_ + depth) * u_ * (std::fabs(want) + scale);
      };
    };
    // Objective and gradients, no update.
    std::vector<std::vector<double>> grads, want_grads;
    oracle_->load(state);
    backend_.load(state);
    const double want_objective = oracle_->objective_and_gradients(s.batch, want_grads);
    const double objective = backend_.objective_and_gradients(s.batch, grads);
    out.tensors.push_back(
        compare("objective", {objective}, {want_objective}, model(program_.objective)));
    for (std::size_t k = 0; k < grads.size(); ++k)
      out.tensors.push_back(compare("d/d" + program_.params[k].name, grads[k], want_grads[k],
                                    model(program_.params[k].gradient)));
    const StepReport report = check_update(state, s, grads, out);
    // The oracle's own step: its reported loss, and the next state.
    oracle_->load(state);
    oracle_->step(s.batch, s.update);
    const StepReport want = oracle_->report();
    oracle_->store(state);
    out.tensors.push_back(compare("loss", {report.loss}, {want.loss}, model(program_.reported)));
    if (report.diverged_step != 0 && want.diverged_step == 0)
      out.tensors.back().error = std::numeric_limits<double>::infinity();
    return out;
  }

 private:
  // The backend's step against the rule applied in f64 to the backend's own gradients.
  StepReport check_update(const std::vector<ParamState>& state, const CheckStep& s,
                          const std::vector<std::vector<double>>& grads, StepCheck& out) {
    backend_.load(state);
    backend_.step(s.batch, s.update);
    const StepReport report = backend_.report();
    std::vector<ParamState> after;
    backend_.store(after);
    double squared = 0.0;
    for (const std::vector<double>& g : grads)
      for (double v : g) squared += v * v;
    const double norm = std::sqrt(squared);
    const double clip =
        s.update.clip_norm > 0 && norm > s.update.clip_norm ? s.update.clip_norm / norm : 1.0;
    std::int64_t values = 0;
    for (const ParamState& p : state) values += static_cast<std::int64_t>(p.value.size());
    const double norm_depth = static_cast<double>(backend_.summation_depth(values));
    for (std::size_t k = 0; k < state.size(); ++k) {
      ParamState expected = state[k];
      std::vector<double> g = grads[k];
      for (double& v : g) v *= clip;
      apply_update(s.update.optimizer, s.update.step, s.update.lr, expected.value, g,
                   expected.state0, expected.state1);
      project_into_bounds(*program_.params[k].spec, expected.value);
      const std::string& name = program_.params[k].name;
      const auto rule = [&](const std::vector<double>& before) {
        return [&, before](std::size_t i, double want) {
          const double change = std::fabs(want - before[i]);
          return kUpdate * u_ * (std::fabs(before[i]) + change) + norm_depth * u_ * change;
        };
      };
      out.tensors.push_back(compare(name, after[k].value, expected.value, rule(state[k].value)));
      if (!expected.state0.empty())
        out.tensors.push_back(
            compare(name + " state0", after[k].state0, expected.state0, rule(state[k].state0)));
      if (!expected.state1.empty())
        out.tensors.push_back(
            compare(name + " state1", after[k].state1, expected.state1, rule(state[k].state1)));
    }
    out.tensors.push_back(compare(
        "grad_norm", {report.grad_norm}, {norm},
        [&](std::size_t, double want) { return kUpdate * norm_depth * u_ * std::fabs(want); }));
    return report;
  }

  const Program& program_;
  const ProgramPlan& plan_;
  Backend& backend_;
  ProgramPlan oracle_plan_;
  std::unique_ptr<Backend> oracle_;
  const DataSplits* data_;
  const std::vector<std::int64_t>& order_;
  double u_;
  double roundings_;  // K + L
};

}  // namespace

double longest_sample_sum(const Graph& g, const StepPlan& plan) {
  std::int64_t longest = 0;
  for (NodeId id : plan.all_in_order) {
    const Node& n = g[id];
    if (n.op == Op::matmul) {
      const Shape& a = g[n[0]].shape;
      longest = std::max<std::int64_t>(longest, a.dims[a.rank - 1]);
      continue;
    }
    for (int i = 0; i < n.arity; ++i)
      if (g[n[i]].shape.size() > n.shape.size()) longest = std::max(longest, g[n[i]].shape.size());
  }
  return static_cast<double>(longest);
}

bool StepCheck::ok() const {
  return std::all_of(tensors.begin(), tensors.end(), [](const TensorCheck& t) { return t.ok(); });
}

bool CheckReport::ok() const {
  return std::all_of(steps.begin(), steps.end(), [](const StepCheck& s) { return s.ok(); });
}

const TensorCheck* CheckReport::first_failure(long* step) const {
  for (const StepCheck& s : steps)
    for (const TensorCheck& t : s.tensors)
      if (!t.ok()) {
        if (step) *step = s.step;
        return &t;
      }
  return nullptr;
}

CheckReport check_backend(const Program& program, const ProgramPlan& plan, Backend& backend,
                          const DataSplits* data, const std::vector<std::int64_t>& order,
                          std::vector<ParamState> start, const std::vector<CheckStep>& steps) {
  CheckReport report;
  report.backend = backend.name();
  report.precision = backend.precision();
  Lockstep lockstep(program, plan, backend, data, order);
  for (const CheckStep& s : steps) report.steps.push_back(lockstep.check(s.update.step, start, s));
  return report;
}

}  // namespace descent
