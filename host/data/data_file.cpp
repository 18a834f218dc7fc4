// Whole-file and block reads for the data readers: POSIX open/fstat/read, so that every failure
// has an errno to report.
#include "data/data_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/error.hpp"

namespace descent {

namespace {

[[noreturn]] void fail_to_open(const std::string& path, int error_number) {
  throw Error(ExitCode::io_error,
              "cannot open data file '" + path + "': " + std::strerror(error_number));
}

}  // namespace

DataFile::DataFile(std::string path)
    : path_(std::move(path)), file_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)) {
  if (file_.get() < 0) fail_to_open(path_, errno);
  struct stat info {};
  if (::fstat(file_.get(), &info) != 0) fail_to_open(path_, errno);
  if (S_ISDIR(info.st_mode)) fail_to_open(path_, EISDIR);
  // /proc files are "regular" with a size of 0: their size is unknown too.
  if (S_ISREG(info.st_mode) && info.st_size > 0) regular_size_ = info.st_size;
}

std::size_t DataFile::read(char* out, std::size_t count) {
  std::size_t filled = 0;
  while (filled < count) {
    const ssize_t got = ::read(file_.get(), out + filled, count - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail_to_open(path_, errno);
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  return filled;
}

std::string read_data_file(const std::string& path) {
  DataFile file(path);
  // The size from fstat is a first guess: a file may grow while we read it, so read until
  // read() says end-of-file. The one spare byte lets that end-of-file read happen without
  // growing (and copying) the buffer.
  std::string bytes;
  bytes.resize(
      static_cast<std::size_t>(std::max<std::int64_t>(file.regular_size().value_or(0), 4095)) + 1);
  std::size_t filled = 0;
  for (;;) {
    if (filled == bytes.size()) bytes.resize(bytes.size() * 2);
    const std::size_t got = file.read(bytes.data() + filled, bytes.size() - filled);
    if (got == 0) break;
    filled += got;
  }
  bytes.resize(filled);
  return bytes;
}

std::optional<std::int64_t> count_newlines(const std::string& path) {
  // Looked at before it is opened: opening a FIFO whose writer is gone would wait forever.
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  DataFile file(path);
  constexpr std::size_t kBlock = std::size_t{1} << 20;
  std::vector<char> block(kBlock);
  std::int64_t newlines = 0;
  for (std::size_t got; (got = file.read(block.data(), kBlock)) > 0;)
    newlines += std::count(block.data(), block.data() + got, '\n');
  return newlines;
}

}  // namespace descent
