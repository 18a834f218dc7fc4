// FileDescriptor: owns a POSIX file descriptor and closes it on every path out of a scope.
// close() reports the error of an explicit close (NFS reports write errors there); the
// destructor, which runs on error paths, does not.
#pragma once

#include <unistd.h>

#include <cerrno>

namespace descent {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // 0, or the errno of a failed close.
  int close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

}  // namespace descent
