// Symbolic gradients against central finite differences (see gradcheck.hpp for the error model).
#include "check/gradcheck.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "common/random.hpp"

namespace descent {

namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// The step between the checked elements of a parameter of `size` values whose rows are `row`
// values long: about size / max_elements, made prime to the row length, so that the checked
// elements fall in different columns (a stride that divides the row would check the same few
// columns of every row: for a (32, 64) weight matrix and 64 elements, columns 0 and 32 only).
std::size_t element_stride(std::size_t size, std::size_t row, std::size_t max_elements) {
  std::size_t stride = std::max<std::size_t>(1, size / max_elements);
  if (row > 1 && stride > 1)
    while (std::gcd(stride, row) != 1) ++stride;
  return stride;
}

// Checks the elements of parameter `i` at one point; `objective_at(i, k, x)` evaluates the
// objective with element k moved to x.
template <class Objective>
void check_param(std::size_t i, const std::vector<double>& values, std::size_t row, double f,
                 const std::vector<double>& analytic, std::size_t max_elements,
                 Objective objective_at, GradcheckParamReport& r) {
  const std::size_t stride = element_stride(values.size(), row, max_elements);
  for (std::size_t k = 0; k < values.size(); k += stride) {
    const double x = values[k];
    const double h = std::cbrt(kEps) * std::max(1.0, std::fabs(x));
    const double numeric = (objective_at(i, k, x + h) - objective_at(i, k, x - h)) / (2 * h);
    const double numeric_half = (objective_at(i, k, x + h / 2) - objective_at(i, k, x - h / 2)) / h;
    const double a = analytic[k];
    const double scale = std::max({std::fabs(a), std::fabs(numeric), 1.0});
    const double tolerance = 1e-6 + 8 * kEps * (std::fabs(f) + 1) / h / scale;
    if (!std::isfinite(numeric) || std::fabs(numeric - numeric_half) / scale > tolerance) {
      ++r.skipped;
      continue;
    }
    const double error =
        std::isfinite(a) ? std::fabs(a - numeric) / scale : std::numeric_limits<double>::infinity();
    ++r.checked;
    if (error > r.worst) {
      r.worst = error;
      r.tolerance_at_worst = tolerance;
    }
    if (error > tolerance) r.ok = false;
  }
}

}  // namespace

bool GradcheckReport::ok() const {
  return std::all_of(params.begin(), params.end(),
                     [](const GradcheckParamReport& p) { return p.ok; });
}

BatchRows gradcheck_batch(const Program& program, const Dataset* dataset) {
  BatchRows batch;
  batch.rows = dataset ? std::min<std::int64_t>(dataset->train_rows, 256) : program.starts;
  return batch;
}

GradcheckReport gradcheck(const Program& program, Backend& backend, const BatchRows& batch,
                          const std::vector<std::vector<double>>& initial,
                          const GradcheckOptions& options) {
  GradcheckReport report;
  report.points = options.points + 1;
  for (const ProgramParam& p : program.params) report.params.push_back({.name = p.name});
  Rng rng(options.seed);
  std::vector<std::vector<double>> analytic, unused;
  for (int point = 0; point <= options.points; ++point) {
    std::vector<ParamState> state(initial.size());
    for (std::size_t i = 0; i < initial.size(); ++i) state[i].value = initial[i];
    if (point > 0)  // a random point near the start: x + N(0, 0.5^2 max(1, |x|)^2)
      for (ParamState& p : state)
        for (double& v : p.value) v += 0.5 * std::max(1.0, std::fabs(v)) * rng.normal();
    backend.load(state);
    const double f = backend.objective_and_gradients(batch, analytic);
    // Moves one element, evaluates, and puts it back.
    auto objective_at = [&](std::size_t param, std::size_t k, double x) {
      double& element = state[param].value[k];
      const double kept = element;
      element = x;
      backend.load(state);
      const double value = backend.objective_and_gradients(batch, unused);
      element = kept;
      return value;
    };
    for (std::size_t i = 0; i < state.size(); ++i) {
      const Shape& shape = program.params[i].shape;
      const auto row = static_cast<std::size_t>(shape.rank > 0 ? shape.dims[shape.rank - 1] : 1);
      check_param(i, state[i].value, row, f, analytic[i], options.max_elements, objective_at,
                  report.params[i]);
    }
  }
  return report;
}

}  // namespace descent
