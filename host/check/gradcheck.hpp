// gradcheck (DESIGN §6): a backend's symbolic gradient of the objective against central finite
// differences in f64, at the initial parameters and at random points near them.
//
// Error model for one element (central difference with step h = cbrt(eps)*max(1, |x|)):
//   truncation  ~ h^2 |f'''| / 6       (≈ 4e-11 for |f'''| ~ 1)
//   rounding    ~ eps |f| / h          (the two evaluations each carry ~eps|f| of error)
// and the relative error is measured as |a - n| / max(|a|, |n|, 1), so the tolerance is
//   1e-6 + 8 eps (|f| + 1) / h / max(|a|, |n|, 1),
// with 1e-6 a margin of 10^4 over the truncation term for curvature up to ~100.
// Points where halving h changes the difference by more than the tolerance sit on a kink
// (abs, relu, max ...) and are skipped and counted.
//
// Does not: print (the CLI's gradcheck command does) or build the Program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "data/dataset.hpp"
#include "program/program.hpp"

namespace descent {

struct GradcheckOptions {
  int points = 3;                 // random points besides the initial one
  std::uint64_t seed = 1;         // for the random points
  std::size_t max_elements = 64;  // per parameter and point, spread over rows and columns
};

struct GradcheckParamReport {
  std::string name;
  long checked = 0;
  long skipped = 0;    // at kinks, or where the difference is not finite
  double worst = 0.0;  // the worst relative error
  double tolerance_at_worst = 0.0;
  bool ok = true;
};

struct GradcheckReport {
  std::vector<GradcheckParamReport> params;  // in Program order
  int points = 0;                            // points checked, the initial one included
  bool ok() const;
};

// The rows a gradcheck evaluates: the first 256 training rows (a fixed slice keeps the check
// cheap and deterministic), or every start in minimize mode (`dataset` null).
BatchRows gradcheck_batch(const Program& program, const Dataset* dataset);

// Checks `backend`'s gradients of program.objective on `batch` (the backend has the data set
// attached), starting from `initial` (one vector per parameter, in Program order).
GradcheckReport gradcheck(const Program& program, Backend& backend, const BatchRows& batch,
                          const std::vector<std::vector<double>>& initial,
                          const GradcheckOptions& options);

}  // namespace descent
