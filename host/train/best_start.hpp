// Minimize mode's results beyond the parameters: which start ended lowest, and how many starts
// reached the same value. The tolerance rule: a start is "at the best" when
//   |cost - best| <= 1e-6 * max(1, |best|)
// (relative for costs far from zero, absolute near it), the best start itself included.
//
// Does not: evaluate costs (cpu/evaluate.hpp), or write files (host/run).
#pragma once

#include <cstdint>
#include <vector>

#include "common/json.hpp"
#include "program/program.hpp"

namespace descent {

inline constexpr double kBestStartTolerance = 1e-6;

struct BestStart {
  std::int64_t start = 0;    // 0-based index on the leading axis of params/NAME.npy
  double cost = 0.0;         // its final cost
  double tolerance = 0.0;    // kBestStartTolerance * max(1, |cost|)
  std::int64_t at_best = 0;  // starts within `tolerance` of it, itself included
  std::int64_t starts = 0;   // all starts
};

// The start of lowest cost (the first of equals; a non-finite cost never wins unless every
// cost is non-finite, when start 0 is reported with at_best = 0).
BestStart best_start(const std::vector<double>& costs);

// params.json's "best" object: start, cost, tolerance, starts_at_best, and the start's own
// parameters under "params" (one copy each, shaped like the parameter).
Json best_start_json(const BestStart& best, const Program& program,
                     const std::vector<std::vector<double>>& values);

}  // namespace descent
