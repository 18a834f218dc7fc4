// The CPU backend: the CPU kernels (cpu/kernels.cpp) evaluate the Program in the backend's scalar
// type T (double, or float in f32), a chunk of batch rows at a time (cpu/batch_evaluator.hpp), and
// the shared update rules (optim/update_rules.hpp) change the parameters in T, then project
// bounded ones into their box. Constants ([constants]) are bound once and never change. The
// Interpreter (cpu/interpreter.hpp) runs the same kernels over the whole batch in one pass, in
// double, with the reference math.
//
// f32 does what the CUDA backend does in f32 (codegen/emitted_backend.hpp, codegen/launch.hpp),
// except that the data set stays in double where the caller keeps it: a chunk converts its rows
// to float as it loads them (no float copy of the data set is kept). The parameters and optimizer
// state are held in float between load() and store() (rounded from the ParamState doubles by
// load, widened back by store); a step computes the gradient norm's clip scale and the update
// rule in float (UpdateCoefficients<float>).
#include "cpu/cpu_backend.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>
#include <type_traits>

#include "common/error.hpp"
#include "cpu/batch_evaluator.hpp"
#include "cpu/interpreter.hpp"
#include "optim/optimizer.hpp"

namespace descent {

namespace {

// A batch is shared among threads only with at least this much work a thread (work_per_row
// below, times rows): under it, starting the threads costs more than they save (a thread's
// start and join take tens of microseconds, about as long as this many values of work; a narrow
// model of 32 values a row has 16,384 rows a thread, a 784-128 layer 3).
constexpr std::int64_t kWorkPerThread = std::int64_t{1} << 19;

// A step's work a row, in values computed: the row's per-sample values and, for each product,
// its multiply-adds (a matrix-vector product's m*k, an outer total's size).
std::int64_t work_per_row(const StepPlan& plan) {
  std::int64_t work = plan.values_per_row;
  for (const PlanProduct& p : plan.products) work += p.m * p.k;
  for (const PlanTotal& t : plan.totals)
    if (t.product == PlanTotal::Product::outer) work += t.size;
  return std::max<std::int64_t>(work, 1);
}

template <class T>
class CpuBackend final : public Backend {
 public:
  static constexpr bool kF32 = std::is_same_v<T, float>;
  // One parameter's values and optimizer state in T (ParamState's layout).
  struct Working {
    std::vector<T> value, state0, state1;
  };

  CpuBackend(const Program& program, const ProgramPlan& plan, CpuMath math, int threads)
      : program_(program),
        math_(math),
        threads_(std::max(threads, 1)),
        training_(program.graph, plan.step, math),
        evaluation_(program.graph, plan.evaluation, math),
        training_work_(work_per_row(plan.step)),
        evaluation_work_(work_per_row(plan.evaluation)) {
    // The rows of a large batch are shared among threads, each with an evaluator of its own.
    training_parts_.reserve(static_cast<std::size_t>(threads_ - 1));
    evaluation_parts_.reserve(static_cast<std::size_t>(threads_ - 1));
    for (int t = 1; t < threads_; ++t) {
      training_parts_.emplace_back(program.graph, plan.step, math);
      evaluation_parts_.emplace_back(program.graph, plan.evaluation, math);
    }
    // Constants never change: bound once.
    for (const ProgramConstant& c : program.constants) {
      if (c.node == kNoNode) continue;
      for (BatchEvaluator<T>* e : all_evaluators()) e->bind(c.node, c.values());
    }
  }

  std::string name() const override {
    const std::string precision = kF32 ? "f32" : "f64";
    return math_ == CpuMath::fast ? "cpu (" + precision + ")"
                                  : "cpu (" + precision + ", reference math)";
  }
  std::string precision() const override { return kF32 ? "f32" : "f64"; }
  // f64: every total adds its rows one after the other (batch_kernel's order); f32: chunk by
  // chunk (BatchEvaluator::summation_depth); a batch shared among threads adds each further
  // thread's sum once more.
  std::int64_t summation_depth(std::int64_t rows) const override {
    return std::max(training_.summation_depth(rows), evaluation_.summation_depth(rows)) +
           static_cast<std::int64_t>(training_parts_.size());
  }

  void attach(const DataSplits& data) override { data_ = data; }
  // Kept by reference, not copied (8 bytes a training row): the caller keeps it (backend.hpp).
  void set_epoch_order(const std::vector<std::int64_t>& order) override { order_ = &order; }

  // Between load() and store() the parameters and optimizer state are held in T (working_), as
  // the GPU keeps them on the device: a step reads and writes them without converting.
  void load(const std::vector<ParamState>& params) override {
    working_.resize(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      convert(params[i].value, working_[i].value);
      convert(params[i].state0, working_[i].state0);
      convert(params[i].state1, working_[i].state1);
    }
    report_ = StepReport{};
  }
  void store(std::vector<ParamState>& params) override {
    params.resize(working_.size());
    for (std::size_t i = 0; i < working_.size(); ++i) {
      convert(working_[i].value, params[i].value);
      convert(working_[i].state0, params[i].state0);
      convert(working_[i].state1, params[i].state1);
    }
  }

  void step(const BatchRows& batch, const UpdateSettings& update) override {
    if (report_.diverged_step != 0) return;  // sticky: nothing changes until load()
    run(training_, training_parts_, training_work_, batch);
    const double loss = static_cast<double>(training_.value(program_.reported).all()[0]);
    // The sum of squares in double (exact enough for any precision), the norm in T.
    double squared = 0.0;
    for (const ProgramParam& p : program_.params)
      for (T g : training_.value(p.gradient).all())
        squared += static_cast<double>(g) * static_cast<double>(g);
    const T grad_norm = static_cast<T>(std::sqrt(squared));
    report_.loss = loss;
    report_.grad_norm = static_cast<double>(grad_norm);
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      report_.diverged_step = update.step;
      return;
    }
    // Clip the global norm: g ← g * clip/‖g‖ when ‖g‖ > clip.
    const T clip = static_cast<T>(update.clip_norm);
    const T scale = clip > T(0) && grad_norm > clip ? clip / grad_norm : T(1);
    // Every gradient is copied out before any parameter changes: a gradient can be a view of
    // another parameter's values (minimize mode's rows are read in place; d(x*y)/dx is y).
    gradient_buffers_.resize(program_.params.size());
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      std::vector<T>& g = gradient_buffers_[i];
      expand_to(training_.value(program_.params[i].gradient), working_[i].value.size(), g);
      if (scale != T(1))
        for (T& v : g) v *= scale;
    }
    const UpdateCoefficients<T> c =
        make_update_coefficients<T>(update.optimizer, update.step, update.lr);
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      update_param(c, *program_.params[i].spec, gradient_buffers_[i], working_[i]);
  }

  StepReport report() override { return report_; }

  double evaluate(const BatchRows& batch) override {
    run(evaluation_, evaluation_parts_, evaluation_work_, batch);
    return static_cast<double>(evaluation_.value(program_.reported).all()[0]);
  }

  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    run(training_, training_parts_, training_work_, batch);
    gradients.resize(program_.params.size());
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      expand_to(training_.value(program_.params[i].gradient), working_[i].value.size(),
                gradients[i]);
    return static_cast<double>(training_.value(program_.objective).all()[0]);
  }

 private:
  // A gradient the simplifier folded to a smaller (broadcastable) shape, e.g. a filled
  // zero, is spread over the parameter's elements.
  template <class Out>
  static void expand_to(const TensorOf<T>& g, std::size_t size, std::vector<Out>& out) {
    const std::span<const T> values = g.all();
    if (values.size() == size) {
      out.assign(values.begin(), values.end());
    } else if (values.size() == 1) {
      out.assign(size, static_cast<Out>(values[0]));
    } else {
      throw Error(ExitCode::failure, "internal: gradient of " + std::to_string(values.size()) +
                                         " values for a parameter of " + std::to_string(size));
    }
  }

  // The rule (optim/update_rules.hpp) on every element of `p` in T, then the projection into the
  // parameter's box (projected gradient descent), as the emitted update does
  // (launch::update_value). In double this is apply_update followed by project_into_bounds,
  // value for value.
  static void update_param(const UpdateCoefficients<T>& c, const ParamSpec& spec,
                           const std::vector<T>& g, Working& p) {
    const std::size_t n = p.value.size();
    const bool has0 = !p.state0.empty(), has1 = !p.state1.empty();
    const int slots = optimizer_state_slots(c.kind, c.momentum != T(0));
    if (g.size() != n || (has0 && p.state0.size() != n) || (has1 && p.state1.size() != n) ||
        (slots >= 1 && !has0) || (slots >= 2 && !has1))
      throw Error(ExitCode::failure, "internal: the update of '" + spec.name +
                                         "' got gradients or optimizer state of the wrong size");
    // The rule is chosen once, outside the loop over the elements, so that the compiler can run
    // the loop several elements per instruction (update_element's switch per element kept it
    // from that); the arithmetic is update_element's.
    const auto with_rule = [&](auto rule) {
      if (has0 && has1)
        update_loop<true, true>(n, g.data(), p, rule);
      else if (has0)
        update_loop<true, false>(n, g.data(), p, rule);
      else if (has1)
        update_loop<false, true>(n, g.data(), p, rule);
      else
        update_loop<false, false>(n, g.data(), p, rule);
    };
    using Kind = OptimizerConfig::Kind;
    switch (c.kind) {
      case Kind::sgd:
        with_rule([&c](T& v, T gi, T&, T&) { sgd_update(v, gi, c); });
        break;
      case Kind::momentum:
        with_rule([&c](T& v, T gi, T& s0, T&) { momentum_update(v, s0, gi, c); });
        break;
      case Kind::nesterov:
        with_rule([&c](T& v, T gi, T& s0, T&) { nesterov_update(v, s0, gi, c); });
        break;
      case Kind::adam:
        with_rule([&c](T& v, T gi, T& s0, T& s1) { adam_update(v, s0, s1, gi, c); });
        break;
      case Kind::adamw:
        with_rule([&c](T& v, T gi, T& s0, T& s1) { adamw_update(v, s0, s1, gi, c); });
        break;
      case Kind::rmsprop:
        with_rule([&c](T& v, T gi, T& s0, T& s1) { rmsprop_update(v, s0, s1, gi, c); });
        break;
    }
    if (!spec.bounds.present) return;
    const auto size = static_cast<std::size_t>(spec.shape.size());
    for (std::size_t i = 0; i < n; ++i) {
      const auto element = static_cast<std::int64_t>(i % size);
      p.value[i] = project_into(p.value[i], static_cast<T>(spec.lower_bound(element)),
                                static_cast<T>(spec.upper_bound(element)));
    }
  }

  // value, state0, state1 ← rule(value, g, state0, state1) element by element, in T; a slot the
  // rule has no state for reads 0 and is not written.
  template <bool kHas0, bool kHas1, class Rule>
  static void update_loop(std::size_t n, const T* g, Working& p, Rule rule) {
    T* value = p.value.data();
    T* state0 = kHas0 ? p.state0.data() : nullptr;
    T* state1 = kHas1 ? p.state1.data() : nullptr;
    for (std::size_t i = 0; i < n; ++i) {
      T s0 = kHas0 ? state0[i] : T(0);
      T s1 = kHas1 ? state1[i] : T(0);
      rule(value[i], g[i], s0, s1);
      if constexpr (kHas0) state0[i] = s0;
      if constexpr (kHas1) state1[i] = s1;
    }
  }

  std::vector<BatchEvaluator<T>*> all_evaluators() {
    std::vector<BatchEvaluator<T>*> out{&training_, &evaluation_};
    for (BatchEvaluator<T>& e : training_parts_) out.push_back(&e);
    for (BatchEvaluator<T>& e : evaluation_parts_) out.push_back(&e);
    return out;
  }

  // Evaluates a batch with `evaluator`, and when the batch is large and the plan tiled, with
  // `parts` too: the rows split into 1 + parts.size() ranges of (nearly) equal length, one a
  // thread, whose totals are added up in range order. The split depends on the row count and
  // the thread count only, so the same run gives the same bits; one thread adds every row in
  // order (the Interpreter's order in f64).
  void run(BatchEvaluator<T>& evaluator, std::vector<BatchEvaluator<T>>& parts,
           std::int64_t work_per_row, const BatchRows& batch) {
    const std::int64_t rows = batch.rows;
    const std::int64_t worth =
        std::max<std::int64_t>(rows / std::max<std::int64_t>(kWorkPerThread / work_per_row, 1), 1);
    const std::int64_t count = std::min({static_cast<std::int64_t>(parts.size()) + 1, worth, rows});
    if (count <= 1 || !evaluator.tiled()) {
      run(evaluator, batch);
      return;
    }
    bind(evaluator, batch);
    for (std::int64_t p = 1; p < count; ++p) bind(parts[p - 1], batch);
    evaluator.begin(rows);
    for (std::int64_t p = 1; p < count; ++p) parts[p - 1].begin(rows);
    const auto range = [&](std::int64_t p) { return p * rows / count; };
    std::vector<std::exception_ptr> failed(static_cast<std::size_t>(count));
    {
      std::vector<std::jthread> workers;
      for (std::int64_t p = 1; p < count; ++p)
        workers.emplace_back([&, p] {
          try {
            parts[p - 1].add_range(range(p), range(p + 1), rows);
          } catch (...) {
            failed[static_cast<std::size_t>(p)] = std::current_exception();
          }
        });
      try {
        evaluator.add_range(0, range(1), rows);
      } catch (...) {
        failed[0] = std::current_exception();
      }
    }
    for (const std::exception_ptr& e : failed)
      if (e) std::rethrow_exception(e);
    for (std::int64_t p = 1; p < count; ++p) evaluator.add_totals_of(parts[p - 1]);
    evaluator.finish(rows);
  }

  void run(BatchEvaluator<T>& evaluator, const BatchRows& batch) {
    bind(evaluator, batch);
    evaluator.run(batch.rows);
  }

  // Binds the batch's rows (read in place: a range of the split, or gathered through the epoch
  // order) and the parameters.
  void bind(BatchEvaluator<T>& evaluator, const BatchRows& batch) {
    const SplitRows& split =
        batch.split == BatchRows::Split::train ? data_.train : data_.validation;
    if (batch.shuffled && order_ == nullptr)
      throw Error(ExitCode::failure, "internal: a shuffled batch before set_epoch_order");
    const std::int64_t* index = batch.shuffled ? order_->data() + batch.first : nullptr;
    for (std::size_t k = 0; k < program_.inputs.size(); ++k) {
      const ProgramInput& in = program_.inputs[k];
      if (in.node == kNoNode) continue;  // an input the cost never reads
      const double* rows = split.inputs[k] + (index ? 0 : batch.first * in.shape.size());
      evaluator.bind_rows(in.node, rows, index);
    }
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      // In minimize mode every start has its own copy: a row of the batch.
      if (program_.minimize) {
        // The evaluator reads rows as doubles: in f32 the working values are widened first.
        const double* rows = nullptr;
        if constexpr (kF32) {
          minimize_rows_.resize(working_.size());
          convert(working_[i].value, minimize_rows_[i]);
          rows = minimize_rows_[i].data();
        } else {
          rows = working_[i].value.data();
        }
        evaluator.bind_rows(program_.params[i].node, rows, nullptr);
      } else {
        evaluator.bind(program_.params[i].node, working_[i].value);
      }
    }
  }

  const Program& program_;
  CpuMath math_;
  int threads_;
  BatchEvaluator<T> training_;
  BatchEvaluator<T> evaluation_;
  std::vector<BatchEvaluator<T>> training_parts_;  // one a thread beyond the first
  std::vector<BatchEvaluator<T>> evaluation_parts_;
  std::int64_t training_work_;  // work_per_row of each plan
  std::int64_t evaluation_work_;
  DataSplits data_;
  const std::vector<std::int64_t>* order_ = nullptr;
  template <class From, class To>
  static void convert(const std::vector<From>& from, std::vector<To>& to) {
    to.resize(from.size());
    std::transform(from.begin(), from.end(), to.begin(), [](From v) { return static_cast<To>(v); });
  }

  std::vector<std::vector<double>> minimize_rows_;  // f32 minimize mode: the rows bound
  std::vector<Working> working_;
  StepReport report_;
  std::vector<std::vector<T>> gradient_buffers_;  // by parameter
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          const CpuBackendOptions& options) {
  if (options.f32)
    return std::make_unique<CpuBackend<float>>(program, plan, options.math, options.threads);
  return std::make_unique<CpuBackend<double>>(program, plan, options.math, options.threads);
}

std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          CpuMath math) {
  CpuBackendOptions options;
  options.math = math;
  return make_cpu_backend(program, plan, options);
}

}  // namespace descent
