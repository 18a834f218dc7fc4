// write_file_atomically: temporary file, fsync, rename, fsync of the directory (POSIX).
#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "common/error.hpp"
#include "common/file_descriptor.hpp"

namespace descent {

namespace {

[[noreturn]] void fail(const std::string& path, int error_number, const std::string& doing) {
  throw Error(ExitCode::io_error, "cannot write file '" + path +
                                      "': " + std::strerror(error_number) + " (" + doing + ")");
}

// Removes the temporary file unless the rename has consumed it.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!renamed_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void mark_renamed() { renamed_ = true; }

 private:
  std::string path_;
  bool renamed_ = false;
};

void write_all(int fd, std::string_view bytes, const std::string& path,
               const std::string& temporary) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail(path, errno, "writing '" + temporary + "'");
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
}

// Makes a rename in `directory` durable. Some file systems cannot sync a directory and say
// EINVAL; there the rename is as durable as that file system makes it.
void sync_directory(const std::string& directory, const std::string& path) {
  FileDescriptor dir(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) fail(path, errno, "opening directory '" + directory + "' to sync it");
  if (::fsync(dir.get()) != 0 && errno != EINVAL) {
    fail(path, errno, "syncing directory '" + directory + "'");
  }
}

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  TemporaryFile temporary(path + ".tmp-" + std::to_string(::getpid()));
  const std::string& tmp = temporary.path();
  {
    FileDescriptor file(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (file.get() < 0) fail(path, errno, "creating '" + tmp + "'");
    write_all(file.get(), bytes, path, tmp);
    if (::fsync(file.get()) != 0) fail(path, errno, "syncing '" + tmp + "'");
    if (const int error_number = file.close(); error_number != 0) {
      fail(path, error_number, "closing '" + tmp + "'");
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    fail(path, errno, "renaming '" + tmp + "' to it");
  }
  temporary.mark_renamed();

  std::string directory = std::filesystem::path(path).parent_path().string();
  if (directory.empty()) directory = ".";
  sync_directory(directory, path);
}

}  // namespace descent
