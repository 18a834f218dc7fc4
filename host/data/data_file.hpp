// Reading data files (CSV, .npy) with the one wording that every data reader uses when a file
// cannot be opened or read: a whole file in one go (small files: constants, new rows), or a
// block at a time (data sets, which are never held whole as text or raw bytes).
// Does not parse anything, and does not map files (a data set is read once, start to end, so a
// plain read is as fast and simpler).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "common/file_descriptor.hpp"

namespace descent {

// An open data file, read front to back. Opening a file that is missing, unreadable or a
// directory throws Error(ExitCode::io_error, "cannot open data file 'PATH': <strerror>"), and
// so does a failed read.
class DataFile {
 public:
  explicit DataFile(std::string path);

  const std::string& path() const { return path_; }
  // The size from fstat for a regular file; nothing for a pipe or a /proc file, whose size is
  // only known once it has been read.
  std::optional<std::int64_t> regular_size() const { return regular_size_; }

  // Reads up to `count` bytes into `out`: fewer only at the end of the file; 0 there.
  std::size_t read(char* out, std::size_t count);

 private:
  std::string path_;
  FileDescriptor file_;
  std::optional<std::int64_t> regular_size_;
};

// The bytes of the file at `path` (errors as DataFile's).
std::string read_data_file(const std::string& path);

// The number of '\n' bytes in the regular file at `path`, read a block at a time; nothing for
// a file that is not regular (a pipe cannot be read twice) or cannot be looked at. Errors as
// DataFile's.
std::optional<std::int64_t> count_newlines(const std::string& path);

}  // namespace descent
