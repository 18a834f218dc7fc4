// The CPU reference backend: the CPU kernels (cpu/kernels.cpp) evaluate the Program in double
// precision, a chunk of batch rows at a time (BatchEvaluator below), and the shared update rules
// (update_rules.hpp) change the parameters in place. The Interpreter (cpu/interpreter.hpp) runs
// the same kernels over the whole batch in one pass; the backend uses it only to name the node
// where a step went non-finite.
#include <algorithm>
#include <cmath>

#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "graph/printer.hpp"
#include "train/backend.hpp"
#include "train/optimizer.hpp"

namespace descent {

namespace {

// Per-sample values of one chunk take about this much memory, so that they stay in cache
// (a core's L2 on current CPUs) while the chunk's nodes are evaluated one after another.
constexpr std::int64_t kChunkBytes = std::int64_t{512} * 1024;

bool all_finite(const Tensor& t) {
  for (double v : t.all())
    if (!std::isfinite(v)) return false;
  return true;
}

// A batch total of a per-sample value: the reduction that ends a chunk's work.
bool is_total(const Graph& graph, const Node& n) {
  return (n.op == Op::batch_sum || n.op == Op::batch_mean) && graph[n[0]].varying;
}

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
  BatchEvaluator(const Graph& graph, const std::vector<NodeId>& outputs)
      : graph_(graph),
        values_(graph.size()),
        inputs_(graph.size()),
        rows_(graph.size(), nullptr),
        index_(graph.size(), nullptr) {
    const std::vector<NodeId> order = graph.reachable(outputs);
    std::vector<bool> reads_total(graph.size(), false);
    std::vector<int> readers(graph.size(), 0);
    for (NodeId id : outputs) ++readers[id];
    bool tileable = true;
    for (NodeId id : order) {
      const Node& n = graph[id];
      for (int i = 0; i < n.arity; ++i) {
        inputs_[id].push_back(&values_[n[i]]);
        ++readers[n[i]];
        if (reads_total[n[i]]) reads_total[id] = true;
      }
      if (n.op == Op::variable) {
        if (n.var_kind == VarKind::batch_size)
          batch_size_ = id;
        else
          (n.varying ? row_variables_ : uniform_variables_).push_back(id);
        continue;
      }
      all_in_order_.push_back(id);
      if (is_total(graph, n)) {
        totals_.push_back(id);
        reads_total[id] = true;
      } else if (n.varying) {
        per_sample_.push_back(id);
        if (reads_total[id]) tileable = false;
      } else {
        (reads_total[id] ? uniform_last_ : uniform_first_).push_back(id);
      }
    }
    for (NodeId id : outputs)
      if (graph[id].varying) tileable = false;
    tiled_ = tileable;
    if (tiled_) fuse_products(readers);
    // What a chunk keeps per row: the per-sample variables and nodes that phase 2 evaluates.
    std::int64_t values_per_row = 0;
    for (NodeId id : row_variables_) values_per_row += graph[id].shape.size();
    for (NodeId id : per_sample_) values_per_row += graph[id].shape.size();
    chunk_rows_ =
        std::max<std::int64_t>(1, kChunkBytes / static_cast<std::int64_t>(sizeof(double)) /
                                      std::max<std::int64_t>(values_per_row, 1));
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
    for (NodeId id : uniform_variables_)
      if (values_[id].data.size() != static_cast<std::size_t>(graph_[id].shape.size()))
        throw Error(ExitCode::failure, "internal: no value bound for '" + graph_[id].name + "'");
    if (batch_size_ != kNoNode)
      values_[batch_size_] = Tensor::scalar(static_cast<double>(std::max<std::int64_t>(rows, 1)));
    if (!tiled_) {
      load_rows(0, rows, rows);
      evaluate(all_in_order_);
      return;
    }
    evaluate(uniform_first_);
    for (NodeId id : totals_) {
      Tensor& total = values_[id];
      total.shape = graph_[id].shape;
      total.batch = 0;
      total.data.assign(static_cast<std::size_t>(total.shape.size()), 0.0);
    }
    for (std::int64_t from = 0; from < rows; from += chunk_rows_) {
      load_rows(from, std::min(from + chunk_rows_, rows), rows);
      evaluate(per_sample_);
      for (NodeId id : totals_) {
        if (const Product* p = product_of(id))
          p->outer ? add_outer(values_[p->a], values_[p->b], values_[id])
                   : add_products(values_[p->a], values_[p->b], values_[id]);
        else
          add_rows(values_[graph_[id][0]], values_[id]);
      }
    }
    for (NodeId id : totals_)
      if (graph_[id].op == Op::batch_mean)
        for (double& v : values_[id].data) v /= static_cast<double>(rows);
    evaluate(uniform_last_);
  }

  const Tensor& value(NodeId id) const { return values_[id]; }

 private:
  // A total of a product that nothing else reads, added row by row without storing the
  // product (whose node is not evaluated): a*b for a per-sample scalar a (add_products), or
  // outer(a, b) (add_outer; a layer's weight gradient, Σ δ xᵀ).
  struct Product {
    NodeId total, a, b;
    bool outer;
  };

  // Finds the totals that add_products and add_outer can compute, and takes their products
  // out of phase 2.
  void fuse_products(const std::vector<int>& readers) {
    for (NodeId id : totals_) {
      const NodeId c = graph_[id][0];
      const Node& product = graph_[c];
      if (readers[c] != 1) continue;
      if (product.op == Op::outer) {
        products_.push_back({id, product[0], product[1], true});
        std::erase(per_sample_, c);
        continue;
      }
      if (product.op != Op::mul) continue;
      for (int i = 0; i < 2; ++i) {
        const Node& s = graph_[product[i]];
        const Node& o = graph_[product[1 - i]];
        if (s.varying && s.shape.size() == 1 && o.shape == product.shape) {
          products_.push_back({id, product[i], product[1 - i], false});
          std::erase(per_sample_, c);
          break;
        }
      }
    }
  }

  const Product* product_of(NodeId total) const {
    for (const Product& p : products_)
      if (p.total == total) return &p;
    return nullptr;
  }

  // The rows [from, to) of every per-sample variable, as chunk-sized tensors: a view of rows
  // that lie back to back, a copy of gathered ones (prefetching ahead up to batch_rows).
  void load_rows(std::int64_t from, std::int64_t to, std::int64_t batch_rows) {
    for (NodeId id : row_variables_) {
      const Node& n = graph_[id];
      if (rows_[id] == nullptr)
        throw Error(ExitCode::failure, "internal: no rows bound for '" + n.name + "'", n.span);
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
    for (NodeId id : nodes) evaluate_node(graph_, id, inputs_[id], values_[id]);
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
  std::vector<Tensor> values_;                      // by NodeId
  std::vector<std::vector<const Tensor*>> inputs_;  // by NodeId: its children's values
  std::vector<const double*> rows_;                 // by NodeId: a per-sample variable's rows
  std::vector<const std::int64_t*> index_;          // by NodeId: which rows, when gathered
  std::vector<NodeId> row_variables_, uniform_variables_;
  NodeId batch_size_ = kNoNode;
  bool tiled_ = false;
  std::int64_t chunk_rows_ = 1;
  std::vector<NodeId> all_in_order_;   // every node but the variables, for a graph not tiled
  std::vector<NodeId> uniform_first_;  // phase 1
  std::vector<NodeId> per_sample_;     // phase 2, per chunk
  std::vector<NodeId> totals_;         // phase 2, summed over the chunks
  std::vector<NodeId> uniform_last_;   // phase 3
  std::vector<Product> products_;      // totals of products: add_products, add_outer
};

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
    result.loss = training_.value(program_.reported).all()[0];
    double squared = 0.0;
    for (const ProgramParam& p : program_.params)
      for (double g : training_.value(p.gradient).all()) squared += g * g;
    result.grad_norm = std::sqrt(squared);
    if (!std::isfinite(result.loss) || !std::isfinite(result.grad_norm)) {
      result.finite = false;
      result.problem = describe_first_non_finite(batch);
      return result;
    }
    // Clip the global norm: g ← g * clip/‖g‖ when ‖g‖ > clip.
    const double scale = update.clip_norm > 0 && result.grad_norm > update.clip_norm
                             ? update.clip_norm / result.grad_norm
                             : 1.0;
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
    }
    return result;
  }

  double evaluate(const Batch& batch) override {
    run(evaluation_, batch);
    return evaluation_.value(program_.reported).all()[0];
  }

  double objective_and_gradients(const Batch& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    run(training_, batch);
    gradients.resize(program_.params.size());
    for (std::size_t i = 0; i < program_.params.size(); ++i)
      expand_to(training_.value(program_.params[i].gradient), params_[i].value.size(),
                gradients[i]);
    return training_.value(program_.objective).all()[0];
  }

 private:
  static std::vector<NodeId> training_outputs(const Program& program) {
    std::vector<NodeId> outputs = program.step_outputs();
    outputs.push_back(program.objective);
    return outputs;
  }

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

  void run(BatchEvaluator& evaluator, const Batch& batch) {
    for (std::size_t k = 0; k < program_.inputs.size(); ++k)
      if (program_.inputs[k].node != kNoNode)  // else an input the cost never reads
        evaluator.bind_rows(program_.inputs[k].node, batch.inputs[k], batch.index);
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      // In minimize mode every start has its own copy: a row of the batch.
      if (program_.minimize)
        evaluator.bind_rows(program_.params[i].node, params_[i].value.data(), nullptr);
      else
        evaluator.bind(program_.params[i].node, params_[i].value);
    }
    evaluator.run(batch.rows);
  }

  // The first node, in evaluation order, holding a non-finite value: the place where the
  // run diverged, with its expression and its position in the config. The Interpreter
  // evaluates the whole batch again for this (its values are the evaluator's, bit for bit).
  std::string describe_first_non_finite(const Batch& batch) const {
    Interpreter reference(program_.graph, training_outputs(program_));
    for (std::size_t k = 0; k < program_.inputs.size(); ++k) {
      const ProgramInput& in = program_.inputs[k];
      if (in.node == kNoNode) continue;
      const std::int64_t size = in.shape.size();
      std::vector<double> rows;
      rows.reserve(static_cast<std::size_t>(batch.rows * size));
      for (std::int64_t r = 0; r < batch.rows; ++r) {
        const double* row = batch.row(k, r, size);
        rows.insert(rows.end(), row, row + size);
      }
      reference.set(in.node, Tensor{in.shape, batch.rows, std::move(rows)});
    }
    for (std::size_t i = 0; i < program_.params.size(); ++i) {
      const ProgramParam& p = program_.params[i];
      reference.set(p.node,
                    Tensor{p.shape, program_.minimize ? program_.starts : 0, params_[i].value});
    }
    reference.run();
    const Graph& g = program_.graph;
    for (NodeId id : reference.order()) {
      if (all_finite(reference.value(id))) continue;
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
  BatchEvaluator training_;
  BatchEvaluator evaluation_;
  std::vector<ParamState> params_;
  std::vector<std::vector<double>> gradient_buffers_;  // by parameter
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const Program& program) {
  return std::make_unique<CpuBackend>(program);
}

}  // namespace descent
