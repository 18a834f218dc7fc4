// A training backend over the emitted kernels (DESIGN §5), for any device that can hold buffers
// and run codegen/launch.hpp's kernels: the CUDA backend (cuda/backend) gives it a GPU, the tests
// give it the host executor (codegen/host_executor.hpp). Everything between the Backend
// interface and the kernels lives here, once: the packed parameter layout, the conversion to
// the run's precision, the data set and the constants uploaded once (and the parameters' bounds,
// when they have any), the epoch order uploaded once per epoch,
// three launches a step (phase 1, the rows with their last-block finish, the fused update) or,
// for a batched plan, phase 1, the segments with the matrix products between them, the finish
// and the update (codegen/launch.hpp), with the per-row buffer grown to the largest batch; the
// sticky divergence flag read back only when the trainer asks (report), validation on the device.
//
// Does not: compile kernels or talk to a driver (the StepDevice does), or decide when to step.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/backend.hpp"
#include "codegen/emit.hpp"
#include "codegen/launch.hpp"
#include "codegen/matrix_call.hpp"
#include "common/error.hpp"
#include "optim/optimizer.hpp"
#include "program/bounds.hpp"
#include "program/program.hpp"

namespace descent::codegen {

// Which of an EmittedProgram's two programs a launch runs.
enum class Which { step, evaluation };

// Memory and launches on one device, for kernels of precision Real. Copies and launches run in
// issue order; copy_to_host and synchronize wait for what was issued before them.
template <class Real>
class StepDevice {
 public:
  virtual ~StepDevice() = default;
  virtual std::string name() const = 0;
  virtual void* allocate(std::size_t bytes) = 0;  // zero-filled
  virtual void release(void* pointer) noexcept = 0;
  virtual void copy_to_device(void* device, const void* host, std::size_t bytes) = 0;
  virtual void copy_to_host(void* host, const void* device, std::size_t bytes) = 0;
  virtual void synchronize() = 0;
  virtual void first(Which which, const launch::StepBuffers<Real>& s, int threads) = 0;
  virtual void rows(Which which, const launch::StepBuffers<Real>& s, long long blocks,
                    int threads) = 0;
  virtual void update(const launch::StepBuffers<Real>& s, const UpdateCoefficients<Real>& c,
                      long long values) = 0;
  // A batched plan's kernels (codegen/launch.hpp): segment `index`, the finish, and the
  // matrix products between them.
  virtual void segment(Which which, int index, const launch::StepBuffers<Real>& s, long long blocks,
                       int threads) = 0;
  virtual void finish(Which which, const launch::StepBuffers<Real>& s, int threads) = 0;
  virtual void product(const MatrixProductCall<Real>& call) = 0;
};

// An array in a StepDevice's memory, released with it.
template <class T, class Real>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(StepDevice<Real>& device, std::size_t count)
      : device_(&device),
        data_(static_cast<T*>(device.allocate(std::max<std::size_t>(count, 1) * sizeof(T)))),
        count_(count) {}
  DeviceArray(DeviceArray&& other) noexcept { *this = std::move(other); }
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    std::swap(device_, other.device_);
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (device_ && data_) device_->release(data_);
  }
  T* get() const { return data_; }
  std::size_t size() const { return count_; }
  void upload(const std::vector<T>& values) {
    device_->copy_to_device(data_, values.data(), values.size() * sizeof(T));
  }
  void download(std::vector<T>& values) const {
    values.resize(count_);
    device_->copy_to_host(values.data(), data_, count_ * sizeof(T));
  }

 private:
  StepDevice<Real>* device_ = nullptr;
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

template <class Real>
class EmittedBackend final : public Backend {
 public:
  EmittedBackend(const Program& program, EmittedProgram emitted,
                 std::unique_ptr<StepDevice<Real>> device)
      : program_(program), emitted_(std::move(emitted)), device_(std::move(device)) {
    StepDevice<Real>& d = *device_;
    const auto widest = [&](auto member) {
      return std::max<std::int64_t>(emitted_.step.*member, emitted_.evaluation.*member);
    };
    params_ = DeviceArray<Real, Real>(d, emitted_.param_values);
    grads_ = DeviceArray<Real, Real>(d, emitted_.param_values);
    uniforms_ = DeviceArray<Real, Real>(d, widest(&EmittedKernels::uniform_values));
    lasts_ = DeviceArray<Real, Real>(d, widest(&EmittedKernels::last_values));
    totals_ = DeviceArray<Real, Real>(d, widest(&EmittedKernels::totals));
    partials_ = DeviceArray<Real, Real>(d, launch::kMaxRowBlocks * widest(&EmittedKernels::totals));
    step_scalars_ = DeviceArray<Real, Real>(d, launch::kScalarCount);
    eval_scalars_ = DeviceArray<Real, Real>(d, launch::kScalarCount);
    blocks_done_ = DeviceArray<unsigned int, Real>(d, 1);
    diverged_ = DeviceArray<long long, Real>(d, 1);
    upload_constants();
    upload_bounds();
  }

  std::string name() const override { return device_->name(); }
  std::string precision() const override { return sizeof(Real) == 4 ? "f32" : "f64"; }
  // A thread's rows one after the other, the butterfly over 32 lanes (5 levels), the warps of a
  // block, then the blocks (codegen/launch.hpp). A batched plan's outer totals are matrix
  // products over the rows, whose order of additions is the library's: a chain of `rows` at
  // worst.
  std::int64_t summation_depth(std::int64_t rows) const override {
    const int threads = emitted_.step.threads();
    const long long blocks = launch::row_blocks(rows, threads);
    const std::int64_t fused =
        (rows + blocks * threads - 1) / (blocks * threads) + 5 + emitted_.step.warps + blocks;
    return emitted_.step.batched ? std::max<std::int64_t>(fused, rows) : fused;
  }

  void attach(const DataSplits& data) override {
    upload_split(data.train, train_rows_, train_inputs_);
    upload_split(data.validation, validation_rows_, validation_inputs_);
  }

  void set_epoch_order(const std::vector<std::int64_t>& order) override {
    order_ = DeviceArray<long long, Real>(*device_, order.size());
    order_.upload(std::vector<long long>(order.begin(), order.end()));
  }

  void load(const std::vector<ParamState>& params) override {
    std::vector<Real> values, state0, state1;
    for (const ParamState& p : params) {
      append(values, p.value);
      append(state0, p.state0);
      append(state1, p.state1);
    }
    check_size(values.size(), "parameter values");
    params_.upload(values);
    state0_ = packed_state(state0);
    state1_ = packed_state(state1);
    diverged_.upload({0});
  }

  void store(std::vector<ParamState>& params) override {
    std::vector<Real> values, state0, state1;
    params_.download(values);
    if (state0_.get()) state0_.download(state0);
    if (state1_.get()) state1_.download(state1);
    params.resize(program_.params.size());
    for (std::size_t k = 0; k < params.size(); ++k) {
      const ParamLayout& l = emitted_.params[k];
      unpack(values, l, params[k].value);
      if (state0_.get()) unpack(state0, l, params[k].state0);
      if (state1_.get()) unpack(state1, l, params[k].state1);
    }
  }

  void step(const BatchRows& batch, const UpdateSettings& update) override {
    launch::StepBuffers<Real> s = buffers(batch, step_scalars_);
    s.step = update.step;
    s.clip_norm = static_cast<Real>(update.clip_norm);
    run(Which::step, emitted_.step, s);
    const UpdateCoefficients<Real> c =
        make_update_coefficients<Real>(update.optimizer, update.step, update.lr);
    device_->update(s, c, emitted_.param_values);
  }

  StepReport report() override {
    std::vector<Real> scalars;
    std::vector<long long> diverged;
    step_scalars_.download(scalars);
    diverged_.download(diverged);
    StepReport r;
    r.loss = static_cast<double>(scalars[launch::kReported]);
    r.grad_norm = static_cast<double>(scalars[launch::kGradNorm]);
    r.diverged_step = static_cast<long>(diverged[0]);
    return r;
  }

  double evaluate(const BatchRows& batch) override {
    launch::StepBuffers<Real> s = buffers(batch, eval_scalars_);
    run(Which::evaluation, emitted_.evaluation, s);
    std::vector<Real> scalars;
    eval_scalars_.download(scalars);
    return static_cast<double>(scalars[launch::kReported]);
  }

  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    launch::StepBuffers<Real> s = buffers(batch, step_scalars_);
    run(Which::step, emitted_.step, s);
    std::vector<Real> grads, scalars;
    grads_.download(grads);
    step_scalars_.download(scalars);
    gradients.resize(program_.params.size());
    for (std::size_t k = 0; k < gradients.size(); ++k)
      unpack(grads, emitted_.params[k], gradients[k]);
    return static_cast<double>(scalars[launch::kObjective]);
  }

 private:
  template <class From>
  static void append(std::vector<Real>& out, const std::vector<From>& values) {
    for (From v : values) out.push_back(static_cast<Real>(v));
  }

  static void unpack(const std::vector<Real>& packed, const ParamLayout& l,
                     std::vector<double>& out) {
    const auto begin = packed.begin() + l.offset;
    out.assign(begin, begin + l.size * l.copies);
  }

  void check_size(std::size_t got, const char* what) const {
    if (got != static_cast<std::size_t>(emitted_.param_values))
      throw Error(ExitCode::failure, std::string("internal: ") + what + ": " + std::to_string(got) +
                                         " values for a layout of " +
                                         std::to_string(emitted_.param_values));
  }

  // The tensor constants, packed (ConstantLayout), once: nothing ever writes them.
  void upload_constants() {
    if (emitted_.constant_values == 0) return;
    std::vector<Real> values;
    for (const ProgramConstant& c : program_.constants) append(values, c.values());
    constants_ = DeviceArray<Real, Real>(*device_, values.size());
    constants_.upload(values);
  }

  // Each parameter value's bounds, packed like the parameters, when some parameter has any: the
  // update projects into them (launch::update_value).
  void upload_bounds() {
    if (!has_bounds(program_)) return;
    std::vector<Real> lower, upper;
    for (std::size_t k = 0; k < program_.params.size(); ++k) {
      const ParamSpec& spec = *program_.params[k].spec;
      const ParamLayout& l = emitted_.params[k];
      for (std::int64_t c = 0; c < l.copies; ++c)
        for (std::int64_t i = 0; i < l.size; ++i) {
          lower.push_back(static_cast<Real>(spec.lower_bound(i)));
          upper.push_back(static_cast<Real>(spec.upper_bound(i)));
        }
    }
    check_size(lower.size(), "parameter bounds");
    lower_ = DeviceArray<Real, Real>(*device_, lower.size());
    upper_ = DeviceArray<Real, Real>(*device_, upper.size());
    lower_.upload(lower);
    upper_.upload(upper);
  }

  // Optimizer state: every parameter's or none.
  DeviceArray<Real, Real> packed_state(const std::vector<Real>& values) {
    if (values.empty()) return {};
    check_size(values.size(), "optimizer state");
    DeviceArray<Real, Real> array(*device_, values.size());
    array.upload(values);
    return array;
  }

  // A split's inputs in the run's precision, and the device array of their pointers.
  void upload_split(const SplitRows& split, std::vector<DeviceArray<Real, Real>>& rows,
                    DeviceArray<const Real*, Real>& pointers) {
    rows.clear();
    std::vector<const Real*> addresses;
    for (std::size_t k = 0; k < program_.inputs.size(); ++k) {
      const std::int64_t count = split.rows * program_.inputs[k].shape.size();
      std::vector<Real> values;
      values.reserve(static_cast<std::size_t>(count));
      for (std::int64_t i = 0; i < count; ++i)
        values.push_back(static_cast<Real>(split.inputs[k][i]));
      rows.emplace_back(*device_, values.size());
      rows.back().upload(values);
      addresses.push_back(rows.back().get());
    }
    pointers = DeviceArray<const Real*, Real>(*device_, addresses.size());
    pointers.upload(addresses);
  }

  launch::StepBuffers<Real> buffers(const BatchRows& batch, DeviceArray<Real, Real>& scalars) {
    if (batch.rows < 1) throw Error(ExitCode::failure, "internal: a batch of no rows");
    launch::StepBuffers<Real> s{};
    s.inputs =
        batch.split == BatchRows::Split::train ? train_inputs_.get() : validation_inputs_.get();
    s.order = batch.shuffled ? order_.get() : nullptr;
    s.first = batch.first;
    s.rows = batch.rows;
    s.params = params_.get();
    s.constants = constants_.get();
    s.lower = lower_.get();
    s.upper = upper_.get();
    s.values = emitted_.param_values;
    s.grads = grads_.get();
    s.state0 = state0_.get();
    s.state1 = state1_.get();
    s.uniforms = uniforms_.get();
    s.lasts = lasts_.get();
    s.partials = partials_.get();
    s.totals = totals_.get();
    s.rowbuf = nullptr;
    s.scalars = scalars.get();
    s.blocks_done = blocks_done_.get();
    s.diverged = diverged_.get();
    s.step = 0;
    s.clip_norm = Real(0);
    return s;
  }

  void run(Which which, const EmittedKernels& k, launch::StepBuffers<Real>& s) {
    if (!k.first.empty()) device_->first(which, s, k.threads());
    const long long blocks = launch::row_blocks(s.rows, k.threads());
    if (!k.batched) {
      device_->rows(which, s, blocks, k.threads());
      return;
    }
    // The per-row buffer, grown when a batch needs more than any before (allocated once for a
    // run's batch size).
    const auto needed = static_cast<std::size_t>(k.row_values * s.rows);
    if (rowbuf_.size() < needed) rowbuf_ = DeviceArray<Real, Real>(*device_, needed);
    s.rowbuf = rowbuf_.get();
    for (std::size_t i = 0; i < k.segments.size(); ++i) {
      device_->segment(which, static_cast<int>(i), s, blocks, k.threads());
      for (const ProductLaunch& p : k.products)
        if (p.after_segment == static_cast<int>(i)) device_->product(product_call(p, s));
    }
    device_->finish(which, s, k.threads());
  }

  // A ProductLaunch on this batch's buffers (see emit.hpp). The per-row buffer is
  // element-major: a slot's rows R (rows × size) lie there as Rᵀ (size × rows, row-major), so
  // every product is computed transposed: outᵀ = M·Rᵀ (M@v), outᵀ = Mᵀ·Rᵀ (v@M), and an outer
  // total Aᵀ·B = (Aᵀ)·(Bᵀ)ᵀ.
  static MatrixProductCall<Real> product_call(const ProductLaunch& p,
                                              const launch::StepBuffers<Real>& s) {
    const auto rows_of = [&s](std::int64_t slot) { return s.rowbuf + slot * s.rows; };
    MatrixProductCall<Real> c;
    if (p.kind == ProductLaunch::Kind::outer_total) {
      c.transpose_b = true;
      c.m = p.m;
      c.n = p.k;
      c.k = s.rows;
      c.a = rows_of(p.a_slot);
      c.lda = s.rows;
      c.b = rows_of(p.b_slot);
      c.ldb = s.rows;
      c.c = s.totals + p.out;
      c.ldc = p.k;
      return c;
    }
    const Real* matrix = p.source == ProductLaunch::Source::params     ? s.params
                         : p.source == ProductLaunch::Source::uniforms ? s.uniforms
                                                                       : s.constants;
    const bool left = p.kind == ProductLaunch::Kind::matrix_left;
    c.transpose_a = !left;  // M·Rᵀ, or Mᵀ·Rᵀ
    c.m = left ? p.m : p.k;
    c.n = s.rows;
    c.k = left ? p.k : p.m;
    c.a = matrix + p.matrix_offset;
    c.lda = p.k;
    c.b = rows_of(p.a_slot);
    c.ldb = s.rows;
    c.c = rows_of(p.out);
    c.ldc = s.rows;
    return c;
  }

  const Program& program_;
  const EmittedProgram emitted_;
  std::unique_ptr<StepDevice<Real>> device_;
  DeviceArray<Real, Real> params_, grads_, state0_, state1_, uniforms_, lasts_, totals_, partials_;
  DeviceArray<Real, Real> constants_, lower_, upper_;  // null when the program has none
  DeviceArray<Real, Real> rowbuf_;  // a batched plan's per-row values (codegen/launch.hpp)
  DeviceArray<Real, Real> step_scalars_, eval_scalars_;
  DeviceArray<unsigned int, Real> blocks_done_;
  DeviceArray<long long, Real> diverged_, order_;
  std::vector<DeviceArray<Real, Real>> train_rows_, validation_rows_;
  DeviceArray<const Real*, Real> train_inputs_, validation_inputs_;
};

}  // namespace descent::codegen
