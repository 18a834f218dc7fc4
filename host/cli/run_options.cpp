// --plan and --threads (see run_options.hpp).
#include "cli/run_options.hpp"

#include "config/limits.hpp"

namespace descent::cli {

std::vector<std::string> RunOptions::overrides() const {
  std::vector<std::string> out;
  if (!plan.empty()) out.push_back("train.plan=\"" + plan + "\"");
  if (!threads.empty()) out.push_back("train.threads=" + threads);
  return out;
}

void add_run_options(CLI::App& cmd, RunOptions& options) {
  cmd.add_option("--plan", options.plan,
                 "How products of a matrix with per-sample vectors run: auto (a cost model), "
                 "fused (per sample) or batched (matrix-matrix products over a tile); overrides "
                 "train.plan")
      ->check(CLI::IsMember({"auto", "fused", "batched"}));
  cmd.add_option("--threads", options.threads,
                 "CPU threads (0: the machine's cores); overrides train.threads")
      ->check(CLI::Range(0L, static_cast<long>(kMaxThreads)));
}

}  // namespace descent::cli
