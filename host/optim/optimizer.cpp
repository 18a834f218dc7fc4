// The CPU reference update loop over the rules of optim/update_rules.hpp; nothing here
// changes a parameter by hand. The optimizers' names, defaults and checks are in
// host/config/optimizer_choices.cpp.
#include "optim/optimizer.hpp"

#include <fmt/format.h>

#include <cstddef>

#include "common/error.hpp"

namespace descent {

void apply_update(const OptimizerConfig& config, long step, double lr, std::span<double> params,
                  std::span<const double> grads, std::span<double> state0,
                  std::span<double> state1) {
  const std::size_t n = params.size();
  const int slots = optimizer_state_slots(config);
  auto fail = [](const std::string& what) {
    return Error(ExitCode::failure, "apply_update: " + what);
  };
  if (step < 1) throw fail(fmt::format("step is 1-based, got {}", step));
  if (grads.size() != n) throw fail(fmt::format("{} gradients for {} parameters", grads.size(), n));
  const std::span<double> states[2] = {state0, state1};
  for (int slot = 0; slot < slots; ++slot) {
    if (states[slot].size() != n) {
      throw fail(fmt::format("{} needs state{} of {} elements, got {}",
                             optimizer_kind_name(config.kind), slot, n, states[slot].size()));
    }
  }

  const UpdateCoefficients<double> c = make_update_coefficients<double>(config, step, lr);
  double unused = 0;  // stands in for a slot the rule does not use
  for (std::size_t i = 0; i < n; ++i) {
    double& s0 = slots >= 1 ? state0[i] : unused;
    double& s1 = slots >= 2 ? state1[i] : unused;
    update_element(c, params[i], grads[i], s0, s1);
  }
}

}  // namespace descent
