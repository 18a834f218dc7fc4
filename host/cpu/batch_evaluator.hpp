// The CPU backend's evaluation of a step plan over a batch, a chunk of rows at a time, in the
// backend's scalar type T (double, or float in f32): BatchEvaluator below. Used by the CPU
// backend (cpu/cpu_backend.cpp), one evaluator a thread.
//
// Does not: bind parameters from a Backend's state, update them, or choose threads (the CPU
// backend does).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "cpu/matrix_product.hpp"
#include "plan/step_plan.hpp"

namespace descent {

// Per-sample values of one chunk take about this much memory, so that they stay in cache
// (a core's L2 on current CPUs) while the chunk's nodes are evaluated one after another.
inline constexpr std::int64_t kChunkBytes = std::int64_t{512} * 1024;
// A batched plan's chunks have at least this many rows: a matrix-matrix product over fewer
// rows reads its matrix too often per row (measured: README, "Matrix products").
inline constexpr std::int64_t kBatchedTileRows = 256;

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
  template <class U>
  void bind(NodeId variable, const std::vector<U>& values) {
    TensorOf<T>& t = values_[variable];
    t.shape = graph_[variable].shape;
    t.batch = 0;
    t.data.resize(values.size());
    std::transform(values.begin(), values.end(), t.data.begin(),
                   [](U v) { return static_cast<T>(v); });
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
        throw Error(ExitCode::failure, "internal: no rows bound for '" + n.name + "'",
                    graph_.span(n));
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

}  // namespace descent
