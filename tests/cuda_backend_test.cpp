// The CUDA backend (cuda/backend, through cuda/api/gpu_api.hpp) on the device, against the CPU
// reference backend (host/cpu with CpuMath::reference: the Interpreter's f64 values bit for
// bit). For every example config (configs/*.toml) and test config (tests/configs/*.toml: constants
// and bounds), in f32 and in f64:
//   - the objective and every gradient over the whole training split (minimize: every start);
//   - five training steps (step, report, store) on the config's batches (mini-batches through a
//     shuffled epoch order where the config has them): reported loss, gradient norm, every
//     parameter and optimizer state value;
//   - the loss of an evaluation (the validation split where there is one);
//   - two GPU runs of the same steps give the same bits.
// A config whose own plan is fused but has products a batched plan batches runs with both
// plans. The configs of tests/gpu_refused_configs.txt must be refused under the fused plan,
// naming their widest parameter. And a divergence (a loss that turns NaN) is reported at
// its step and leaves the parameters as they were. Every test's name begins with "Gpu"; each skips
// with the probe's reason where no device answers (scripts/gpu_check.sh fails when one skips on a
// machine that has a GPU). How the GPU is compared with the CPU, and the error model:
// backend_comparison.hpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/data_splits.hpp"
#include "backend_comparison.hpp"
#include "cli/experiment_setup.hpp"
#include "codegen/kernel_headers.hpp"
#include "codegen/launch.hpp"
#include "common/error.hpp"
#include "cpu/cpu_backend.hpp"
#include "cuda/api/gpu_api.hpp"
#include "gpu_refused.hpp"
#include "test_support.hpp"
#include "train/trainer.hpp"

namespace descent::test {
namespace {

#define SKIP_WITHOUT_GPU()                                                     \
  do {                                                                         \
    const gpu::DeviceProbe probe = gpu::probe_devices();                       \
    if (!probe.available) GTEST_SKIP() << "no GPU answered: " << probe.reason; \
  } while (0)

constexpr long kSteps = 5;

gpu::CudaBackendOptions backend_options(const Experiment& e, bool f32) {
  gpu::CudaBackendOptions options;
  options.f32 = f32;
  options.name = e.config.name;
  options.cache_dir = (fs::temp_directory_path() / "descent-gpu-test-kernels").string();
  return options;
}

std::unique_ptr<Backend> cuda_backend(const Experiment& e, bool f32) {
  return gpu::make_cuda_backend(*e.program, e.plan, backend_options(e, f32));
}

struct Case {
  std::string config;  // a path under configs/ or tests/configs/
  bool f32 = true;
  bool batched = false;  // with train.plan = batched, else the config's own plan
  std::vector<std::string> settings() const {
    if (batched) return {"train.plan=batched"};
    return {};
  }
};

// How gtest (and so ctest's test names) print a case.
void PrintTo(const Case& c, std::ostream* out) {
  *out << fs::path(c.config).stem().string() << (c.batched ? " batched" : "")
       << (c.f32 ? " f32" : " f64");
}

// The example configs and the test configs (tests/configs/: constants and bounds), in f32 and
// f64, each with its own plan, and with the batched plan too where that one batches products
// that the config's own plan runs per sample.
std::vector<Case> example_cases() {
  std::vector<Case> cases;
  for (const fs::path& config : program_configs()) {
    const bool own = set_up_experiment(config.string(), {}).plan.step.batched();
    const bool batched =
        set_up_experiment(config.string(), {"train.plan=batched"}).plan.step.batched();
    for (bool f32 : {true, false}) {
      cases.push_back({config.string(), f32, false});
      if (batched && !own) cases.push_back({config.string(), f32, true});
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return fs::path(info.param.config).stem().string() + (info.param.batched ? "_batched" : "") +
         (info.param.f32 ? "_f32" : "_f64");
}

class GpuCudaBackend : public ::testing::TestWithParam<Case> {};

TEST_P(GpuCudaBackend, MatchesTheCpuReference) {
  SKIP_WITHOUT_GPU();
  const ExampleRun s(GetParam().config, GetParam().settings());
  const std::unique_ptr<Backend> gpu = cuda_backend(s.e, GetParam().f32);
  const std::unique_ptr<Backend> cpu =
      make_cpu_backend(*s.e.program, s.e.plan, {.math = CpuMath::reference});
  EXPECT_EQ(gpu->precision(), GetParam().f32 ? "f32" : "f64");
  EXPECT_EQ(gpu->name().rfind(std::string("cuda (") + gpu->precision() + ", ", 0), 0u)
      << gpu->name();
  s.prepare(*gpu);
  s.prepare(*cpu);
  std::vector<ParamState> state;
  gpu->load(s.initial);
  gpu->store(state);  // the initial state in the run's precision
  Comparison c;
  cpu->load(state);
  compare_gradients(*gpu, *cpu, s, s.whole(), budget(GetParam().f32, s.rows, s.inner, s.batched),
                    c);
  for (long step = 1; step <= kSteps; ++step) compare_step(*gpu, *cpu, s, step, state, c);

  const bool validation = s.e.dataset && s.e.dataset->validation_rows > 0;
  const BatchRows evaluated =
      validation ? BatchRows{BatchRows::Split::validation, 0, s.e.dataset->validation_rows, false}
                 : s.whole();
  cpu->load(state);
  const Gradients none;
  const Scales scale = scales_of(*cpu, s, evaluated, none, 0.0, cpu->evaluate(evaluated));
  c.expect_near(gpu->evaluate(evaluated), cpu->evaluate(evaluated),
                budget(GetParam().f32, evaluated.rows, s.inner, s.batched) * scale.reported,
                "evaluation");
}

TEST_P(GpuCudaBackend, TwoRunsGiveTheSameBits) {
  SKIP_WITHOUT_GPU();
  const ExampleRun s(GetParam().config, GetParam().settings());
  std::vector<std::vector<ParamState>> states;
  std::vector<std::vector<double>> reports;
  for (int run = 0; run < 2; ++run) {
    const std::unique_ptr<Backend> gpu = cuda_backend(s.e, GetParam().f32);
    s.prepare(*gpu);
    gpu->load(s.initial);
    reports.emplace_back();
    for (long step = 1; step <= kSteps; ++step) {
      gpu->step(s.step_batch(step), s.update(step));
      const StepReport r = gpu->report();
      reports.back().insert(reports.back().end(), {r.loss, r.grad_norm});
    }
    states.emplace_back();
    gpu->store(states.back());
  }
  const auto same_bits = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
  };
  EXPECT_TRUE(same_bits(reports[0], reports[1])) << "losses or gradient norms";
  for (std::size_t k = 0; k < states[0].size(); ++k) {
    const std::string& name = s.e.program->params[k].name;
    EXPECT_TRUE(same_bits(states[0][k].value, states[1][k].value)) << name;
    EXPECT_TRUE(same_bits(states[0][k].state0, states[1][k].state0)) << name << " state0";
    EXPECT_TRUE(same_bits(states[0][k].state1, states[1][k].state1)) << name << " state1";
  }
}

INSTANTIATE_TEST_SUITE_P(GpuExamples, GpuCudaBackend, ::testing::ValuesIn(example_cases()),
                         case_name);

// The configs of tests/gpu_refused_configs.txt under the fused plan: the device refuses them
// before it allocates anything, naming the widest parameter (their own plan is batched).
TEST(GpuRefusedExamples, AreRefusedNamingTheWidestParameter) {
  SKIP_WITHOUT_GPU();
  for (const auto& [name, refusal] : gpu_refused_configs()) {
    const Experiment e = set_up_experiment(config_path(name).string(), {"train.plan=fused"});
    for (bool f32 : {true, false}) {
      SCOPED_TRACE(name + (f32 ? " f32" : " f64"));
      try {
        cuda_backend(e, f32);
        ADD_FAILURE() << "the GPU took it: take it off tests/gpu_refused_configs.txt";
      } catch (const Error& error) {
        expect_gpu_refusal(error, config_path(name), refusal);
      }
    }
  }
}

// loss = w + log(w - 10), plain SGD from w = 12 with lr = 0.5 (as in train_e2e_test.cpp):
// w' = w - 0.5 (1 + 1/(w - 10)) gives 12 → 11.25 → 10.35 → 8.428..., and step 4 takes the log
// of a negative number. The step must be reported as 4 (and stay so: divergence is sticky),
// and w must stay at its value before step 4. That value, replayed here in f64: within 1e-12
// relative in f64 (a few ulps a step, amplified by dw'/dw = 1 + 0.5/(w - 10)^2 < 7.6 over the
// three steps), and 512·2^-24 relative in f32 (a handful of f32 roundings a step, the same
// amplification).
TEST(GpuCudaBackendDivergence, IsReportedAtItsStepAndLeavesTheParameters) {
  SKIP_WITHOUT_GPU();
  TempDir tmp("descent_gpu_divergence");
  write_file(tmp / "diverge.toml",
             "[params]\nw = 12.0\n\n[cost]\nloss = \"w + log(w - 10)\"\n\n"
             "[train]\noptimizer = \"sgd\"\nlr = 0.5\nsteps = 50\n");
  const ExampleRun s((tmp / "diverge.toml").string());
  std::vector<double> history{12.0};
  while (history.back() - 10 > 0)
    history.push_back(history.back() - 0.5 * (1 + 1 / (history.back() - 10)));
  ASSERT_EQ(history.size(), 4u);  // w0..w3; step 4 takes log(w3 - 10) < 0
  for (bool f32 : {true, false}) {
    SCOPED_TRACE(f32 ? "f32" : "f64");
    const std::unique_ptr<Backend> gpu = cuda_backend(s.e, f32);
    gpu->load(s.initial);
    for (long step = 1; step <= 3; ++step) gpu->step(s.whole(), s.update(step));
    EXPECT_EQ(gpu->report().diverged_step, 0);
    std::vector<ParamState> before, after;
    gpu->store(before);
    ASSERT_EQ(before.size(), 1u);
    EXPECT_NEAR(before[0].value[0], history[3], (f32 ? 512 * 0x1p-24 : 1e-12) * history[3]);
    for (long step = 4; step <= 6; ++step) gpu->step(s.whole(), s.update(step));
    EXPECT_EQ(gpu->report().diverged_step, 4);
    gpu->store(after);
    EXPECT_EQ(after[0].value, before[0].value) << "a diverged step changed w";
    // load() clears the divergence.
    gpu->load(s.initial);
    gpu->step(s.whole(), s.update(1));
    EXPECT_EQ(gpu->report().diverged_step, 0);
    gpu->store(after);
    EXPECT_EQ(after[0].value[0], 11.25);  // 12 - 0.5 * 1.5, exact in both precisions
  }
}

// Not a GPU test: needs NVRTC only. Every example config's kernels, with its own plan and with
// the batched plan, compiled as make_cuda_backend compiles them for sm_90 (H100, H200), are
// within the resource budget (no stack frame, no spills, at most 128 registers), so that the
// GPU never refuses them; and under the fused plan the configs of tests/gpu_refused_configs.txt
// get exactly their refusal (one thread a sample cannot keep a real matrix's gradient).
TEST(CudaBackendKernels, CompileWithinTheBudgetForEveryExampleConfig) {
  if (!gpu::built_with_cuda()) GTEST_SKIP() << "this descent was built without CUDA";
  const std::map<std::string, GpuRefusal> refused = gpu_refused_configs();
  for (const Case& c : example_cases()) {
    SCOPED_TRACE(::testing::PrintToString(c));
    const Experiment e = set_up_experiment(c.config, c.settings());
    try {
      const std::string log =
          gpu::check_backend_kernels(*e.program, e.plan, backend_options(e, c.f32), 90);
      EXPECT_NE(log.find("_step_update"), std::string::npos) << log;
    } catch (const Error& error) {
      ADD_FAILURE() << error.render();
    }
    const auto refusal = refused.find(fs::path(c.config).filename().string());
    if (refusal == refused.end() || c.batched) continue;
    const Experiment fused = set_up_experiment(c.config, {"train.plan=fused"});
    try {
      gpu::check_backend_kernels(*fused.program, fused.plan, backend_options(fused, c.f32), 90);
      ADD_FAILURE() << "within the budget: take it off tests/gpu_refused_configs.txt";
    } catch (const Error& error) {
      expect_gpu_refusal(error, c.config, refusal->second);
    }
  }
}

// Not a GPU test: needs NVRTC only. The kernels take StepBuffers<Real> and
// UpdateCoefficients<Real> by value from arguments that the host laid out (cudaLaunchKernel
// copies their bytes), so NVRTC must lay both out as the host compiler does. NVRTC has no
// offsetof; the sizes and alignments of the structs and of their members' types pin the layout
// down under the common ABI's rules.
std::string static_check(const std::string& what, std::size_t value) {
  return "static_assert(" + what + " == " + std::to_string(value) + ", \"" + what + "\");\n";
}

template <class Real>
std::string layout_checks(const std::string& real) {
  const std::string b = "descent::launch::StepBuffers<" + real + ">";
  const std::string c = "descent::UpdateCoefficients<" + real + ">";
  return static_check("sizeof(" + b + ")", sizeof(launch::StepBuffers<Real>)) +
         static_check("alignof(" + b + ")", alignof(launch::StepBuffers<Real>)) +
         static_check("sizeof(" + c + ")", sizeof(UpdateCoefficients<Real>)) +
         static_check("alignof(" + c + ")", alignof(UpdateCoefficients<Real>)) +
         static_check("sizeof(" + real + ")", sizeof(Real));
}

TEST(CudaKernelArguments, HaveTheHostsLayoutUnderNvrtc) {
  if (!gpu::built_with_cuda()) GTEST_SKIP() << "this descent was built without CUDA";
  gpu::CompileOptions options;
  for (const codegen::KernelHeader& h : codegen::kernel_headers())
    options.headers.push_back({h.name, h.text});
  const std::string source =
      "#include \"codegen/launch.hpp\"\n" + layout_checks<float>("float") +
      layout_checks<double>("double") + static_check("sizeof(void*)", sizeof(void*)) +
      static_check("sizeof(long long)", sizeof(long long)) +
      static_check("sizeof(unsigned int)", sizeof(unsigned int)) +
      static_check("sizeof(descent::OptimizerConfig::Kind)", sizeof(OptimizerConfig::Kind));
  EXPECT_NO_THROW(gpu::compile_cuda(source, "kernel_arguments.cu", options)) << source;
}

// Not a GPU test: it runs everywhere. Where no device answers (or without CUDA) the factory
// refuses with the no-device exit code, and in a CUDA build with the probe's reason; where one
// answers, it makes a backend named after the card.
TEST(CudaBackendFactory, AnswersOrRefusesWithTheProbesReason) {
  const Experiment e = set_up_experiment(config_path("logistic.toml").string(), {});
  const gpu::DeviceProbe probe = gpu::probe_devices();
  if (probe.available) {
    EXPECT_EQ(cuda_backend(e, true)->name(), "cuda (f32, " + probe.name + ")");
    return;
  }
  try {
    cuda_backend(e, true);
    FAIL() << "made a CUDA backend without a device";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ExitCode::no_device);
    if (gpu::built_with_cuda()) {
      EXPECT_EQ(error.message(), probe.reason);
    }
  }
}

}  // namespace
}  // namespace descent::test
