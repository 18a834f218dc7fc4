// Covers the block-at-a-time reading of data files (host/data/csv_records.cpp, host/data/npy.cpp)
// and the in-place split of host/data/dataset.cpp: records, CRLF pairs and doubled quotes cut by
// the edge of a block, line numbers of errors many blocks into a file, files read from a pipe,
// and a split whose rows are the file rows it names.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "common/error.hpp"
#include "config/experiment.hpp"
#include "data/csv.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;

// The reader's block size (csv_records.cpp): the first block ends at this byte offset.
constexpr std::size_t kBlock = std::size_t{1} << 20;

class StreamingTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) const {
    const fs::path path = tmp_ / name;
    test::write_file(path, bytes);
    return path.string();
  }

  // The rendered error of reading `path` as CSV, the temporary folder shown as "{dir}".
  std::string csv_error_of(const std::string& path, const CsvOptions& options = {}) const {
    try {
      read_csv(path, options);
    } catch (const Error& e) {
      std::string text = e.render();
      const std::string dir = tmp_.path().string();
      for (std::size_t at; (at = text.find(dir)) != std::string::npos;)
        text.replace(at, dir.size(), "{dir}");
      return text;
    }
    ADD_FAILURE() << "no error for " << path;
    return {};
  }

  test::TempDir tmp_{"descent_streaming"};
};

CsvOptions categorical(const std::string& column) {
  CsvOptions options;
  options.categorical = {column};
  return options;
}

// Writes `bytes` into a new FIFO at `path` from a thread, and joins it when destroyed. The code
// under test must open the FIFO, or the writer waits forever.
class FifoWriter {
 public:
  FifoWriter(const std::string& path, std::string bytes) {
    if (::mkfifo(path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    writer_ = std::thread([path, bytes = std::move(bytes)] {
      std::ofstream out(path, std::ios::binary);
      out << bytes;
    });
  }
  ~FifoWriter() { writer_.join(); }
  FifoWriter(const FifoWriter&) = delete;
  FifoWriter& operator=(const FifoWriter&) = delete;

 private:
  std::thread writer_;
};

// The message of the Error that `read` throws, without the path that starts it.
template <class Read>
std::string message_after_path(Read read) {
  try {
    read();
  } catch (const Error& e) {
    return e.message().substr(e.message().find(':'));
  }
  ADD_FAILURE() << "no error";
  return {};
}

// ---- CSV records cut by the edge of a block ----------------------------------------------

TEST_F(StreamingTest, ACrlfPairCutByTheEdgeOfABlockIsOneLineEnd) {
  // A quoted label over two lines (where a CR would stay in the label, not be trimmed as a
  // blank) whose CR is the block's last byte.
  const std::string header = "name\r\n";
  const std::string before(kBlock - 1 - header.size() - 1, 'a');
  const std::string text = header + "\"" + before + "\r\nb\"\r\nc\r\n";
  ASSERT_EQ(text.substr(kBlock - 1, 2), "\r\n");
  const CsvTable table = read_csv(write("d.csv", text), categorical("name"));
  EXPECT_EQ(table.column("name").labels, (std::vector<std::string>{before + "\nb", "c"}));
}

TEST_F(StreamingTest, ADoubledQuoteCutByTheEdgeOfABlockIsOneQuote) {
  // The first quote of a "" pair is the block's last byte (not yet known to be a pair).
  const std::string header = "name\n";
  const std::string before(kBlock - 1 - header.size() - 1, 'a');
  const std::string text = header + "\"" + before + "\"\"b\"\n" + "c\n";
  ASSERT_EQ(text.substr(kBlock - 1, 2), "\"\"");
  const CsvTable table = read_csv(write("d.csv", text), categorical("name"));
  EXPECT_EQ(table.column("name").labels, (std::vector<std::string>{before + "\"b", "c"}));
}

// Many blocks of rows of changing lengths, CRLF line ends and quoted labels over two lines: every
// kind of record is cut by the edge of some block, and each is read as written.
TEST_F(StreamingTest, RecordsCutByTheEdgesOfBlocksAreReadWhole) {
  std::string text = "i,name,half\r\n";
  constexpr int kRows = 300000;
  const auto label = [](int i) {
    return i % 3 == 0 ? "say \"" + std::to_string(i % 7) + "\"\nok" : std::to_string(i % 5);
  };
  for (int i = 0; i < kRows; ++i) {
    const std::string name =
        i % 3 == 0 ? "\"say \"\"" + std::to_string(i % 7) + "\"\"\r\nok\"" : std::to_string(i % 5);
    text += std::to_string(i) + "," + name + "," + std::to_string(i * 0.5) + "\r\n";
  }
  ASSERT_GT(text.size(), 4 * kBlock);
  const CsvTable table = read_csv(write("d.csv", text), categorical("name"));
  ASSERT_EQ(table.rows, static_cast<std::size_t>(kRows));
  const CsvColumn& name = table.column("name");
  for (int i = 0; i < kRows; ++i) {
    const auto r = static_cast<std::size_t>(i);
    ASSERT_EQ(table.columns[0].values[r], i);
    ASSERT_EQ(table.columns[2].values[r], std::stod(std::to_string(i * 0.5)));
    ASSERT_EQ(name.labels[static_cast<std::size_t>(name.values[r])], label(i)) << "row " << i;
  }
}

TEST_F(StreamingTest, AnErrorManyBlocksIntoTheFileHasItsLineAndColumn) {
  // Rows of two lines (a quoted label holds a newline) before the bad cell: lines, not rows,
  // are counted.
  std::string text = "a,label,b\n";
  constexpr int kRows = 150000;
  for (int i = 0; i < kRows; ++i)
    text += std::to_string(i) + ",\"x\ny\"," + std::to_string(i) + "\n";
  text += "7,z, oops\n";
  ASSERT_GT(text.size(), 2 * kBlock);
  EXPECT_EQ(csv_error_of(write("d.csv", text), categorical("label")),
            "{dir}/d.csv:" + std::to_string(2 + 2 * kRows) +
                ":6: error: expected a number in column 'b', found 'oops'\n"
                "  7,z, oops\n"
                "       ^~~~");
}

TEST_F(StreamingTest, AnUnterminatedQuoteManyBlocksIntoTheFilePointsAtItsOpening) {
  std::string text = "a,label\n";
  for (int i = 0; i < 200000; ++i) text += std::to_string(i) + ",b\n";
  text += "1,\"open\n" + std::string(3 * kBlock, 'c') + "\n";
  EXPECT_EQ(csv_error_of(write("d.csv", text), categorical("label")),
            "{dir}/d.csv:200002:3: error: unterminated quoted field\n"
            "  1,\"open\n"
            "    ^\n"
            "note: a quoted field ends at the next '\"' that is not doubled");
}

// ---- pipes --------------------------------------------------------------------------------

TEST_F(StreamingTest, ADataSetIsReadFromAPipe) {
  std::string text = "x,y\n";
  for (int i = 0; i < 100000; ++i) text += std::to_string(i) + "," + std::to_string(2 * i) + "\n";
  const std::string fifo = (tmp_ / "d.csv").string();
  const FifoWriter writer(fifo, text);
  DataConfig data;
  data.present = true;
  data.file = fifo;
  for (const char* name : {"x", "y"}) {
    InputSpec spec;
    spec.name = name;
    spec.columns = {name};
    data.inputs.push_back(spec);
  }
  const Dataset dataset = load_dataset(data, 1);
  ASSERT_EQ(dataset.train_rows, 100000);
  const std::span<const double> x = dataset.train(dataset.inputs[0]);
  const std::span<const double> y = dataset.train(dataset.inputs[1]);
  for (std::size_t r = 0; r < x.size(); ++r) {
    ASSERT_EQ(x[r], static_cast<double>(r));
    ASSERT_EQ(y[r], 2.0 * static_cast<double>(r));
  }
}

TEST_F(StreamingTest, ANpyFileOfTheWrongSizeIsRefusedFromAPipeAsFromAFile) {
  const std::string file = write("whole.npy", "");
  write_npy(file, {4, 2}, std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8});
  const std::string bytes = test::read_file(file);
  for (const std::string& wrong : {bytes.substr(0, bytes.size() - 12), bytes + "0123456789"}) {
    const std::string regular = write("wrong.npy", wrong);
    const std::string from_file = message_after_path([&] { read_npy(regular); });
    const std::string fifo = (tmp_ / "pipe.npy").string();
    fs::remove(fifo);
    std::string from_pipe;
    {
      const FifoWriter writer(fifo, wrong);
      from_pipe = message_after_path([&] { read_npy(fifo); });
    }
    EXPECT_TRUE(from_file.find("truncated data") != std::string::npos ||
                from_file.find("10 unexpected bytes") != std::string::npos)
        << from_file;
    EXPECT_EQ(from_pipe, from_file);
  }
}

// ---- .npy values decoded a block at a time ------------------------------------------------

TEST_F(StreamingTest, IntegerNpyValuesAreDecodedAcrossBlocks) {
  // 300,000 int16 values: more than one block of raw values (npy.cpp decodes 2^17 at a time).
  constexpr std::size_t kCount = 300000;
  std::string header =
      "{'descr': '<i2', 'fortran_order': False, 'shape': (" + std::to_string(kCount) + ",), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const auto value = [](std::size_t i) {
    return static_cast<std::int16_t>(static_cast<int>(i % 65536) - 32768);
  };
  for (std::size_t i = 0; i < kCount; ++i) {
    const std::int16_t v = value(i);
    char le[2];
    std::memcpy(le, &v, 2);
    bytes.append(le, 2);
  }
  const NpyArray array = read_npy(write("i2.npy", bytes));
  ASSERT_EQ(array.values.size(), kCount);
  for (std::size_t i = 0; i < kCount; ++i) ASSERT_EQ(array.values[i], value(i)) << i;
}

// ---- the split, in place ------------------------------------------------------------------

// Row r of each split is the file row that file_rows names, in every input, and the
// standardization's mean is the training rows' own.
TEST_F(StreamingTest, TheSplitsRowsAreTheFileRowsItNames) {
  std::string text = "a,b,y\n";
  constexpr int kRows = 5000;
  for (int i = 0; i < kRows; ++i)
    text += std::to_string(i) + "," + std::to_string(-i) + "," + std::to_string(3 * i) + "\n";
  write("d.csv", text);
  test::write_file(tmp_ / "cfg.toml",
                   "[data]\nfile = \"d.csv\"\ninputs = { x = \"a..b\", y = \"y\" }\n"
                   "standardize = [\"y\"]\nvalidation = 0.3\nseed = 5\n"
                   "[params]\nw = { shape = [2] }\n[cost]\nloss = \"(dot(w, x) - y)^2\"\n");
  const ExperimentConfig config = load_experiment((tmp_ / "cfg.toml").string());
  const Dataset dataset = load_dataset(config.data, config.data.seed);
  ASSERT_EQ(dataset.train_rows + dataset.validation_rows, kRows);
  EXPECT_EQ(dataset.validation_rows, 1500);
  const DatasetInput& x = dataset.inputs[0];
  const DatasetInput& y = dataset.inputs[1];
  const double mean = y.mean.at(0), scale = y.scale.at(0);
  double sum = 0;
  for (std::int64_t r = 0; r < kRows; ++r) {
    const bool train = r < dataset.train_rows;
    const auto in_split = static_cast<std::size_t>(train ? r : r - dataset.train_rows);
    const std::span<const double> xs = train ? dataset.train(x) : dataset.validation(x);
    const std::span<const double> ys = train ? dataset.train(y) : dataset.validation(y);
    const auto file_row = static_cast<double>(dataset.file_rows[static_cast<std::size_t>(r)]);
    ASSERT_EQ(xs[2 * in_split], file_row) << r;
    ASSERT_EQ(xs[2 * in_split + 1], -file_row) << r;
    // (3 i - mean) / scale, undone: two roundings each way, each of at most half an ulp of a
    // value below 3 * kRows.
    const double y_back = ys[in_split] * scale + mean;
    ASSERT_NEAR(y_back, 3 * file_row, 4 * 0x1p-52 * 3 * kRows) << r;
    if (train) sum += 3 * file_row;
  }
  // Integers below 2^53: every partial sum is exact, so the order of the rows does not matter.
  EXPECT_EQ(mean, sum / static_cast<double>(dataset.train_rows));
}

}  // namespace
}  // namespace descent
