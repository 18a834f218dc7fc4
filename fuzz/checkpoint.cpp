// Fuzz target: the checkpoint reader (host/train/checkpoint.hpp: read_checkpoint) on the bytes
// of a file, for a run whose parameters are named w and b.
// The format belongs to host/train and changes with it, so the seeds are not kept as files:
// with DESCENT_FUZZ_WRITE_SEEDS=DIR the target writes checkpoints of a few training states
// into DIR with write_checkpoint and exits (scripts/fuzz.sh does this before each run).
// A damaged file must end in a descent::Error; a crash, a sanitizer report, another exception
// or an "internal" error is a finding.
#include "train/checkpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"

namespace {

using namespace descent;

const std::vector<std::string> kNames{"w", "b"};

// Checkpoints of a few states: fresh, mid-run with optimizer moments, early stopping.
void write_seeds(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  TrainState fresh;
  fresh.params = {{{0.5, -1.0, 2.0}, {}, {}}, {{0.0}, {}, {}}};
  write_checkpoint((dir / "fresh.ckpt").string(), fresh, kNames);

  TrainState adam = fresh;
  adam.step = 1234;
  adam.epoch = 3;
  adam.cursor = 17;
  adam.epoch_rng = "123456789 987654321";
  adam.params = {{{0.25, 1e-300, -3.5}, {0.1, 0.2, 0.3}, {1e-8, 2e-8, 3e-8}},
                 {{1.5}, {0.01}, {0.001}}};
  adam.wall_seconds = 12.5;
  write_checkpoint((dir / "adam.ckpt").string(), adam, kNames);

  TrainState stopping = adam;
  stopping.best_val = 0.125;
  stopping.best_step = 1000;
  stopping.evals_since_best = 4;
  stopping.best_params = {{0.3, 0.4, 0.5}, {1.0}};
  stopping.stopped_early = true;
  write_checkpoint((dir / "early_stopping.ckpt").string(), stopping, kNames);

  TrainState starts = fresh;  // minimize mode: two starts back to back, momentum
  starts.params = {{{1, 2, 3, 4, 5, 6}, {0, 0, 0, 0, 0, 0}, {}}, {{7, 8}, {0, 0}, {}}};
  write_checkpoint((dir / "starts.ckpt").string(), starts, kNames);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("DESCENT_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > descent::fuzz::kMaxInputBytes) return 0;
  static const descent::fuzz::InputFile file;
  file.write(std::string_view(reinterpret_cast<const char*>(data), size));
  descent::fuzz::expect_clean([&] { read_checkpoint(file.path(), kNames); });
  return 0;
}
