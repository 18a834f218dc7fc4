// The CPU backend: the CPU kernels (cpu/kernels.cpp) evaluate the Program in double precision,
// a chunk of batch rows at a time (BatchEvaluator below), and the shared update rules
// (optim/update_rules.hpp) change the parameters in place, then project bounded ones into their
// box. Constants ([constants]) are bound once and never change. The Interpreter
// (cpu/interpreter.hpp) runs the same kernels over the whole batch in one pass, with the reference
// math.
#include "cpu/cpu_backend.hpp"

#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "optim/optimizer.hpp"
#include "program/bounds.hpp"

namespace descent {

namespace {

// Per-sample values of one chunk take about this much memory, so that they stay in cache
// (a core's L2 on current CPUs) while the chunk's nodes are evaluated one after another.
constexpr std::int64_t kChunkBytes = std::int64_t{512} * 1024;

// Evaluates `outputs` over a batch, with the batch axis tiled into chunks of rows:
//   1. the uniform nodes (parameters, constants and what they compute), once;
//   2. for each chunk of rows: the per-sample nodes, reading the chunk's rows of every batch
//      input where the Batch keeps them (rows in order are read in place; shuffled rows are
//      gathered into the chunk); then every total (batch_sum or batch_mean of a per-sample
//      node) adds the chunk's rows to its running sum;
//   3. the uniform nodes that read a total (the loss, the gradients), once.
// A chunk's per-sample values stay in cache, so a large batch is read from memory once rather
// than once per node. A total of a product that only the total reads is added row by row
// without storing the product: s*v for a per-sample scalar s (a linear model's gradient,
// Σ (dL/dz)·x; add_products) and outer(a, b) (a layer's weight gradient, Σ δ xᵀ; add_outer).
// A total takes the same additions in the same order as batch_kernel's single pass, and its
// products are the mul and outer kernels', so every value is bit-identical to the
// Interpreter's. A graph that this order does not fit (a per-sample node that reads a total,
// or a per-sample output such as minimize mode's gradients) is evaluated in node order with
// the whole batch as one chunk, like the Interpreter.
class BatchEvaluator {
 public:
  BatchEvaluator(const Graph& graph, const StepPlan& plan, CpuMath math)
      : graph_(graph),
        plan_(plan),
        math_(math),
        values_(graph.size()),
        inputs_(graph.size()),
        rows_(graph.size(), nullptr),
        index_(graph.size(), nullptr),
        tiled_(plan.phased && !plan.per_sample_outputs),
        // What a chunk keeps per row: the per-sample variables and nodes that phase 2 evaluates.
        chunk_rows_(
            std::max<std::int64_t>(1, kChunkBytes / static_cast<std::int64_t>(sizeof(double)) /
                                          std::max<std::int64_t>(plan.values_per_row, 1))) {
    for (NodeId id : plan.all_in_order) {
      const Node& n = graph[id];
      for (int i = 0; i < n.arity; ++i) inputs_[id].push_back(&values_[n[i]]);
    }
  }

  // Binds a uniform variable (a parameter in fit mode) to a copy of `values`.
  void bind(NodeId variable, const std::vector<double>& values) {
    Tensor& t = values_[variable];
    t.shape = graph_[variable].shape;
    t.batch = 0;
    t.data.assign(values.begin(), values.end());
  }

  // Binds a per-sample variable (a data input, or a parameter in minimize mode) to rows that
  // run() reads where they lie: row r of the batch is row index[r] from `rows` or, without an
  // index, row r.
  void bind_rows(NodeId variable, const double* rows, const std::int64_t* index) {
    rows_[variable] = rows;
    index_[variable] = index;
  }

  // Evaluates every planned node for a batch of `rows` samples.
  void run(std::int64_t rows) {
    for (NodeId id : plan_.uniform_variables)
      if (values_[id].data.size() != static_cast<std::size_t>(graph_[id].shape.size()))
        throw Error(ExitCode::failure, "internal: no value bound for '" + graph_[id].name + "'");
    if (plan_.batch_size != kNoNode)
      values_[plan_.batch_size] =
          Tensor::scalar(static_cast<double>(std::max<std::int64_t>(rows, 1)));
    if (!tiled_) {
      load_rows(0, rows, rows);
      evaluate(plan_.all_in_order);
      return;
    }
    evaluate(plan_.uniform_first);
    for (const PlanTotal& t : plan_.totals) {
      Tensor& total = values_[t.node];
      total.shape = graph_[t.node].shape;
      total.batch = 0;
      total.data.assign(static_cast<std::size_t>(t.size), 0.0);
    }
    for (std::int64_t from = 0; from < rows; from += chunk_rows_) {
      load_rows(from, std::min(from + chunk_rows_, rows), rows);
      evaluate(plan_.per_sample);
      for (const PlanTotal& t : plan_.totals) {
        Tensor& total = values_[t.node];
        switch (t.product) {
          case PlanTotal::Product::outer:
            add_outer(values_[t.a], values_[t.b], total);
            break;
          case PlanTotal::Product::scalar_times:
            add_products(values_[t.a], values_[t.b], total);
            break;
          case PlanTotal::Product::none:
            add_rows(values_[t.child], total);
            break;
        }
      }
    }
    for (const PlanTotal& t : plan_.totals)
      if (t.mean)
        for (double& v : values_[t.node].data) v /= static_cast<double>(rows);
    evaluate(plan_.uniform_last);
  }

  const Tensor& value(NodeId id) const { return values_[id]; }

 private:
  // The rows [from, to) of every per-sample variable, as chunk-sized tensors: a view of rows
  // that lie back to back, a copy of gathered ones (prefetching ahead up to batch_rows).
  void load_rows(std::int64_t from, std::int64_t to, std::int64_t batch_rows) {
    for (NodeId id : plan_.row_variables) {
      const Node& n = graph_[id];
      if (rows_[id] == nullptr)
        throw Error(ExitCode::failure, "internal: no rows bound for '" + n.name + "'",
                    graph_.span(n));
      const std::int64_t size = n.shape.size();
      Tensor& t = values_[id];
      t.shape = n.shape;
      t.batch = to - from;
      if (index_[id] == nullptr) {
        t.view = rows_[id] + from * size;
        continue;
      }
      t.view = nullptr;
      t.data.resize(static_cast<std::size_t>((to - from) * size));
      gather_rows(rows_[id], index_[id] + from, to - from, batch_rows - from, size, t.data.data());
    }
  }

  // out[r] = the row index[r] of `rows`, for r < count; index[r] is valid for r < known (the
  // rest of the batch, beyond this chunk). Shuffled rows lie scattered over the data set, so
  // each copy waits for memory. The row kAhead places further on is requested while this one
  // is copied, with the hint to keep it in L2 (locality 1, prefetcht1 on x86): a core can
  // have more L2 misses in flight than L1 misses, and measured on this workload (1M rows of
  // 32 doubles, batches of 1024) that halves the time of a gather, where an L1 prefetch
  // (locality 3) gains nothing over none.
  static void gather_rows(const double* rows, const std::int64_t* index, std::int64_t count,
                          std::int64_t known, std::int64_t size, double* out) {
    constexpr std::int64_t kAhead = 32;
    constexpr std::int64_t kLine = 64 / sizeof(double);
    for (std::int64_t r = 0; r < count; ++r) {
      if (r + kAhead < known) {
        const double* next = rows + index[r + kAhead] * size;
        for (std::int64_t i = 0; i < size; i += kLine) __builtin_prefetch(next + i, 0, 1);
      }
      std::copy_n(rows + index[r] * size, size, out + r * size);
    }
  }

  void evaluate(const std::vector<NodeId>& nodes) {
    for (NodeId id : nodes) evaluate_node(graph_, id, inputs_[id], values_[id], math_);
  }

  // sum[k] += value(r, k) for r = 0, 1, ..., rows-1, for k < W, with the W sums held in
  // registers across the rows (W a compile-time width) rather than stored and reloaded per row.
  template <int W, class Value>
  static void accumulate_block(double* sum, std::int64_t rows, Value value) {
    double acc[W];
    for (int k = 0; k < W; ++k) acc[k] = sum[k];
    for (std::int64_t r = 0; r < rows; ++r)
      for (int k = 0; k < W; ++k) acc[k] += value(r, k);
    for (int k = 0; k < W; ++k) sum[k] = acc[k];
  }

  // sum[i] += value(r, i) for every row r in order, i < size: blocks of 32 and 8 values, then
  // one at a time. Every sum sees its additions in row order, as in batch_kernel.
  template <class Value>
  static void accumulate(double* sum, std::int64_t size, std::int64_t rows, Value value) {
    std::int64_t i = 0;
    for (; i + 32 <= size; i += 32)
      accumulate_block<32>(sum + i, rows, [&](std::int64_t r, int k) { return value(r, i + k); });
    for (; i + 8 <= size; i += 8)
      accumulate_block<8>(sum + i, rows, [&](std::int64_t r, int k) { return value(r, i + k); });
    for (; i < size; ++i)
      accumulate_block<1>(sum + i, rows, [&](std::int64_t r, int) { return value(r, i); });
  }

  // total += each row of `rows`, one row after the other (batch_kernel's order of additions).
  static void add_rows(const Tensor& rows, Tensor& total) {
    const double* x = rows.values();
    const std::int64_t stride = rows.varying() ? rows.shape.size() : 0;
    accumulate(total.data.data(), total.shape.size(), rows.samples(),
               [x, stride](std::int64_t r, std::int64_t i) { return x[r * stride + i]; });
  }

  // total += outer(a, b), row by row: the sums and products of add_rows over the outer kernel.
  static void add_outer(const Tensor& a, const Tensor& b, Tensor& total) {
    const std::int64_t rows = total.shape.dims[0], cols = total.shape.dims[1];
    const double* x = a.values();
    const double* y = b.values();
    const std::int64_t stride_x = a.varying() ? rows : 0, stride_y = b.varying() ? cols : 0;
    const std::int64_t samples = std::max(a.samples(), b.samples());
    for (std::int64_t i = 0; i < rows; ++i)
      accumulate(total.data.data() + i * cols, cols, samples,
                 [x, y, i, stride_x, stride_y](std::int64_t r, std::int64_t j) {
                   return x[r * stride_x + i] * y[r * stride_y + j];
                 });
  }

  // total += scalar*other, row by row: the sums and products of add_rows over the mul kernel.
  static void add_products(const Tensor& scalar, const Tensor& other, Tensor& total) {
    const double* s = scalar.values();
    const double* x = other.values();
    const std::int64_t stride = other.varying() ? other.shape.size() : 0;
    accumulate(total.data.data(), total.shape.size(), scalar.samples(),
               [s, x, stride](std::int64_t r, std::int64_t i) { return s[r] * x[r * stride + i]; });
  }

  const Graph& graph_;
  const StepPlan& plan_;
  CpuMath math_;
  std::vector<Tensor> values_;                      // by NodeId
  std::vector<std::vector<const Tensor*>> inputs_;  // by NodeId: its children's values
  std::vector<const double*> rows_;                 // by NodeId: a per-sample variable's rows
  std::vector<const std::int64_t*> index_;          // by NodeId: which rows, when gathered
  bool tiled_;                                      // the phases, chunk by chunk
  std::int64_t chunk_rows_;
};

class CpuBackend final : public Backend {
 public:
  CpuBackend(const Program& program, const ProgramPlan& plan, CpuMath math)
      : program_(program),
        math_(math),
        training_(program.graph, plan.step, math),
        evaluation_(program.graph, plan.evaluation, math) {
    // Constants never change: bound once.
    for (const ProgramConstant& c : program.constants) {
      if (c.node == kNoNode) continue;
      training_.bind(c.node, c.values());
      evaluation_.bind(c.node, c.values());
    }
  }

  std::string name() const override {
    return math_ == CpuMath::fast ? "cpu (f64)" : "cpu (f64, reference math)";
  }
  std::string precision() const override { return "f64"; }
  // Every total adds its rows one after the other (batch_kernel's order).
  std::int64_t summation_depth(std::int64_t rows) const override { return rows; }

  void attach(const DataSplits& data) override { data_ = data; }
  void set_epoch_order(const std::vector<std::int64_t>& order) override { order_ = order; }

  void load(const std::vector<ParamState>& params) override {
    params_ = params;
    report_ = StepReport{};
  }
  void store(std::vector<ParamState>& params) override { params = params_; }

  void step(const BatchRows& batch, const UpdateSettings& update) override {
    if (report_.diverged_step != 0) return;  // sticky: nothing changes until load()
    run(training_, batch);
    const double loss = training_.value(program_.reported).all()[0];
    double squared = 0.0;
    for (const ProgramParam& p : program_.params)
      for (double g : training_.value(p.gradient).all()) squared += g * g;
    const double grad_norm = std::sqrt(squared);
    report_.loss = loss;
    report_.grad_norm = grad_norm;
    if (!std::isfinite(loss) || !std::isfinite(grad_norm)) {
      report_.diverged_step = update.step;
      return;
    }
    // Clip the global norm: g ← g * clip/‖g‖ when ‖g‖ > clip.
    const double scale =
        update.clip_norm > 0 && grad_norm > update.clip_norm ? update.clip_norm / grad_norm : 1.0;
    // Every gradient is copied out before any parameter changes: a gradient can be a view of
    // another parameter's values (minimize mode's rows are read in place; d(x*y)/dx is y).
    gradient_buffers_.resize(program_.params.size());
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      std::vector<double>& g = gradient_buffers_[i];
      expand_to(training_.value(program_.params[i].gradient), params_[i].value.size(), g);
      if (scale != 1.0)
        for (double& v : g) v *= scale;
    }
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      ParamState& p = params_[i];
      apply_update(update.optimizer, update.step, update.lr, p.value, gradient_buffers_[i],
                   p.state0, p.state1);
      project_into_bounds(*program_.params[i].spec, p.value);  // projected gradient descent
    }
  }

  StepReport report() override { return report_; }

  double evaluate(const BatchRows& batch) override {
    run(evaluation_, batch);
    return evaluation_.value(program_.reported).all()[0];
  }

  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    run(training_, batch);
    gradients.resize(program_.params.size());
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      expand_to(training_.value(program_.params[i].gradient), params_[i].value.size(),
                gradients[i]);
    return training_.value(program_.objective).all()[0];
  }

 private:
  // A gradient the simplifier folded to a smaller (broadcastable) shape, e.g. a filled
  // zero, is spread over the parameter's elements.
  static void expand_to(const Tensor& g, std::size_t size, std::vector<double>& out) {
    const std::span<const double> values = g.all();
    if (values.size() == size) {
      out.assign(values.begin(), values.end());
    } else if (values.size() == 1) {
      out.assign(size, values[0]);
    } else {
      throw Error(ExitCode::failure, "internal: gradient of " + std::to_string(values.size()) +
                                         " values for a parameter of " + std::to_string(size));
    }
  }

  // Binds the batch's rows (read in place: a range of the split, or gathered through the epoch
  // order) and the parameters, and evaluates.
  void run(BatchEvaluator& evaluator, const BatchRows& batch) {
    const SplitRows& split =
        batch.split == BatchRows::Split::train ? data_.train : data_.validation;
    const std::int64_t* index = batch.shuffled ? order_.data() + batch.first : nullptr;
    for (std::size_t k = 0; k < program_.inputs.size(); ++k) {
      const ProgramInput& in = program_.inputs[k];
      if (in.node == kNoNode) continue;  // an input the cost never reads
      const double* rows = split.inputs[k] + (index ? 0 : batch.first * in.shape.size());
      evaluator.bind_rows(in.node, rows, index);
    }
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      // In minimize mode every start has its own copy: a row of the batch.
      if (program_.minimize)
        evaluator.bind_rows(program_.params[i].node, params_[i].value.data(), nullptr);
      else
        evaluator.bind(program_.params[i].node, params_[i].value);
    }
    evaluator.run(batch.rows);
  }

  const Program& program_;
  CpuMath math_;
  BatchEvaluator training_;
  BatchEvaluator evaluation_;
  DataSplits data_;
  std::vector<std::int64_t> order_;
  std::vector<ParamState> params_;
  StepReport report_;
  std::vector<std::vector<double>> gradient_buffers_;  // by parameter
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Program& program, const ProgramPlan& plan,
                                          CpuMath math) {
  return std::make_unique<CpuBackend>(program, plan, math);
}

}  // namespace descent
