// The CUDA emitter (host/codegen/emit.cpp), checked without a GPU (DESIGN §6):
//   1. the emitted f64 math of every example config, compiled as host C++ at build time
//      (tests/codegen/emit_host_programs.cpp), evaluated over the whole training split (or all
//      starts) the way the kernels will, gives the Interpreter's loss, objective and gradients
//      within the error model below;
//   2. every example config's emitted source compiles under NVRTC for sm_90, in f32 and f64
//      (skipped in a build without CUDA);
//   3. on a machine with a GPU, the emitted kernels themselves, launched once over all rows,
//      give the Interpreter's values (skipped elsewhere);
//   4. a graph the emitter cannot lower (a per-sample value that reads a batch total) is
//      refused with a message, not miscompiled;
//   5. `descent emit CONFIG` prints the source in f32 (default) or f64.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/experiment_setup.hpp"
#include "codegen/emit.hpp"
#include "codegen/emitted_host_programs.hpp"
#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "cuda/api/gpu_api.hpp"
#include "graph/printer.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

constexpr double kEps = 2.220446049250313e-16;

// Parameters at seeded random values (every start its own in minimize mode).
TrainState random_state(const Experiment& e) {
  TrainState state = initial_state(e.config, *e.program);
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal(0.0, 0.5);
  for (ParamState& p : state.params)
    for (double& v : p.value) v = normal(rng);
  return state;
}

// The Interpreter's outputs for a step over the whole training split (or all starts), with
// what the emitted code needs to evaluate the same step, and the scale of the error model.
struct Reference {
  Experiment e;
  TrainState state;
  std::int64_t rows = 0;
  std::vector<NodeId> outputs;                // step outputs, then the objective
  std::vector<std::vector<double>> expected;  // by output
  std::vector<const double*> inputs, params;  // in Program order
  double scale = 0.0;                         // see the error model below
};

Reference reference_for(const std::string& config) {
  Reference ref;
  ref.e = set_up_experiment(config_path(config).string(), {});
  const Program& program = *ref.e.program;
  ref.state = random_state(ref.e);
  ref.rows = ref.e.dataset ? ref.e.dataset->train_rows : program.starts;
  ref.outputs = program.step_outputs();
  ref.outputs.push_back(program.objective);
  Interpreter interpreter(program.graph, ref.outputs);
  for (const ProgramInput& in : program.inputs) {
    const DatasetInput* d = nullptr;
    for (const DatasetInput& candidate : ref.e.dataset->inputs)
      if (candidate.name == in.name) d = &candidate;
    if (d == nullptr) throw std::runtime_error("no data for input " + in.name);
    ref.inputs.push_back(d->train.data());
    if (in.node != kNoNode)
      interpreter.set(in.node,
                      Tensor{in.shape, ref.rows,
                             std::vector<double>(d->train.data(),
                                                 d->train.data() + ref.rows * in.shape.size())});
  }
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    ref.params.push_back(ref.state.params[i].value.data());
    interpreter.set(program.params[i].node,
                    Tensor{program.params[i].shape, program.minimize ? ref.rows : 0,
                           ref.state.params[i].value});
  }
  interpreter.run();
  for (NodeId id : ref.outputs) ref.expected.push_back(interpreter.value(id).data);
  // The largest Σ_r|c_r| of any batch total (divided by the rows for a mean), and the largest
  // per-sample output (minimize mode).
  for (NodeId id : interpreter.order()) {
    const Node& n = program.graph[id];
    if ((n.op != Op::batch_sum && n.op != Op::batch_mean) || !program.graph[n[0]].varying) continue;
    const Tensor& per_sample = interpreter.value(n[0]);
    for (std::int64_t i = 0; i < per_sample.shape.size(); ++i) {
      double s = 0.0;
      for (std::int64_t r = 0; r < per_sample.samples(); ++r)
        s += std::fabs(per_sample.sample(r)[i]);
      ref.scale =
          std::max(ref.scale, n.op == Op::batch_mean ? s / static_cast<double>(ref.rows) : s);
    }
  }
  for (std::size_t j = 0; j < ref.outputs.size(); ++j)
    if (program.graph[ref.outputs[j]].varying)
      for (double v : ref.expected[j]) ref.scale = std::max(ref.scale, std::fabs(v));
  return ref;
}

// Every output within `ulps`*eps*(scale + |value|) of the Interpreter's.
void expect_outputs_near(const Reference& ref, const std::vector<std::vector<double>>& got,
                         double ulps) {
  ASSERT_EQ(got.size(), ref.outputs.size());
  for (std::size_t j = 0; j < got.size(); ++j) {
    const std::vector<double>& want = ref.expected[j];
    ASSERT_EQ(got[j].size() % want.size(), 0u) << "output " << j;
    for (std::size_t i = 0; i < got[j].size(); ++i) {
      const double w = want[want.size() == 1 ? 0 : i];
      EXPECT_NEAR(got[j][i], w, ulps * kEps * (ref.scale + std::fabs(w)))
          << "output " << j << " (" << print_expression(ref.e.program->graph, ref.outputs[j])
          << ") element " << i;
    }
  }
}

TEST(EmittedHostMath, MatchesTheInterpreterOnEveryExampleConfig) {
  ASSERT_EQ(kEmittedHostProgramCount, 8) << "configs/*.toml changed: update this count";
  for (int c = 0; c < kEmittedHostProgramCount; ++c) {
    const EmittedHostProgram& emitted = kEmittedHostPrograms[c];
    SCOPED_TRACE(emitted.config);
    const Reference ref = reference_for(emitted.config);
    const double batch_size = static_cast<double>(ref.rows);

    // The emitted functions, driven as the kernels drive them: phase 1, every sample, the
    // totals finished, phase 3.
    std::vector<double> U(static_cast<std::size_t>(std::max(emitted.uniforms, 1LL)));
    std::vector<double> acc(static_cast<std::size_t>(std::max(emitted.totals, 1LL)), 0.0);
    std::vector<std::vector<double>> out(ref.outputs.size());
    std::vector<double*> out_ptrs;
    for (std::size_t j = 0; j < ref.outputs.size(); ++j) {
      const Node& n = ref.e.program->graph[ref.outputs[j]];
      out[j].assign(static_cast<std::size_t>(n.shape.size() * (n.varying ? ref.rows : 1)), 0.0);
      out_ptrs.push_back(out[j].data());
    }
    emitted.uniform_first(ref.params.data(), batch_size, U.data());
    for (std::int64_t r = 0; r < ref.rows; ++r)
      emitted.sample(r, ref.inputs.data(), nullptr, ref.params.data(), U.data(), batch_size,
                     acc.data(), out_ptrs.data());
    std::vector<double> T(acc.size());
    for (std::size_t k = 0; k < acc.size(); ++k)
      T[k] = emitted.finish_total(static_cast<long long>(k), acc[k], batch_size);
    emitted.uniform_last(ref.params.data(), U.data(), T.data(), batch_size, out_ptrs.data());

    // Error model. Both sides evaluate the same formulas in f64; they differ in the order of
    // additions inside one sample (dot, matmul, sum: sequential here, eight lanes in the CPU
    // kernels) and in exp/log/log1p/tanh (std:: here, cpu/vector_math.hpp there; each within
    // 4 ulp). A per-sample value therefore differs by at most a few tens of ulps of the
    // magnitudes that formed it, and a batch total of n such values, added in the same order,
    // by at most about 64*eps*Σ_r|c_r|. The outputs combine totals and parameters with
    // coefficients of order one (2*batch_mean(...), penalties), so each element may be off by
    // 256*eps*(scale + |value|), scale being the largest Σ_r|c_r| of any total (and of any
    // per-sample output, for minimize mode).
    expect_outputs_near(ref, out, 256);
  }
}

// The emitted kernels on the device, in f64 against the Interpreter, and in f32 (finite
// values of the right count). Skipped where no device answers: scripts/gpu_check.sh runs it on
// the GPU machine.
TEST(EmittedKernels, MatchTheInterpreterOnTheDevice) {
  const gpu::DeviceProbe probe = gpu::probe_devices();
  if (!probe.available) GTEST_SKIP() << probe.reason;
  for (const fs::directory_entry& entry : fs::directory_iterator(kSourceDir / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    const std::string config = entry.path().filename().string();
    SCOPED_TRACE(config);
    const Reference ref = reference_for(config);
    const Program& program = *ref.e.program;
    for (codegen::Precision precision : {codegen::Precision::f64, codegen::Precision::f32}) {
      const std::string name = "device_" + entry.path().stem().string();
      const codegen::EmittedProgram emitted =
          codegen::emit_program(program.graph, emit_request(program, name, precision));
      gpu::EmittedRun run;
      run.source = emitted.source();
      run.name = name;
      run.f32 = precision == codegen::Precision::f32;
      run.flags = {"-I" + (kSourceDir / "host").string()};
      run.uniforms = emitted.uniform_values;
      run.totals = emitted.total_values;
      run.rows = ref.rows;
      for (std::size_t k = 0; k < program.inputs.size(); ++k)
        run.inputs.emplace_back(ref.inputs[k],
                                ref.inputs[k] + ref.rows * program.inputs[k].shape.size());
      for (const ParamState& p : ref.state.params) run.params.push_back(p.value);
      run.output_sizes.assign(emitted.output_sizes.begin(), emitted.output_sizes.end());
      run.output_per_sample = emitted.output_per_sample;
      const std::vector<std::vector<double>> got = gpu::run_emitted_program(run);
      if (precision == codegen::Precision::f64) {
        // The host error model, plus the device's order of the batch additions (a tree per
        // block, then the blocks in order): a sum of n terms in another order differs by at
        // most 2*n*eps*Σ|terms| (both orders' errors), n the rows.
        expect_outputs_near(ref, got, 256 + 2 * static_cast<double>(ref.rows));
      } else {
        for (std::size_t j = 0; j < got.size(); ++j)
          for (double v : got[j]) EXPECT_TRUE(std::isfinite(v)) << "f32 output " << j;
      }
    }
  }
}

TEST(EmittedSource, CompilesUnderNvrtcForEveryExampleConfig) {
  if (!gpu::built_with_cuda()) GTEST_SKIP() << "this descent was built without CUDA";
  for (const fs::directory_entry& entry : fs::directory_iterator(kSourceDir / "configs")) {
    if (entry.path().extension() != ".toml") continue;
    SCOPED_TRACE(entry.path().filename().string());
    const Experiment e = set_up_experiment(entry.path().string(), {});
    for (codegen::Precision precision : {codegen::Precision::f32, codegen::Precision::f64}) {
      const std::string name = "step_" + entry.path().stem().string();
      const codegen::EmittedProgram emitted =
          codegen::emit_program(e.program->graph, emit_request(*e.program, name, precision));
      gpu::CompileOptions options;
      options.flags = {"-I" + (kSourceDir / "host").string()};
      const gpu::CompiledKernel k = gpu::compile_cuda(emitted.source(), name + ".cu", options);
      EXPECT_EQ(k.cubin.rfind("\x7f"
                              "ELF",
                              0),
                0u);
    }
  }
}

TEST(EmitCommand, PrintsTheEmittedSourceInEitherPrecision) {
  TempDir dir("descent_emit_command");
  const CliResult f32 = run_descent({"emit", config_path("logistic.toml").string()}, dir.path());
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  EXPECT_NE(f32.out.find("typedef float Real;"), std::string::npos);
  EXPECT_NE(f32.out.find("step_sample_kernel("), std::string::npos);
  const CliResult f64 = run_descent(
      {"emit", config_path("logistic.toml").string(), "--precision", "f64"}, dir.path());
  ASSERT_EQ(f64.exit_code, 0) << f64.err;
  EXPECT_NE(f64.out.find("typedef double Real;"), std::string::npos);
  const CliResult bad = run_descent(
      {"emit", config_path("logistic.toml").string(), "--precision", "f16"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("f16"), std::string::npos) << bad.err;
}

TEST(Emitter, RefusesAPerSampleValueThatReadsABatchTotal) {
  Graph g;
  const NodeId x = g.variable("x", VarKind::input);
  const NodeId w = g.variable("w", VarKind::param);
  const NodeId centered = g.sub(x, g.apply(Op::batch_mean, g.mul(w, x)));
  const NodeId loss = g.apply(Op::batch_mean, g.mul(centered, centered));
  codegen::EmitRequest request;
  request.name = "refused";
  request.inputs = {x};
  request.params = {w};
  request.outputs = {loss};
  try {
    codegen::emit_program(g, request);
    FAIL() << "emitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_NE(e.message().find("reads a batch total"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace descent::test
