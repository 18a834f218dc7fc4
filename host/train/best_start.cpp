// The best start of a minimize run (see best_start.hpp).
#include "train/best_start.hpp"

#include <algorithm>
#include <cmath>

#include "run/run_directory.hpp"

namespace descent {

BestStart best_start(const std::vector<double>& costs) {
  BestStart best;
  best.starts = static_cast<std::int64_t>(costs.size());
  bool found = false;
  for (std::size_t s = 0; s < costs.size(); ++s) {
    if (!std::isfinite(costs[s])) continue;
    if (!found || costs[s] < best.cost) {
      best.start = static_cast<std::int64_t>(s);
      best.cost = costs[s];
      found = true;
    }
  }
  if (!found) {
    best.cost = costs.empty() ? 0.0 : costs[0];
    return best;
  }
  best.tolerance = kBestStartTolerance * std::max(1.0, std::fabs(best.cost));
  best.at_best = std::count_if(costs.begin(), costs.end(), [&](double c) {
    return std::isfinite(c) && std::fabs(c - best.cost) <= best.tolerance;
  });
  return best;
}

Json best_start_json(const BestStart& best, const Program& program,
                     const std::vector<std::vector<double>>& values) {
  Json params = Json::object();
  for (std::size_t i = 0; i < program.params.size(); ++i) {
    const ProgramParam& p = program.params[i];
    const auto size = static_cast<std::size_t>(p.shape.size());
    const auto first = values[i].begin() +
                       static_cast<std::ptrdiff_t>(static_cast<std::size_t>(best.start) * size);
    params.set(p.name,
               parameter_json(std::vector<double>(first, first + static_cast<std::ptrdiff_t>(size)),
                              p.shape));
  }
  return Json::object()
      .set("start", best.start)
      .set("cost", best.cost)
      .set("tolerance", best.tolerance)
      .set("starts_at_best", best.at_best)
      .set("params", std::move(params));
}

}  // namespace descent
