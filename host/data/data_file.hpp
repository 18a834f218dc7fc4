// Reads a whole data file (CSV, .npy) into memory in one go, with the one wording that every
// data reader uses when a file cannot be opened or read. Does not parse anything, and does not
// map files (a data set is read once, start to end, so a plain read is as fast and simpler).
#pragma once

#include <string>

namespace descent {

// The bytes of the file at `path`. A file that is missing, unreadable or a directory throws
// Error(ExitCode::io_error, "cannot open data file 'PATH': <strerror>").
std::string read_data_file(const std::string& path);

}  // namespace descent
