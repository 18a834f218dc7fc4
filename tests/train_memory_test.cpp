// Covers the memory that `descent train` keeps for a data set (host/data/dataset.cpp and the
// readers it uses): one copy of the data, whatever the file format and the batch size.
//
// The bound: a run's peak RSS (wait4's ru_maxrss of the child) is at most
//   1.2 x (the data in the backend's storage + the model) + the peak RSS of an empty run,
// where the data is rows x values a row x 8 bytes (f64) and the empty run trains the same
// model on 10 rows: the binary, its libraries and the process it was started from (a process's
// ru_maxrss starts at the high-water mark of its parent, this test, which therefore writes the
// data files a row at a time and never holds them). The 20% cover what grows with the data
// besides it (the epoch orders: 8 bytes a row, three times) and the fixed workspaces that an
// empty run does not fill (a chunk of the metric evaluation, about 4 MiB; the CSV reader's
// window, about 2 MiB; the evaluator's chunks, 1 MiB): about 10 MiB here, against the 20 MiB
// that 20% of this data set allows. Reading the data twice (a whole-file buffer beside the
// values, a copy for the split) would take 100 MiB more.
//
// Left out of AddressSanitizer builds, whose shadow memory and quarantine change every figure.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.hpp"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DESCENT_TEST_UNDER_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DESCENT_TEST_UNDER_ASAN 1
#endif

// Not built under AddressSanitizer, whose shadow memory changes every figure (a skip would not
// do: scripts/check_skips.sh lets only the GPU tests skip).
#ifndef DESCENT_TEST_UNDER_ASAN

namespace descent {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kRows = 100000;
constexpr std::int64_t kColumns = 127;  // x; then y, the label
constexpr double kDataBytes = 8.0 * kRows * (kColumns + 1);
constexpr double kModelBytes = 8.0 * (kColumns + 1);  // w and b
constexpr double kMiB = 1024.0 * 1024.0;

// A value of the data set, the same in every file: a hash of (row, column) mapped to a number
// of four decimals in [-2, 2).
double value_at(std::int64_t row, std::int64_t column) {
  std::uint64_t h = static_cast<std::uint64_t>(row * (kColumns + 1) + column) + 0x9E3779B97F4A7C15u;
  h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9u;
  h = (h ^ (h >> 27)) * 0x94D049BB133111EBu;
  h ^= h >> 31;
  return static_cast<double>(static_cast<std::int64_t>(h % 40000) - 20000) / 10000.0;
}

double label_at(std::int64_t row) { return value_at(row, 0) + value_at(row, 1) > 0 ? 1.0 : 0.0; }

// The data as CSV and as X.npy, y.npy, written a row at a time.
void write_data(const fs::path& dir) {
  std::ofstream csv(dir / "data.csv", std::ios::binary);
  for (std::int64_t c = 0; c < kColumns; ++c) csv << "x" << c + 1 << ",";
  csv << "y\n";
  const auto npy = [&](const std::string& name, const std::string& shape) {
    std::ofstream out(dir / name, std::ios::binary);
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }";
    header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
    header += '\n';
    out.write("\x93NUMPY\x01\x00", 8);
    out.put(static_cast<char>(header.size() & 0xff)).put(static_cast<char>(header.size() >> 8));
    out << header;
    return out;
  };
  std::ofstream x =
      npy("X.npy", "(" + std::to_string(kRows) + ", " + std::to_string(kColumns) + ")");
  std::ofstream y = npy("y.npy", "(" + std::to_string(kRows) + ",)");
  std::vector<double> row(kColumns);
  char number[32];
  for (std::int64_t r = 0; r < kRows; ++r) {
    for (std::int64_t c = 0; c < kColumns; ++c) {
      row[static_cast<std::size_t>(c)] = value_at(r, c);
      std::snprintf(number, sizeof number, "%.4f,", row[static_cast<std::size_t>(c)]);
      csv << number;
    }
    const double label = label_at(r);
    csv << label << "\n";
    x.write(reinterpret_cast<const char*>(row.data()),
            static_cast<std::streamsize>(row.size() * sizeof(double)));
    y.write(reinterpret_cast<const char*>(&label), sizeof label);
  }
  if (!csv || !x || !y) throw std::runtime_error("cannot write the data set");
}

std::string config_text(const std::string& source, int batch_size, int epochs) {
  return "[data]\n" + source +
         "\nstandardize = [\"x\"]\nvalidation = 0.2\nseed = 3\n"
         "[params]\nw = { shape = [" +
         std::to_string(kColumns) +
         "] }\nb = 0.0\n"
         "[model]\nz = \"dot(w, x) + b\"\n"
         "[cost]\nloss = \"-(y*log(sigmoid(z)) + (1 - y)*log(1 - sigmoid(z)))\"\n"
         "[metrics]\naccuracy = \"(z > 0) == y\"\n"
         "[train]\noptimizer = \"momentum\"\nlr = 0.5\nepochs = " +
         std::to_string(epochs) + "\nbatch_size = " + std::to_string(batch_size) + "\nseed = 1\n";
}

// `descent train CONFIG` to completion; its peak RSS in bytes.
double peak_rss_of_training(const fs::path& config, const test::TempDir& dir) {
  const fs::path out = dir / ".out", err = dir / ".err";
  const pid_t pid = test::spawn_descent(
      {"train", config.string(), "--device", "cpu", "--quiet", "--out", (dir / "run").string()},
      out, err);
  int status = 0;
  rusage usage{};
  while (::wait4(pid, &status, 0, &usage) < 0)
    if (errno != EINTR) throw std::runtime_error("wait4 failed");
  EXPECT_EQ(test::exit_code_of(status), 0) << test::read_file(err);
  fs::remove_all(dir / "run");
  return 1024.0 * static_cast<double>(usage.ru_maxrss);  // KiB on Linux
}

TEST(TrainMemory, OneCopyOfTheDataIsKeptFromCsvAndNpyFullBatchAndMiniBatch) {
  const test::TempDir dir("descent_memory");
  write_data(dir.path());

  // The empty run: the same model on the first 10 rows of the CSV file.
  {
    std::ifstream all(dir / "data.csv", std::ios::binary);
    std::ofstream head(dir / "empty.csv", std::ios::binary);
    std::string line;
    for (int i = 0; i < 11 && std::getline(all, line); ++i) head << line << "\n";
  }
  const std::string csv_inputs =
      "inputs = { x = \"x1..x" + std::to_string(kColumns) + "\", y = \"y\" }";
  test::write_file(dir / "empty.toml", config_text("file = \"empty.csv\"\n" + csv_inputs, 0, 1));
  const double empty = peak_rss_of_training(dir / "empty.toml", dir);

  struct Run {
    std::string name, source;
    int batch_size, epochs;
  };
  const std::vector<Run> runs = {
      {"csv, full batch", "file = \"data.csv\"\n" + csv_inputs, 0, 2},
      {"npy, full batch", "npy = { x = \"X.npy\", y = \"y.npy\" }", 0, 2},
      {"npy, batch 4096", "npy = { x = \"X.npy\", y = \"y.npy\" }", 4096, 1},
  };
  const double bound = 1.2 * (kDataBytes + kModelBytes) + empty;
  for (const Run& run : runs) {
    const fs::path config = dir / "run.toml";
    test::write_file(config, config_text(run.source, run.batch_size, run.epochs));
    const double peak = peak_rss_of_training(config, dir);
    std::printf(
        "%s: peak RSS %.1f MiB, bound %.1f MiB (data + model %.1f MiB, empty run %.1f MiB)\n",
        run.name.c_str(), peak / kMiB, bound / kMiB, (kDataBytes + kModelBytes) / kMiB,
        empty / kMiB);
    EXPECT_LE(peak, bound) << run.name << ": peak RSS " << peak / kMiB << " MiB, data + model "
                           << (kDataBytes + kModelBytes) / kMiB << " MiB, empty run "
                           << empty / kMiB << " MiB: the data set is held more than once";
    // The data is in memory once: the bound is not met by a run that never read it.
    EXPECT_GE(peak, kDataBytes) << run.name;
  }
}

}  // namespace
}  // namespace descent

#endif  // DESCENT_TEST_UNDER_ASAN
