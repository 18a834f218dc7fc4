// Covers host/data/npy.cpp and host/common/atomic_file.cpp: write/read round trips, files of
// other dtypes and versions built byte by byte, the message of each malformed file, and (when
// python3 has numpy) that numpy and descent read each other's files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "data/npy.hpp"
#include "test_support.hpp"

namespace descent {
namespace {

namespace fs = std::filesystem;
using Shape = std::vector<std::size_t>;
using Values = std::vector<double>;

// A fresh directory per test (tests/test_support.hpp), removed afterwards.
class NpyTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::string write(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  std::string read_bytes(const std::string& file) const {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }

  // The message of reading `bytes`, with the temporary path shown as "data.npy".
  std::string error_of(const std::string& bytes) const {
    const std::string file = write("data.npy", bytes);
    try {
      read_npy(file);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input);
      std::string rendered = e.render();
      if (rendered.find(file) != std::string::npos) {
        rendered.replace(rendered.find(file), file.size(), "data.npy");
      }
      return rendered;
    }
    ADD_FAILURE() << "no error";
    return {};
  }

  test::TempDir tmp_{"descent_npy"};
  const fs::path& dir_ = tmp_.path();
};

// A .npy file as numpy lays it out: magic, version, header length (2 bytes for 1.0, 4 for
// 2.0/3.0), the header padded with spaces to a 64-byte boundary and ended by '\n', the data.
std::string npy_file(const std::string& header, const std::string& data, int major = 1) {
  const std::size_t length_width = major == 1 ? 2 : 4;
  std::string padded = header;
  const std::size_t unpadded = 8 + length_width + header.size() + 1;
  padded.append((64 - unpadded % 64) % 64, ' ');
  padded += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < length_width; ++i) {
    out += static_cast<char>((padded.size() >> (8 * i)) & 0xff);
  }
  return out + padded + data;
}

std::string header_for(const std::string& descr, const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
}

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (const int b : list) out += static_cast<char>(b);
  return out;
}

// ---- round trips --------------------------------------------------------------------------

TEST_F(NpyTest, RoundTripsAScalar) {
  write_npy(path("a.npy"), {}, Values{2.5});
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_EQ(array.shape, Shape{});
  EXPECT_EQ(array.values, Values{2.5});
}

TEST_F(NpyTest, RoundTripsAVector) {
  const Values values{1, -2, 0.1, 1e300, -0.0};
  write_npy(path("a.npy"), {5}, values);
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_EQ(array.shape, Shape{5});
  EXPECT_EQ(array.values, values);
  EXPECT_TRUE(std::signbit(array.values[4]));
}

TEST_F(NpyTest, RoundTripsAMatrixInCOrder) {
  Values values;
  for (int i = 0; i < 12; ++i) values.push_back(i * 0.5 - 1);
  write_npy(path("a.npy"), {3, 4}, values);
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_EQ(array.shape, (Shape{3, 4}));
  EXPECT_EQ(array.values, values);
}

TEST_F(NpyTest, RoundTripsAnEmptyArray) {
  write_npy(path("a.npy"), {2, 0}, Values{});
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_EQ(array.shape, (Shape{2, 0}));
  EXPECT_TRUE(array.values.empty());
}

TEST_F(NpyTest, NonFiniteValuesAreKeptBitForBit) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double tiny = std::numeric_limits<double>::denorm_min();
  write_npy(path("a.npy"), {4}, Values{nan, INFINITY, -INFINITY, tiny});
  const NpyArray array = read_npy(path("a.npy"));
  EXPECT_TRUE(std::isnan(array.values[0]));
  EXPECT_EQ(array.values[1], INFINITY);
  EXPECT_EQ(array.values[2], -INFINITY);
  EXPECT_EQ(array.values[3], tiny);
}

TEST_F(NpyTest, WrittenLayoutIsVersion1WithDataAlignedTo64Bytes) {
  write_npy(path("a.npy"), {3, 4}, Values(12, 1.0));
  const std::string file = read_bytes(path("a.npy"));
  ASSERT_GE(file.size(), 10u);
  EXPECT_EQ(file.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  const std::size_t header_length = static_cast<unsigned char>(file[8]) |
                                    static_cast<std::size_t>(static_cast<unsigned char>(file[9]))
                                        << 8;
  const std::size_t data_begin = 10 + header_length;
  EXPECT_EQ(data_begin % 64, 0u);
  EXPECT_EQ(file.size(), data_begin + 12 * 8);
  const std::string header = file.substr(10, header_length);
  EXPECT_TRUE(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"))
      << header;
  EXPECT_EQ(header.back(), '\n');
  double first = 0;
  std::memcpy(&first, file.data() + data_begin, 8);
  EXPECT_EQ(first, 1.0);
}

TEST_F(NpyTest, WrittenShapesUsePythonTupleSyntax) {
  write_npy(path("s.npy"), {}, Values{1});
  write_npy(path("v.npy"), {1}, Values{1});
  EXPECT_NE(read_bytes(path("s.npy")).find("'shape': (), }"), std::string::npos);
  EXPECT_NE(read_bytes(path("v.npy")).find("'shape': (1,), }"), std::string::npos);
}

TEST_F(NpyTest, WriteReplacesAnExistingFileAndLeavesNoTemporary) {
  write_npy(path("a.npy"), {2}, Values{1, 2});
  write_npy(path("a.npy"), {3}, Values{4, 5, 6});
  EXPECT_EQ(read_npy(path("a.npy")).values, (Values{4, 5, 6}));
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(NpyTest, WriteChecksTheShapeAgainstTheValues) {
  try {
    write_npy(path("a.npy"), {3, 4}, Values(11, 0.0));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::failure);
    EXPECT_EQ(e.message(),
              "write_npy('" + path("a.npy") + "'): shape (3, 4) does not hold 11 values");
  }
  EXPECT_FALSE(fs::exists(path("a.npy")));
}

TEST_F(NpyTest, WriteIntoAMissingDirectoryIsAnIoError) {
  const std::string target = path("no/such/dir/a.npy");
  try {
    write_npy(target, {1}, Values{1});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(e.message(), "cannot write file '" + target +
                               "': No such file or directory (creating '" + target + ".tmp-" +
                               std::to_string(::getpid()) + "')");
  }
}

TEST_F(NpyTest, AtomicWriteOverADirectoryFailsAndCleansUp) {
  fs::create_directories(dir_ / "taken");
  EXPECT_THROW(write_file_atomically(path("taken"), "bytes"), Error);
  EXPECT_TRUE(fs::is_directory(dir_ / "taken"));
  EXPECT_FALSE(fs::exists(path("taken") + ".tmp-" + std::to_string(::getpid())));
}

TEST_F(NpyTest, AtomicWriteInTheCurrentDirectory) {
  const fs::path previous = fs::current_path();
  fs::current_path(dir_);
  write_file_atomically("plain.txt", "hello");
  fs::current_path(previous);
  EXPECT_EQ(read_bytes(path("plain.txt")), "hello");
}

// ---- other dtypes and versions, written byte by byte ----------------------------------------

TEST_F(NpyTest, ReadsFloat32) {
  // 1.5f = 0x3fc00000, -2.25f = 0xc0100000, little-endian.
  const std::string data = bytes({0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x10, 0xc0});
  const NpyArray array = read_npy(write("f4.npy", npy_file(header_for("<f4", "(2,)"), data)));
  EXPECT_EQ(array.shape, Shape{2});
  EXPECT_EQ(array.values, (Values{1.5, -2.25}));
}

TEST_F(NpyTest, ReadsInt64) {
  // -3, then 2^40 = 0x0000010000000000.
  const std::string data = bytes({0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  //
                                  0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00});
  const NpyArray array = read_npy(write("i8.npy", npy_file(header_for("<i8", "(1, 2)"), data)));
  EXPECT_EQ(array.shape, (Shape{1, 2}));
  EXPECT_EQ(array.values, (Values{-3, 1099511627776.0}));
}

TEST_F(NpyTest, ReadsInt32) {
  const std::string data = bytes({0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80});
  const NpyArray array = read_npy(write("i4.npy", npy_file(header_for("<i4", "(2,)"), data)));
  EXPECT_EQ(array.values, (Values{-1, -2147483648.0}));
}

TEST_F(NpyTest, ReadsUint8WithEitherByteOrderMark) {
  const std::string data = bytes({0, 7, 255});
  EXPECT_EQ(read_npy(write("a.npy", npy_file(header_for("|u1", "(3,)"), data))).values,
            (Values{0, 7, 255}));
  EXPECT_EQ(read_npy(write("b.npy", npy_file(header_for("<u1", "(3,)"), data))).values,
            (Values{0, 7, 255}));
}

TEST_F(NpyTest, ReadsBoolAsZeroAndOne) {
  const std::string data = bytes({0, 1, 1, 0, 2, 0});  // numpy reads any non-zero byte as True
  const NpyArray array = read_npy(write("b1.npy", npy_file(header_for("|b1", "(2, 3)"), data)));
  EXPECT_EQ(array.shape, (Shape{2, 3}));
  EXPECT_EQ(array.values, (Values{0, 1, 1, 0, 1, 0}));
}

TEST_F(NpyTest, ReadsInt64ExtremesThatADoubleHolds) {
  // INT64_MIN = -2^63 and 2^53 are exact in a double.
  const std::string data = bytes({0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0x20, 0});
  const NpyArray array = read_npy(write("i8.npy", npy_file(header_for("<i8", "(2,)"), data)));
  EXPECT_EQ(array.values, (Values{-9223372036854775808.0, 9007199254740992.0}));
}

TEST_F(NpyTest, ReadsVersions2And3AndFreeFormHeaders) {
  const std::string data = bytes({0, 0, 0, 0, 0, 0, 0xf0, 0x3f});  // 1.0
  // Keys in another order, double quotes, no trailing comma, Python 2 "L" suffix.
  const std::string header = "{\"shape\": (1L,), \"fortran_order\": False, \"descr\": \"<f8\"}";
  EXPECT_EQ(read_npy(write("v1.npy", npy_file(header, data, 1))).values, Values{1.0});
  EXPECT_EQ(read_npy(write("v2.npy", npy_file(header, data, 2))).values, Values{1.0});
  EXPECT_EQ(read_npy(write("v3.npy", npy_file(header, data, 3))).values, Values{1.0});
}

// ---- malformed files ------------------------------------------------------------------------

TEST_F(NpyTest, MissingFileIsAnIoError) {
  try {
    read_npy(path("absent.npy"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::io_error);
    EXPECT_EQ(e.message(),
              "cannot open data file '" + path("absent.npy") + "': No such file or directory");
  }
}

TEST_F(NpyTest, BadMagic) {
  EXPECT_EQ(error_of("PK\x03\x04 this is a zip archive"),
            "error: data.npy: not a NumPy .npy file: it does not start with \"\\x93NUMPY\" "
            "(byte offset 0)");
  EXPECT_EQ(error_of(""),
            "error: data.npy: not a NumPy .npy file: it does not start with \"\\x93NUMPY\" "
            "(byte offset 0)");
}

TEST_F(NpyTest, UnsupportedVersion) {
  std::string file = npy_file(header_for("<f8", "(1,)"), std::string(8, '\0'));
  file[6] = 4;
  EXPECT_EQ(error_of(file),
            "error: data.npy: unsupported .npy format version 4.0 (byte offset 6); descent reads "
            "1.0, 2.0 and 3.0");
}

TEST_F(NpyTest, TruncatedPreambleAndHeader) {
  EXPECT_EQ(error_of(std::string("\x93NUMPY\x01", 7)),
            "error: data.npy: truncated .npy file: it ends inside the version (byte offset 6)");
  EXPECT_EQ(error_of(std::string("\x93NUMPY\x02\x00\x10", 9)),
            "error: data.npy: truncated .npy file: it ends inside the header length (byte offset "
            "8)");
  const std::string whole = npy_file(header_for("<f8", "(1,)"), std::string(8, '\0'));
  EXPECT_EQ(error_of(whole.substr(0, 40)),
            "error: data.npy: truncated .npy header: 118 header bytes announced at byte offset 8, "
            "but the file ends at byte offset 40");
  // A version 3 header announcing 4 GiB in a 21-byte file: read as far as the file goes (the
  // reader's memory follows the file, not the announced length).
  EXPECT_EQ(error_of(std::string(
                "\x93NUMPY\x03\x00\x00\x00\x00\xf0?\x00\x00\x00\x00\x00\x00\x00\x00@", 21)),
            "error: data.npy: truncated .npy header: 4026531840 header bytes announced at byte "
            "offset 8, but the file ends at byte offset 21");
}

TEST_F(NpyTest, TruncatedData) {
  const std::string file = npy_file(header_for("<f8", "(3, 4)"), std::string(40, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: truncated data: shape (3, 4) of '<f8' needs 96 bytes from byte "
            "offset 128, but the file ends 40 bytes later");
}

TEST_F(NpyTest, TrailingBytesAfterTheData) {
  const std::string file = npy_file(header_for("|u1", "(2,)"), bytes({1, 2, 3}));
  EXPECT_EQ(error_of(file),
            "error: data.npy: 1 unexpected bytes after the data, which ends at byte offset 130");
}

TEST_F(NpyTest, BigEndian) {
  const std::string file = npy_file(header_for(">f8", "(1,)"), std::string(8, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: big-endian dtype '>f8' is not supported; save the array "
            "little-endian, e.g. arr.astype('<f8')");
}

TEST_F(NpyTest, FortranOrder) {
  const std::string file =
      npy_file("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }", std::string(32, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: fortran_order is True; descent reads C-order arrays only (save "
            "np.ascontiguousarray(arr))");
}

TEST_F(NpyTest, ObjectDtype) {
  const std::string file = npy_file(header_for("|O", "(1,)"), std::string(8, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: object arrays (dtype '|O') cannot be read; save a numeric array");
}

TEST_F(NpyTest, UnsupportedDtype) {
  const std::string file = npy_file(header_for("<c16", "(1,)"), std::string(16, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: unsupported dtype '<c16'; descent reads <f8, <f4, <i8, <i4, <i2, "
            "|i1, <u8, <u4, <u2, |u1, <u1, |b1");
}

TEST_F(NpyTest, StructuredDtype) {
  const std::string file = npy_file(
      "{'descr': [('x', '<f8')], 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0'));
  EXPECT_EQ(error_of(file),
            "error: data.npy: malformed .npy header at byte offset 20: structured dtypes (a list "
            "of fields) are not supported");
}

TEST_F(NpyTest, MalformedHeaders) {
  const std::string data(8, '\0');
  // The header starts at byte offset 10 in a version 1.0 file.
  EXPECT_EQ(error_of(npy_file("{'descr': '<f8' 'fortran_order': False, 'shape': (1,), }", data)),
            "error: data.npy: malformed .npy header at byte offset 26: expected ',' or '}' after "
            "the value of 'descr', found \"'\"");
  EXPECT_EQ(error_of(npy_file("{'descr': '<f8', 'shape': (1,), }", data)),
            "error: data.npy: malformed .npy header at byte offset 10: the header has no "
            "'fortran_order' key");
  EXPECT_EQ(error_of(npy_file(header_for("<f8", "(1,)") + "{", data)),
            "error: data.npy: malformed .npy header at byte offset 67: unexpected text after the "
            "closing '}'");
  EXPECT_EQ(error_of(npy_file("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", data)),
            "error: data.npy: malformed .npy header at byte offset 44: expected True or False for "
            "'fortran_order', found '0'");
  EXPECT_EQ(error_of(npy_file(header_for("<f8", "(-1,)"), data)),
            "error: data.npy: malformed .npy header at byte offset 61: a dimension of the shape "
            "is negative");
  EXPECT_EQ(error_of(npy_file(header_for("<f8", "[1]"), data)),
            "error: data.npy: malformed .npy header at byte offset 60: expected '(' to open the "
            "shape tuple, found '['");
  EXPECT_EQ(
      error_of(npy_file("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}", data)),
      "error: data.npy: malformed .npy header at byte offset 66: unexpected key 'x'; a .npy "
      "header holds 'descr', 'fortran_order' and 'shape'");
  EXPECT_EQ(error_of(npy_file("not a dict", data)),
            "error: data.npy: malformed .npy header at byte offset 10: expected '{' at the start "
            "of the header, found 'n'");
}

TEST_F(NpyTest, HugeShapeIsRejectedBeforeAllocating) {
  const std::string file =
      npy_file(header_for("<f8", "(4294967296, 4294967296)"), std::string(8, '\0'));
  EXPECT_EQ(error_of(file), "error: data.npy: shape (4294967296, 4294967296) is too large");
}

TEST_F(NpyTest, Int64BeyondTheDoubleSignificandIsRejected) {
  // 2^53 + 1 = 0x0020000000000001 rounds to 2^53 in a double: refuse rather than change it.
  const std::string data = bytes({1, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0x20, 0});
  EXPECT_EQ(error_of(npy_file(header_for("<i8", "(2,)"), data)),
            "error: data.npy: the '<i8' value at index 1 (byte offset 136) cannot be held exactly "
            "by a double (it is beyond 2^53)");
  // UINT64_MAX rounds up to 2^64, which does not even fit the integer type.
  EXPECT_EQ(error_of(npy_file(header_for("<u8", "(1,)"), std::string(8, '\xff'))),
            "error: data.npy: the '<u8' value at index 0 (byte offset 128) cannot be held exactly "
            "by a double (it is beyond 2^53)");
}

// ---- numpy itself ---------------------------------------------------------------------------

bool python_has_numpy() { return std::system("python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

TEST_F(NpyTest, NumpyReadsWhatDescentWrites) {
  if (!python_has_numpy()) GTEST_SKIP() << "python3 with numpy is not installed";
  Values values;
  for (int i = 0; i < 12; ++i) values.push_back(i * 0.5 - 1);
  write_npy(path("matrix.npy"), {3, 4}, values);
  write_npy(path("scalar.npy"), {}, Values{2.5});
  write("check.py",
        "import sys, numpy as np\n"
        "d = sys.argv[1]\n"
        "m = np.load(d + '/matrix.npy')\n"
        "assert m.dtype == np.float64 and m.shape == (3, 4), (m.dtype, m.shape)\n"
        "assert (m == np.arange(12).reshape(3, 4) * 0.5 - 1).all(), m\n"
        "s = np.load(d + '/scalar.npy')\n"
        "assert s.shape == () and s == 2.5, s\n");
  EXPECT_EQ(std::system(("python3 " + path("check.py") + " " + dir_.string()).c_str()), 0);
}

TEST_F(NpyTest, DescentReadsWhatNumpyWrites) {
  if (!python_has_numpy()) GTEST_SKIP() << "python3 with numpy is not installed";
  write("save.py",
        "import sys, numpy as np\n"
        "d = sys.argv[1]\n"
        "np.save(d + '/f4.npy', (np.arange(6, dtype=np.float32) / 4).reshape(2, 3))\n"
        "np.save(d + '/i8.npy', np.array([-3, 2**40], dtype=np.int64))\n"
        "np.save(d + '/u1.npy', np.array([0, 7, 255], dtype=np.uint8))\n"
        "np.save(d + '/b1.npy', np.array([True, False, True]))\n"
        "np.save(d + '/f8.npy', np.float64(-1.25))\n"
        "np.save(d + '/fortran.npy', np.asfortranarray(np.ones((2, 3))))\n"
        "np.save(d + '/big.npy', np.arange(3, dtype='>f8'))\n");
  ASSERT_EQ(std::system(("python3 " + path("save.py") + " " + dir_.string()).c_str()), 0);
  const NpyArray f4 = read_npy(path("f4.npy"));
  EXPECT_EQ(f4.shape, (Shape{2, 3}));
  EXPECT_EQ(f4.values, (Values{0, 0.25, 0.5, 0.75, 1, 1.25}));
  EXPECT_EQ(read_npy(path("i8.npy")).values, (Values{-3, 1099511627776.0}));
  EXPECT_EQ(read_npy(path("u1.npy")).values, (Values{0, 7, 255}));
  EXPECT_EQ(read_npy(path("b1.npy")).values, (Values{1, 0, 1}));
  const NpyArray f8 = read_npy(path("f8.npy"));
  EXPECT_EQ(f8.shape, Shape{});
  EXPECT_EQ(f8.values, Values{-1.25});
  EXPECT_THROW(read_npy(path("fortran.npy")), Error);
  EXPECT_THROW(read_npy(path("big.npy")), Error);
}

}  // namespace
}  // namespace descent
