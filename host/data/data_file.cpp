// Whole-file reads for the data readers: POSIX open/fstat/read, so that every failure has an
// errno to report.
#include "data/data_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/error.hpp"
#include "common/file_descriptor.hpp"

namespace descent {

namespace {

[[noreturn]] void fail_to_open(const std::string& path, int error_number) {
  throw Error(ExitCode::io_error,
              "cannot open data file '" + path + "': " + std::strerror(error_number));
}

}  // namespace

std::string read_data_file(const std::string& path) {
  FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (file.get() < 0) fail_to_open(path, errno);

  struct stat info {};
  if (::fstat(file.get(), &info) != 0) fail_to_open(path, errno);
  if (S_ISDIR(info.st_mode)) fail_to_open(path, EISDIR);

  // The size from fstat is a first guess: pipes and /proc files report 0, and a file may grow
  // while we read it, so read until read() says end-of-file. The one spare byte lets that
  // end-of-file read happen without growing (and copying) the buffer.
  std::string bytes;
  bytes.resize(static_cast<std::size_t>(std::max<off_t>(info.st_size, 4095)) + 1);
  std::size_t filled = 0;
  for (;;) {
    if (filled == bytes.size()) bytes.resize(bytes.size() * 2);
    const ssize_t got = ::read(file.get(), bytes.data() + filled, bytes.size() - filled);
    if (got < 0) {
      if (errno == EINTR) continue;
      fail_to_open(path, errno);
    }
    if (got == 0) break;
    filled += static_cast<std::size_t>(got);
  }
  bytes.resize(filled);
  return bytes;
}

}  // namespace descent
