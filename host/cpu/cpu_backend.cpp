// The CPU backend: the CPU kernels (cpu/kernels.cpp) evaluate the Program in the backend's scalar
// type T (double, or float in f32), a chunk of batch rows at a time (BatchEvaluator below), and
// the shared update rules (optim/update_rules.hpp) change the parameters in T, then project
// bounded ones into their box. Constants ([constants]) are bound once and never change. The
// Interpreter (cpu/interpreter.hpp) runs the same kernels over the whole batch in one pass, in
// double, with the reference math.
//
// f32 does what the CUDA backend does in f32 (codegen/emitted_backend.hpp, codegen/launch.hpp),
// except that the data set stays in double where the caller keeps it: a chunk converts its rows
// to float as it loads them (no float copy of the data set is kept). The parameters and optimizer
// state are kept as the ParamState doubles; a step rounds them to float, computes the gradient
// norm's clip scale and the update rule in float (UpdateCoefficients<float>), and stores the
// float results back, so after one step they are float values held in doubles.
#include "cpu/cpu_backend.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>
#include <type_traits>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "cpu/matrix_product.hpp"
#include "optim/optimizer.hpp"

namespace descent {

namespace {

// Per-sample values of one chunk take about this much memory, so that they stay in cache
// (a core's L2 on current CPUs) while the chunk's nodes are evaluated one after another.
constexpr std::int64_t kChunkBytes = std::int64_t{512} * 1024;
// A batched plan's chunks have at least this many rows: a matrix-matrix product over fewer
// rows reads its matrix too often per row (measured: README, "Matrix products").
constexpr std::int64_t kBatchedTileRows = 256;
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

// Evaluates `outputs` over a batch, with the batch axis tiled into chunks of rows:
//   1. the uniform nodes (parameters, constants and what they compute), once;
//   2. for each chunk of rows: the per-sample nodes, reading the chunk's rows of every batch
//      input where the Batch keeps them (rows in order are read in place; shuffled rows are
//      gathered into the chunk; in float both are converted into the chunk); then every total
//      (batch_sum or batch_mean of a per-sample node) adds the chunk's rows to its running sum;
//   3. the uniform nodes that read a total (the loss, the gradients), once.
// A chunk's per-sample values stay in cache, so a large batch is read from memory once rather
// than once per node. A total of a product that only the total reads is added row by row
// without storing the product: s*v for a per-sample scalar s (a linear model's gradient,
// Σ (dL/dz)·x; add_products) and outer(a, b) (a layer's weight gradient, Σ δ xᵀ; add_outer).
// In double, a total takes the same additions in the same order as batch_kernel's single pass,
// and its products are the mul and outer kernels', so every value is bit-identical to the
// Interpreter's. In float (kChunkSums), each chunk's rows are summed from zero and the chunk's
// sum is then added to the total: a chain of at most chunk_rows + chunks additions instead of
// one per row (summation_depth), which matters at float's unit roundoff (a million-row chain
// would bound the error by 6% of Σ|t|). A graph that this order does not fit (a per-sample node
// that reads a total, or a per-sample output such as minimize mode's gradients) is evaluated in
// node order with the whole batch as one chunk, like the Interpreter.
template <class T>
class BatchEvaluator {
 public:
  static constexpr bool kChunkSums = !std::is_same_v<T, double>;

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
        // A batched plan's products want tall tiles (a matrix is read once per tile).
        chunk_rows_(std::max<std::int64_t>(plan.batched() ? kBatchedTileRows : 1,
                                           kChunkBytes / static_cast<std::int64_t>(sizeof(T)) /
                                               std::max<std::int64_t>(plan.values_per_row, 1))) {
    for (NodeId id : plan.all_in_order) {
      const Node& n = graph[id];
      for (int i = 0; i < n.arity; ++i) inputs_[id].push_back(&values_[n[i]]);
    }
  }

  // Binds a uniform variable (a parameter in fit mode) to a copy of `values`, in T.
  void bind(NodeId variable, const std::vector<double>& values) {
    TensorOf<T>& t = values_[variable];
    t.shape = graph_[variable].shape;
    t.batch = 0;
    t.data.resize(values.size());
    std::transform(values.begin(), values.end(), t.data.begin(),
                   [](double v) { return static_cast<T>(v); });
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
    begin(rows);
    if (!tiled_) {
      load_rows(0, rows, rows);
      evaluate(plan_.all_in_order);
      return;
    }
    add_range(0, rows, rows);
    finish(rows);
  }

  // run() in three parts, so that several evaluators can share a batch (tiled plans only):
  // begin (phase 1, totals zeroed), add_range (phase 2 over the batch's rows [from, to)), and,
  // after every other evaluator's totals were added in with add_totals_of, finish (the means,
  // phase 3).
  void begin(std::int64_t rows) {
    for (NodeId id : plan_.uniform_variables)
      if (values_[id].data.size() != static_cast<std::size_t>(graph_[id].shape.size()))
        throw Error(ExitCode::failure, "internal: no value bound for '" + graph_[id].name + "'");
    if (plan_.batch_size != kNoNode)
      values_[plan_.batch_size] =
          TensorOf<T>::scalar(static_cast<T>(std::max<std::int64_t>(rows, 1)));
    if (!tiled_) return;
    evaluate(plan_.uniform_first);
    for (const PlanTotal& t : plan_.totals) {
      TensorOf<T>& total = values_[t.node];
      total.shape = graph_[t.node].shape;
      total.batch = 0;
      total.data.assign(static_cast<std::size_t>(t.size), T(0));
    }
  }

  void add_range(std::int64_t first, std::int64_t last, std::int64_t batch_rows) {
    for (std::int64_t from = first; from < last; from += chunk_rows_) {
      load_rows(from, std::min(from + chunk_rows_, last), batch_rows);
      evaluate(plan_.per_sample);
      for (const PlanTotal& t : plan_.totals) add_chunk(t);
    }
  }

  void add_totals_of(const BatchEvaluator& other) {
    for (const PlanTotal& t : plan_.totals) {
      std::vector<T>& sum = values_[t.node].data;
      const std::vector<T>& more = other.values_[t.node].data;
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += more[i];
    }
  }

  void finish(std::int64_t rows) {
    // A mean: the sum divided by the row count in double, rounded once.
    for (const PlanTotal& t : plan_.totals)
      if (t.mean)
        for (T& v : values_[t.node].data)
          v = static_cast<T>(static_cast<double>(v) / static_cast<double>(rows));
    evaluate(plan_.uniform_last);
  }

  bool tiled() const { return tiled_; }

  const TensorOf<T>& value(NodeId id) const { return values_[id]; }

  // The longest chain of additions into a total of `rows` rows (see the class comment).
  std::int64_t summation_depth(std::int64_t rows) const {
    if (!tiled_ || !kChunkSums) return rows;
    return std::min(rows, chunk_rows_) + (rows + chunk_rows_ - 1) / chunk_rows_;
  }

 private:
  // The rows [from, to) of every per-sample variable, as chunk-sized tensors: in double, a view
  // of rows that lie back to back; a copy of gathered ones (prefetching ahead up to batch_rows),
  // and in float a converted copy of either.
  void load_rows(std::int64_t from, std::int64_t to, std::int64_t batch_rows) {
    for (NodeId id : plan_.row_variables) {
      const Node& n = graph_[id];
      if (rows_[id] == nullptr)
        throw Error(ExitCode::failure, "internal: no rows bound for '" + n.name + "'", n.span);
      const std::int64_t size = n.shape.size();
      TensorOf<T>& t = values_[id];
      t.shape = n.shape;
      t.batch = to - from;
      if constexpr (std::is_same_v<T, double>) {
        if (index_[id] == nullptr) {
          t.view = rows_[id] + from * size;
          continue;
        }
      }
      t.view = nullptr;
      t.data.resize(static_cast<std::size_t>((to - from) * size));
      if (index_[id] == nullptr)
        convert(rows_[id] + from * size, (to - from) * size, t.data.data());
      else
        gather_rows(rows_[id], index_[id] + from, to - from, batch_rows - from, size,
                    t.data.data());
    }
  }

  // out[i] = from[i] in T, for i < count (a plain copy in double).
  static void convert(const double* from, std::int64_t count, T* out) {
    if constexpr (std::is_same_v<T, double>) {
      std::copy_n(from, count, out);
    } else {
      for (std::int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(from[i]);
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
                          std::int64_t known, std::int64_t size, T* out) {
    constexpr std::int64_t kAhead = 32;
    constexpr std::int64_t kLine = 64 / sizeof(double);
    for (std::int64_t r = 0; r < count; ++r) {
      if (r + kAhead < known) {
        const double* next = rows + index[r + kAhead] * size;
        for (std::int64_t i = 0; i < size; i += kLine) __builtin_prefetch(next + i, 0, 1);
      }
      convert(rows + index[r] * size, size, out + r * size);
    }
  }

  // Adds the loaded chunk's rows to total `t`.
  void add_chunk(const PlanTotal& t) {
    TensorOf<T>& total = values_[t.node];
    T* sum = total.data.data();
    if constexpr (kChunkSums) {
      chunk_sum_.assign(total.data.size(), T(0));
      sum = chunk_sum_.data();
    }
    switch (t.product) {
      case PlanTotal::Product::outer:
        if (t.batched)
          add_outer_product(values_[t.a], values_[t.b], total.shape, sum);
        else
          add_outer(values_[t.a], values_[t.b], total.shape, sum);
        break;
      case PlanTotal::Product::scalar_times:
        add_products(values_[t.a], values_[t.b], total.shape, sum);
        break;
      case PlanTotal::Product::none:
        add_rows(values_[t.child], total.shape, sum);
        break;
    }
    if constexpr (kChunkSums)
      for (std::size_t i = 0; i < chunk_sum_.size(); ++i) total.data[i] += chunk_sum_[i];
  }

  void evaluate(const std::vector<NodeId>& nodes) {
    for (NodeId id : nodes) {
      if (const PlanProduct* p = plan_.product_of(id))
        evaluate_product(*p);
      else
        evaluate_node(graph_, id, inputs_[id], values_[id], math_);
    }
  }

  // A batched product over the chunk's rows R (one per-sample vector a row): R·Mᵀ for M@v,
  // R·M for v@M (see PlanProduct).
  void evaluate_product(const PlanProduct& p) {
    const TensorOf<T>& v = values_[p.vector];
    const TensorOf<T>& matrix = values_[p.matrix];
    TensorOf<T>& out = values_[p.node];
    const std::int64_t rows = v.samples();
    out.shape = graph_[p.node].shape;
    out.batch = rows;
    out.view = nullptr;
    out.data.resize(static_cast<std::size_t>(rows * out.shape.size()));
    if (p.matrix_left)
      matrix_product(Transpose::no, Transpose::yes, rows, p.m, p.k, v.values(), p.k,
                     matrix.values(), p.k, T(0), out.data.data(), p.m);
    else
      matrix_product(Transpose::no, Transpose::no, rows, p.k, p.m, v.values(), p.m, matrix.values(),
                     p.k, T(0), out.data.data(), p.k);
  }

  // total += Σ_r outer(a_r, b_r) over the chunk's rows, as one product Aᵀ·B (batched totals).
  static void add_outer_product(const TensorOf<T>& a, const TensorOf<T>& b, const Shape& shape,
                                T* sum) {
    const std::int64_t m = shape.dims[0], n = shape.dims[1];
    matrix_product(Transpose::yes, Transpose::no, m, n, a.samples(), a.values(), m, b.values(), n,
                   T(1), sum, n);
  }

  // sum[k] += value(r, k) for r = 0, 1, ..., rows-1, for k < W, with the W sums held in
  // registers across the rows (W a compile-time width) rather than stored and reloaded per row.
  template <int W, class Value>
  static void accumulate_block(T* sum, std::int64_t rows, Value value) {
    T acc[W];
    for (int k = 0; k < W; ++k) acc[k] = sum[k];
    for (std::int64_t r = 0; r < rows; ++r)
      for (int k = 0; k < W; ++k) acc[k] += value(r, k);
    for (int k = 0; k < W; ++k) sum[k] = acc[k];
  }

  // sum[i] += value(r, i) for every row r in order, i < size: blocks of 32 and 8 values, then
  // one at a time. Every sum sees its additions in row order, as in batch_kernel.
  template <class Value>
  static void accumulate(T* sum, std::int64_t size, std::int64_t rows, Value value) {
    std::int64_t i = 0;
    for (; i + 32 <= size; i += 32)
      accumulate_block<32>(sum + i, rows, [&](std::int64_t r, int k) { return value(r, i + k); });
    for (; i + 8 <= size; i += 8)
      accumulate_block<8>(sum + i, rows, [&](std::int64_t r, int k) { return value(r, i + k); });
    for (; i < size; ++i)
      accumulate_block<1>(sum + i, rows, [&](std::int64_t r, int) { return value(r, i); });
  }

  // sum += each row of `rows`, one row after the other (batch_kernel's order of additions).
  static void add_rows(const TensorOf<T>& rows, const Shape& shape, T* sum) {
    const T* x = rows.values();
    const std::int64_t stride = rows.varying() ? rows.shape.size() : 0;
    accumulate(sum, shape.size(), rows.samples(),
               [x, stride](std::int64_t r, std::int64_t i) { return x[r * stride + i]; });
  }

  // sum += outer(a, b), row by row: the sums and products of add_rows over the outer kernel.
  static void add_outer(const TensorOf<T>& a, const TensorOf<T>& b, const Shape& shape, T* sum) {
    const std::int64_t rows = shape.dims[0], cols = shape.dims[1];
    const T* x = a.values();
    const T* y = b.values();
    const std::int64_t stride_x = a.varying() ? rows : 0, stride_y = b.varying() ? cols : 0;
    const std::int64_t samples = std::max(a.samples(), b.samples());
    for (std::int64_t i = 0; i < rows; ++i)
      accumulate(sum + i * cols, cols, samples,
                 [x, y, i, stride_x, stride_y](std::int64_t r, std::int64_t j) {
                   return x[r * stride_x + i] * y[r * stride_y + j];
                 });
  }

  // sum += scalar*other, row by row: the sums and products of add_rows over the mul kernel.
  static void add_products(const TensorOf<T>& scalar, const TensorOf<T>& other, const Shape& shape,
                           T* sum) {
    const T* s = scalar.values();
    const T* x = other.values();
    const std::int64_t stride = other.varying() ? other.shape.size() : 0;
    accumulate(sum, shape.size(), scalar.samples(),
               [s, x, stride](std::int64_t r, std::int64_t i) { return s[r] * x[r * stride + i]; });
  }

  const Graph& graph_;
  const StepPlan& plan_;
  CpuMath math_;
  std::vector<TensorOf<T>> values_;                      // by NodeId
  std::vector<std::vector<const TensorOf<T>*>> inputs_;  // by NodeId: its children's values
  std::vector<const double*> rows_;                      // by NodeId: a per-sample variable's rows
  std::vector<const std::int64_t*> index_;               // by NodeId: which rows, when gathered
  bool tiled_;                                           // the phases, chunk by chunk
  std::int64_t chunk_rows_;
  std::vector<T> chunk_sum_;  // kChunkSums: one total's sum over the current chunk
};

template <class T>
class CpuBackend final : public Backend {
 public:
  static constexpr bool kF32 = std::is_same_v<T, float>;

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
  void set_epoch_order(const std::vector<std::int64_t>& order) override { order_ = order; }

  void load(const std::vector<ParamState>& params) override {
    params_ = params;
    report_ = StepReport{};
  }
  void store(std::vector<ParamState>& params) override { params = params_; }

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
      expand_to(training_.value(program_.params[i].gradient), params_[i].value.size(), g);
      if (scale != T(1))
        for (T& v : g) v *= scale;
    }
    const UpdateCoefficients<T> c =
        make_update_coefficients<T>(update.optimizer, update.step, update.lr);
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      update_param(c, *program_.params[i].spec, gradient_buffers_[i], params_[i]);
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
      expand_to(training_.value(program_.params[i].gradient), params_[i].value.size(),
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
  // (launch::update_value); the results are stored back into the double master copy. In double
  // this is apply_update followed by project_into_bounds, value for value.
  static void update_param(const UpdateCoefficients<T>& c, const ParamSpec& spec,
                           const std::vector<T>& g, ParamState& p) {
    const std::size_t n = p.value.size();
    const bool has0 = !p.state0.empty(), has1 = !p.state1.empty();
    const int slots = optimizer_state_slots(c.kind, c.momentum != T(0));
    if (g.size() != n || (has0 && p.state0.size() != n) || (has1 && p.state1.size() != n) ||
        (slots >= 1 && !has0) || (slots >= 2 && !has1))
      throw Error(ExitCode::failure, "internal: the update of '" + spec.name +
                                         "' got gradients or optimizer state of the wrong size");
    const auto size = static_cast<std::size_t>(spec.shape.size());
    for (std::size_t i = 0; i < n; ++i) {
      T value = static_cast<T>(p.value[i]);
      T s0 = has0 ? static_cast<T>(p.state0[i]) : T(0);
      T s1 = has1 ? static_cast<T>(p.state1[i]) : T(0);
      update_element(c, value, g[i], s0, s1);
      if (spec.bounds.present) {
        const auto element = static_cast<std::int64_t>(i % size);
        value = project_into(value, static_cast<T>(spec.lower_bound(element)),
                             static_cast<T>(spec.upper_bound(element)));
      }
      p.value[i] = static_cast<double>(value);
      if (has0) p.state0[i] = static_cast<double>(s0);
      if (has1) p.state1[i] = static_cast<double>(s1);
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
  std::vector<std::int64_t> order_;
  std::vector<ParamState> params_;
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
