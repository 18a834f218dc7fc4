// The files of [constants] (config/experiment.hpp, ConstantSpec): { file = "shift.npy" } or
// { file = "shift.csv" }, read into the constant's values and shape before the Program is built.
//
//   .npy  any numeric array of 0, 1 or 2 axes (data/npy.hpp), in C order;
//   .csv  numbers only, no header: one line a row, fields separated by ',', blanks around a
//         field and blank lines ignored, '#' starts a comment line. Shaped as numpy.loadtxt
//         shapes it: one number is a scalar, one line or one column a vector, else a matrix.
// Every value must be finite, and a constant holds at most kMaxParamElements values.
//
// Errors are bad input (exit code 2): a file that is missing or unreadable, or whose content
// is not such an array, is an error at the file's name in the config; a defect inside a CSV
// file points at its line and column there, with the config's position in the note.
//
// Does not: parse the config (host/config) or put the values into a graph (host/program).
#pragma once

#include "config/experiment.hpp"

namespace descent {

// Reads every constant of `config` that names a file and has not been read yet.
void read_constant_files(ExperimentConfig& config);

}  // namespace descent
