// The data set of a fit experiment as a backend is handed it (Backend::attach): every program
// input's training and validation rows, in Program::inputs order, where the Dataset keeps them.
#pragma once

#include "backend/backend.hpp"
#include "data/dataset.hpp"
#include "program/program.hpp"

namespace descent {

// The splits point into `dataset`, which must outlive their use.
DataSplits data_splits(const Program& program, const Dataset& dataset);

}  // namespace descent
