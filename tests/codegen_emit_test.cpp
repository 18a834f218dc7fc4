// The CUDA emitter (host/codegen/emit.cpp), checked without a GPU (DESIGN §6):
//   1. the emitted f64 math of every example config, compiled as host C++ at build time
//      (tests/codegen/emit_host_programs.cpp), evaluated over the whole training split (or all
//      starts) the way the kernels will, gives the Interpreter's loss, objective and gradients
//      within the error model below;
//   2. every example config's emitted source compiles under NVRTC for sm_90, in f32 and f64
//      (skipped in a build without CUDA);
//   3. a graph the emitter cannot lower (a per-sample value that reads a batch total) is
//      refused with a message, not miscompiled.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "api/gpu_api.hpp"
#include "codegen/emit.hpp"
#include "codegen/emitted_host_programs.hpp"
#include "common/error.hpp"
#include "cpu/interpreter.hpp"
#include "graph/printer.hpp"
#include "test_support.hpp"
#include "train/experiment_setup.hpp"
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

TEST(EmittedHostMath, MatchesTheInterpreterOnEveryExampleConfig) {
  ASSERT_EQ(kEmittedHostProgramCount, 8) << "configs/*.toml changed: update this count";
  for (int c = 0; c < kEmittedHostProgramCount; ++c) {
    const EmittedHostProgram& emitted = kEmittedHostPrograms[c];
    SCOPED_TRACE(emitted.config);
    const Experiment e = set_up_experiment(config_path(emitted.config).string(), {});
    const Program& program = *e.program;
    const TrainState state = random_state(e);
    const std::int64_t rows = e.dataset ? e.dataset->train_rows : program.starts;
    const double batch_size = static_cast<double>(rows);

    // The Interpreter over the whole batch.
    std::vector<NodeId> outputs = program.step_outputs();
    outputs.push_back(program.objective);
    Interpreter reference(program.graph, outputs);
    std::vector<const double*> inputs;
    for (const ProgramInput& in : program.inputs) {
      const DatasetInput* d = nullptr;
      for (const DatasetInput& candidate : e.dataset->inputs)
        if (candidate.name == in.name) d = &candidate;
      ASSERT_NE(d, nullptr) << in.name;
      inputs.push_back(d->train.data());
      if (in.node != kNoNode)
        reference.set(
            in.node,
            Tensor{in.shape, rows,
                   std::vector<double>(d->train.data(), d->train.data() + rows * in.shape.size())});
    }
    std::vector<const double*> params;
    for (std::size_t i = 0; i < program.params.size(); ++i) {
      params.push_back(state.params[i].value.data());
      reference.set(
          program.params[i].node,
          Tensor{program.params[i].shape, program.minimize ? rows : 0, state.params[i].value});
    }
    reference.run();

    // The emitted functions, driven as the kernels drive them: phase 1, every sample, the
    // totals finished, phase 3.
    std::vector<double> U(static_cast<std::size_t>(std::max(emitted.uniforms, 1LL)));
    std::vector<double> acc(static_cast<std::size_t>(std::max(emitted.totals, 1LL)), 0.0);
    std::vector<std::vector<double>> out(outputs.size());
    std::vector<double*> out_ptrs;
    for (std::size_t j = 0; j < outputs.size(); ++j) {
      const Node& n = program.graph[outputs[j]];
      out[j].assign(static_cast<std::size_t>(n.shape.size() * (n.varying ? rows : 1)), 0.0);
      out_ptrs.push_back(out[j].data());
    }
    emitted.uniform_first(params.data(), batch_size, U.data());
    for (std::int64_t r = 0; r < rows; ++r)
      emitted.sample(r, inputs.data(), nullptr, params.data(), U.data(), batch_size, acc.data(),
                     out_ptrs.data());
    std::vector<double> T(acc.size());
    for (std::size_t k = 0; k < acc.size(); ++k)
      T[k] = emitted.finish_total(static_cast<long long>(k), acc[k], batch_size);
    emitted.uniform_last(params.data(), U.data(), T.data(), batch_size, out_ptrs.data());

    // Error model. Both sides evaluate the same formulas in f64; they differ in the order of
    // additions inside one sample (dot, matmul, sum: sequential here, eight lanes in the CPU
    // kernels) and in exp/log/log1p/tanh (std:: here, cpu/vector_math.hpp there; each within
    // 4 ulp). A per-sample value therefore differs by at most a few tens of ulps of the
    // magnitudes that formed it, and a batch total of n such values, added in the same order,
    // by at most about 64*eps*Σ_r|c_r|. The outputs combine totals and parameters with
    // coefficients of order one (2*batch_mean(...), penalties), so each element may be off by
    // 256*eps*(scale + |value|), scale being the largest Σ_r|c_r| of any total (and of any
    // per-sample output, for minimize mode).
    double scale = 0.0;
    for (NodeId id : reference.order()) {
      const Node& n = program.graph[id];
      if ((n.op != Op::batch_sum && n.op != Op::batch_mean) || !program.graph[n[0]].varying)
        continue;
      const Tensor& per_sample = reference.value(n[0]);
      const std::int64_t size = per_sample.shape.size();
      for (std::int64_t i = 0; i < size; ++i) {
        double s = 0.0;
        for (std::int64_t r = 0; r < per_sample.samples(); ++r)
          s += std::fabs(per_sample.sample(r)[i]);
        scale = std::max(scale, n.op == Op::batch_mean ? s / static_cast<double>(rows) : s);
      }
    }
    for (std::size_t j = 0; j < outputs.size(); ++j)
      if (program.graph[outputs[j]].varying)
        for (double v : reference.value(outputs[j]).data) scale = std::max(scale, std::fabs(v));
    for (std::size_t j = 0; j < outputs.size(); ++j) {
      const std::vector<double>& want = reference.value(outputs[j]).data;
      ASSERT_EQ(out[j].size() % want.size(), 0u) << "output " << j;
      for (std::size_t i = 0; i < out[j].size(); ++i) {
        const double w = want[want.size() == 1 ? 0 : i];
        EXPECT_NEAR(out[j][i], w, 256 * kEps * (scale + std::fabs(w)))
            << "output " << j << " (" << print_expression(program.graph, outputs[j]) << ") element "
            << i;
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
