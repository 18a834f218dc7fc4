// The CUDA emitter (host/codegen/emit.cpp) and its kernels' resource budget, without a GPU
// (DESIGN §6). The emitted programs' arithmetic is checked by codegen_host_executor_test.cpp;
// here:
//   1. the same config emits byte-identical source twice;
//   2. every example config's emitted source compiles under NVRTC for sm_90 in f32 and f64,
//      from the embedded headers alone (no source tree on the include path), within the
//      resource budget (codegen/resources.hpp): no stack frame, no spills, registers under the
//      cap (skipped in a build without CUDA), with the config's own plan and with the batched
//      plan; under the fused plan the configs of tests/gpu_refused_configs.txt, whose per-sample
//      kernels are over it, must be refused exactly, naming their widest parameter;
//   3. ptxas' report is read as it is written, and a kernel over the budget is refused with a
//      message naming the widest parameter;
//   4. a program too wide for a block's shared memory is refused at emission, naming the
//      parameter, with its place in the config;
//   5. a plan whose phases do not apply (a per-sample value that reads a batch total) is refused;
//   6. `descent emit CONFIG` prints the source in f32 (default) or f64.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli/experiment_setup.hpp"
#include "codegen/emit.hpp"
#include "codegen/kernel_headers.hpp"
#include "codegen/resources.hpp"
#include "common/error.hpp"
#include "cuda/api/gpu_api.hpp"
#include "data/npy.hpp"
#include "gpu_refused.hpp"
#include "test_support.hpp"

namespace descent::test {
namespace {

codegen::EmittedProgram emit(const Experiment& e, codegen::Precision precision) {
  codegen::EmitOptions options;
  options.name = codegen::c_identifier(e.config.name);
  options.precision = precision;
  return codegen::emit_program(*e.program, e.plan, options);
}

TEST(EmittedSource, IsTheSameTwice) {
  for (const fs::path& config : program_configs()) {
    const Experiment a = set_up_experiment(config.string(), {});
    const Experiment b = set_up_experiment(config.string(), {});
    for (codegen::Precision p : {codegen::Precision::f32, codegen::Precision::f64})
      EXPECT_EQ(emit(a, p).source(), emit(b, p).source()) << config;
  }
}

// NVRTC's report of `e`'s kernels in `precision`, compiled as the CUDA backend compiles them.
std::vector<codegen::KernelResources> compile_report(const Experiment& e, const fs::path& config,
                                                     codegen::Precision precision,
                                                     const codegen::EmittedProgram& emitted) {
  gpu::CompileOptions options;
  options.flags = {"--fmad=false"};
  for (const codegen::KernelHeader& h : codegen::kernel_headers())
    options.headers.push_back({h.name, h.text});
  const gpu::CompiledKernel k =
      gpu::compile_cuda(emitted.source(), config.stem().string() + ".cu", options);
  EXPECT_EQ(k.cubin.rfind("\x7f"
                          "ELF",
                          0),
            0u);
  const std::vector<codegen::KernelResources> report = codegen::parse_ptxas_report(k.log);
  for (const codegen::KernelResources& r : report)
    std::printf("%s %s %s: %s %d registers, %ld-byte stack, %ld bytes smem\n",
                config.filename().string().c_str(), describe_plan(e.plan.step).c_str(),
                precision == codegen::Precision::f32 ? "f32" : "f64", r.kernel.c_str(), r.registers,
                r.stack_bytes, r.shared_bytes);
  return report;
}

// Every config's kernels with its own plan and with the batched plan are within the budget;
// under the fused plan, the configs of tests/gpu_refused_configs.txt are over it (one thread a
// sample keeps every weight-gradient total of a real matrix) and get exactly their refusal.
TEST(EmittedSource, CompilesUnderNvrtcWithinTheBudgetForEveryExampleConfig) {
  if (!gpu::built_with_cuda()) GTEST_SKIP() << "this descent was built without CUDA";
  const std::map<std::string, GpuRefusal> refused = gpu_refused_configs();
  for (const fs::path& config : program_configs()) {
    const auto refusal = refused.find(config.filename().string());
    const std::vector<std::vector<std::string>> plans = {{}, {"train.plan=batched"}};
    for (const std::vector<std::string>& settings : plans) {
      const Experiment e = set_up_experiment(config.string(), settings);
      for (codegen::Precision precision : {codegen::Precision::f32, codegen::Precision::f64}) {
        SCOPED_TRACE(config.filename().string() + " " + describe_plan(e.plan.step) +
                     (precision == codegen::Precision::f32 ? " f32" : " f64"));
        const codegen::EmittedProgram emitted = emit(e, precision);
        const auto report = compile_report(e, config, precision, emitted);
        EXPECT_NO_THROW(codegen::check_resource_budget(report, {}, *e.program, emitted));
      }
    }
    if (refusal == refused.end()) continue;
    const Experiment fused = set_up_experiment(config.string(), {"train.plan=fused"});
    for (codegen::Precision precision : {codegen::Precision::f32, codegen::Precision::f64}) {
      SCOPED_TRACE(config.filename().string() + " fused" +
                   (precision == codegen::Precision::f32 ? " f32" : " f64"));
      const codegen::EmittedProgram emitted = emit(fused, precision);
      try {
        codegen::check_resource_budget(compile_report(fused, config, precision, emitted), {},
                                       *fused.program, emitted);
        ADD_FAILURE() << "within the budget: take it off tests/gpu_refused_configs.txt";
      } catch (const Error& error) {
        expect_gpu_refusal(error, config, refusal->second);
      }
    }
  }
  EXPECT_TRUE(std::all_of(refused.begin(), refused.end(), [](const auto& r) {
    return fs::exists(config_path(r.first));
  })) << "tests/gpu_refused_configs.txt names a config that does not exist";
}

// A report as ptxas writes it (NVRTC's log with --ptxas-options=--verbose).
const char* kReport = R"(ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'wide_step_rows' for 'sm_90'
ptxas info    : Function properties for wide_step_rows
ptxas         .     40 bytes stack frame, 8 bytes spill stores, 12 bytes spill loads
ptxas info    : Used 255 registers, used 1 barriers, 6400 bytes smem, 400 bytes cmem[0]
ptxas info    : Compiling entry function 'wide_step_first' for 'sm_90'
ptxas info    : Function properties for wide_step_first
ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 16 registers, used 1 barriers, 392 bytes cmem[0]
)";

TEST(ResourceBudget, ReadsPtxasReport) {
  const std::vector<codegen::KernelResources> r = codegen::parse_ptxas_report(kReport);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].kernel, "wide_step_rows");
  EXPECT_EQ(r[0].registers, 255);
  EXPECT_EQ(r[0].stack_bytes, 40);
  EXPECT_EQ(r[0].spill_store_bytes, 8);
  EXPECT_EQ(r[0].spill_load_bytes, 12);
  EXPECT_EQ(r[0].shared_bytes, 6400);
  EXPECT_EQ(r[1].kernel, "wide_step_first");
  EXPECT_EQ(r[1].registers, 16);
  EXPECT_EQ(r[1].stack_bytes, 0);
}

TEST(ResourceBudget, RefusesAKernelOverItNamingTheWidestParameter) {
  const Experiment e = set_up_experiment(config_path("mlp.toml").string(), {});
  codegen::EmittedProgram emitted = emit(e, codegen::Precision::f32);
  std::vector<codegen::KernelResources> report;
  for (const codegen::EmittedKernels* k : {&emitted.step, &emitted.evaluation})
    for (const std::string* name : {&k->first, &k->rows, &k->update})
      if (!name->empty()) report.push_back({*name, 32, 0, 0, 0, 0});
  EXPECT_NO_THROW(codegen::check_resource_budget(report, {}, *e.program, emitted));
  report[1].stack_bytes = 272;  // the step's rows kernel
  try {
    codegen::check_resource_budget(report, {}, *e.program, emitted);
    FAIL() << "accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::bad_input);
    EXPECT_NE(error.message().find("272-byte stack frame"), std::string::npos) << error.message();
    EXPECT_NE(error.message().find("'W1' (shape (8, 2))"), std::string::npos) << error.message();
  }
}

TEST(Emitter, RefusesAProgramTooWideForSharedMemoryNamingTheParameter) {
  TempDir dir("descent_too_wide");
  const fs::path config = dir.path() / "wide.toml";
  // A linear model over 8000 inputs: its weight gradient alone sums 8000 values a row, more
  // than a block's 48 KiB of shared memory holds in f64 even with one warp (6112).
  std::ofstream(config) << "[data]\nnpy = { x = \"x.npy\", y = \"y.npy\" }\n"
                        << "[params]\nw = { shape = [8000] }\n"
                        << "[cost]\nloss = \"(dot(w, x) - y)^2\"\n";
  write_npy((dir.path() / "x.npy").string(), {4, 8000}, std::vector<double>(32000, 0.5));
  write_npy((dir.path() / "y.npy").string(), {4}, std::vector<double>(4, 1.0));
  const Experiment e = set_up_experiment(config.string(), {});
  try {
    emit(e, codegen::Precision::f64);
    FAIL() << "emitted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::bad_input);
    EXPECT_NE(error.message().find("the parameter 'w' (shape (8000)) is too wide"),
              std::string::npos)
        << error.message();
    EXPECT_NE(error.render().find("wide.toml:4:5:"), std::string::npos) << error.render();
  }
  EXPECT_NO_THROW(emit(e, codegen::Precision::f32)) << "8000 floats fit one warp's 48 KiB";
}

TEST(Emitter, RefusesAPerSampleValueThatReadsABatchTotal) {
  Program program;
  Graph& g = program.graph;
  const NodeId x = g.variable("x", VarKind::input);
  const NodeId w = g.variable("w", VarKind::param);
  const NodeId centered = g.sub(x, g.apply(Op::batch_mean, g.mul(w, x)));
  program.loss = g.mul(centered, centered);
  program.objective = program.reported = g.apply(Op::batch_mean, program.loss);
  program.inputs = {{"x", Shape::scalar(), x}};
  ParamSpec spec;
  spec.name = "w";
  program.params = {{"w", Shape::scalar(), w, g.constant(0.0), &spec}};
  const ProgramPlan plan = plan_program(program);
  try {
    codegen::emit_program(program, plan, {});
    FAIL() << "emitted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_NE(e.message().find("reads a batch total"), std::string::npos) << e.message();
  }
}

TEST(EmitCommand, PrintsTheEmittedSourceInEitherPrecision) {
  TempDir dir("descent_emit_command");
  const CliResult f32 = run_descent({"emit", config_path("logistic.toml").string()}, dir.path());
  ASSERT_EQ(f32.exit_code, 0) << f32.err;
  EXPECT_NE(f32.out.find("typedef float Real;"), std::string::npos);
  EXPECT_NE(f32.out.find("logistic_step_rows("), std::string::npos);
  EXPECT_NE(f32.out.find("logistic_eval_rows("), std::string::npos);
  const CliResult f64 = run_descent(
      {"emit", config_path("logistic.toml").string(), "--precision", "f64"}, dir.path());
  ASSERT_EQ(f64.exit_code, 0) << f64.err;
  EXPECT_NE(f64.out.find("typedef double Real;"), std::string::npos);
  const CliResult bad = run_descent(
      {"emit", config_path("logistic.toml").string(), "--precision", "f16"}, dir.path());
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("f16"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace descent::test
