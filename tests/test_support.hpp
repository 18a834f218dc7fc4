// Shared helpers of the end-to-end tests (train_e2e_test.cpp, train_errors_test.cpp): a
// temporary directory per test, running the descent binary (DESIGN §1) with its exit code and
// its stdout/stderr captured, reading files back, a minimal independent .npy reader and a
// metrics.csv splitter. Header-only; does not know anything about descent's internals, so the
// tests that use it check the binary's outputs against readers written independently of it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace descent::test {

namespace fs = std::filesystem;

inline const std::string kBinary = DESCENT_BINARY;
inline const fs::path kSourceDir = DESCENT_SOURCE_DIR;
// The configs every backend test runs: the examples (configs/) and the test-only ones
// (tests/configs/, e.g. every_op.toml, which holds every op of the language), sorted by path.
inline std::vector<fs::path> program_configs() {
  std::vector<fs::path> configs;
  for (const fs::path& dir : {kSourceDir / "configs", kSourceDir / "tests" / "configs"})
    for (const fs::directory_entry& entry : fs::directory_iterator(dir))
      if (entry.path().extension() == ".toml") configs.push_back(entry.path());
  std::sort(configs.begin(), configs.end());
  return configs;
}
// A config of program_configs() by its file name.
inline fs::path config_path(const std::string& name) {
  const fs::path example = kSourceDir / "configs" / name;
  return fs::exists(example) ? example : kSourceDir / "tests" / "configs" / name;
}

// A fresh directory (mkdtemp under the system temp folder), removed with everything in it when
// the object goes out of scope.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "descent_e2e") {
    std::string pattern = (fs::temp_directory_path() / (tag + "_XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

inline void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// configs/linear.toml with plain SGD at lr = 100, full batch, 600 steps: it diverges. Its loss,
// "(prediction - y)^2", is at line 13, column 9.
inline std::string linear_blowup_config() {
  return "[data]\n"
         "file = \"" +
         (kSourceDir / "configs" / "data" / "linear.csv").string() +
         "\"\n"
         "inputs = { x = \"x1..x3\", y = \"y\" }\n"
         "\n"
         "[params]\n"
         "w = { shape = [3], init = \"zeros\" }\n"
         "b = { init = \"zeros\" }\n"
         "\n"
         "[model]\n"
         "prediction = \"dot(w, x) + b\"\n"
         "\n"
         "[cost]\n"
         "loss = \"(prediction - y)^2\"\n"
         "\n"
         "[train]\n"
         "optimizer = \"sgd\"\n"
         "lr = 100\n"
         "steps = 600\n"
         "batch_size = 0\n"
         "seed = 1\n";
}

// Starts the descent binary with `args`, stdout and stderr redirected to the given files.
// Returns the child's pid.
inline pid_t spawn_descent(const std::vector<std::string>& args, const fs::path& stdout_file,
                           const fs::path& stderr_file) {
  std::vector<std::string> all{kBinary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, stdout_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, kBinary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("posix_spawn: " + std::string(std::strerror(rc)));
  return pid;
}

// The raw wait status of a child.
inline int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw std::runtime_error("waitpid failed");
  return status;
}

struct CliResult {
  int exit_code = -1;  // WEXITSTATUS, or -signal when the child was killed by a signal
  std::string out;
  std::string err;
};

inline int exit_code_of(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Runs `descent ARGS...` to completion. Output goes through files in `scratch` (the test's own
// temporary directory), which are removed again.
inline CliResult run_descent(const std::vector<std::string>& args, const fs::path& scratch) {
  const fs::path out = scratch / ".cli_stdout", err = scratch / ".cli_stderr";
  const pid_t pid = spawn_descent(args, out, err);
  CliResult result;
  result.exit_code = exit_code_of(wait_for(pid));
  result.out = read_file(out);
  result.err = read_file(err);
  fs::remove(out);
  fs::remove(err);
  return result;
}

// The rows of a CSV file without quoting (metrics.csv), header included, each split at commas.
inline std::vector<std::vector<std::string>> read_csv_rows(const fs::path& path) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(read_file(path));
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    rows.push_back(std::move(cells));
  }
  return rows;
}

// The number of complete lines of a file (0 when it does not exist yet).
inline long count_lines(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return 0;
  long lines = 0;
  char buffer[4096];
  while (in.read(buffer, sizeof buffer) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) lines += buffer[i] == '\n';
    if (!in) break;
  }
  return lines;
}

// A minimal reader of the '<f8' C-order .npy files that descent writes, written from the
// format's specification (magic, version, little-endian header length, a Python dict literal
// header, then the raw data), independently of host/data/npy.cpp.
struct NpyF8 {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

inline NpyF8 read_npy_f8(const fs::path& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw std::runtime_error(path.string() + ": not an .npy file");
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
    offset = 10;
  } else {
    for (int i = 3; i >= 0; --i)
      header_len = header_len * 256 + static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  }
  const std::string header = bytes.substr(offset, header_len);
  if (header.find("'descr': '<f8'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos)
    throw std::runtime_error(path.string() + ": not a C-order <f8 array: " + header);
  NpyF8 array;
  const std::size_t open = header.find('(', header.find("'shape'"));
  const std::size_t close = header.find(')', open);
  std::istringstream dims(header.substr(open + 1, close - open - 1));
  std::string dim;
  std::size_t count = 1;
  while (std::getline(dims, dim, ','))
    if (dim.find_first_not_of(' ') != std::string::npos) {
      array.shape.push_back(std::stoul(dim));
      count *= array.shape.back();
    }
  const std::size_t data = offset + header_len;
  if (bytes.size() != data + count * sizeof(double))
    throw std::runtime_error(path.string() + ": size does not match the shape");
  array.values.resize(count);
  std::memcpy(array.values.data(), bytes.data() + data, count * sizeof(double));
  return array;
}

// Replaces every "{key}" in `text` by `value`.
inline std::string substitute(std::string text, const std::string& key, const std::string& value) {
  const std::string pattern = "{" + key + "}";
  for (std::size_t at = text.find(pattern); at != std::string::npos;
       at = text.find(pattern, at + value.size()))
    text.replace(at, pattern.size(), value);
  return text;
}

// Every path under `dir` (recursively) whose file name holds ".tmp-" (an atomic write's
// temporary file that was left behind).
inline std::vector<std::string> leftover_temporaries(const fs::path& dir) {
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(dir))
    if (entry.path().filename().string().find(".tmp-") != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

}  // namespace descent::test
