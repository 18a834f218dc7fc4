// What the fuzz targets share: the verdict on an exception (a descent::Error for bad input is
// the expected answer; anything else is a bug, reported by aborting so that libFuzzer keeps
// the input), and a file that holds the current input for readers that take a path.
//
// Does not: decide what a target calls; each fuzz/<target>.cpp does.
#pragma once

#include <spdlog/spdlog.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace descent::fuzz {

// Inputs longer than this are skipped, whatever -max_len says (scripts/fuzz.sh sets smaller
// limits): every reader is linear, so a long input only slows the search, and no input may
// make a target run out of memory or time by its size alone.
inline constexpr std::size_t kMaxInputBytes = 1 << 16;

// Warnings (an unused parameter, a constant input) would flood the fuzzer's output.
inline const bool kQuietLogs = (spdlog::set_level(spdlog::level::off), true);

// Runs `body`; a descent::Error that is not an internal error is fine, anything else aborts
// with the message. "internal" errors are bugs by the README's contract (exit code 1 with
// "internal: ..." for user input), so they count as findings too.
template <class Body>
void expect_clean(Body body) {
  try {
    body();
  } catch (const Error& e) {
    if (e.code() == ExitCode::failure || e.message().rfind("internal", 0) == 0) {
      std::fprintf(stderr, "descent-fuzz: internal error for a user input:\n%s\n", e.what());
      std::abort();
    }
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "descent-fuzz: std::bad_alloc escaped\n");
    std::abort();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "descent-fuzz: unexpected exception: %s\n", e.what());
    std::abort();
  }
}

// Aborts with `what` when `ok` is false: a property the target checks on a successful run.
inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "descent-fuzz: property violated: %s\n", what);
  std::abort();
}

// An in-memory file (memfd) reachable by a path (/proc/self/fd/N), rewritten with each input:
// the readers under test open files by path, and a memfd spares the disk.
class InputFile {
 public:
  InputFile() {
    fd_ = ::memfd_create("descent-fuzz-input", 0);
    if (fd_ < 0) {
      std::perror("memfd_create");
      std::abort();
    }
    path_ = "/proc/self/fd/" + std::to_string(fd_);
  }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }

  void write(std::string_view bytes) const {
    if (::ftruncate(fd_, 0) != 0 ||
        (!bytes.empty() &&
         ::pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))) {
      std::perror("writing the fuzz input");
      std::abort();
    }
  }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace descent::fuzz
