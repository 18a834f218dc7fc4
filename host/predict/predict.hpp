// A trained run applied to new rows: the value of a model expression per row (descent predict)
// and the cost on the rows (descent eval), both by the Interpreter in f64 with the run's final
// parameters, and the prediction written as CSV or .npy.
//
// Does not: parse command lines (host/cli), or train.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "graph/shape.hpp"
#include "predict/trained_run.hpp"

namespace descent {

struct Prediction {
  std::string model;  // the [model] expression evaluated
  Shape shape;        // of one row's value
  std::int64_t rows = 0;
  std::vector<double> values;  // rows x shape, row-major
};

// The [model] expression `model` ("": the config's last [model] entry) on every row of
// `sources` (see read_new_rows). An unknown name is an input_error listing the model's names.
Prediction predict_rows(TrainedRun& run, const std::vector<std::string>& sources,
                        const std::string& model);

struct CostOnRows {
  double cost = 0.0;  // the reported loss: the mean per-row loss plus the penalties
  std::int64_t rows = 0;
};

// The cost on every row of `sources`; the rows must hold every input that the loss uses.
CostOnRows evaluate_cost(TrainedRun& run, const std::vector<std::string>& sources);

// CSV: a header naming each element of the value ("p"; "p[0]", "p[1]"; "p[0][1]"), then one
// line per row, numbers in the shortest form that reads back as the same double.
std::string prediction_csv(const Prediction& prediction);

// Writes `prediction` to `path`: a .npy array of shape (rows, ...value's shape) when the path
// ends in ".npy", else CSV (prediction_csv), atomically.
void write_prediction(const Prediction& prediction, const std::string& path);

}  // namespace descent
