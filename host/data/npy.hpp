// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a reader that turns any plain numeric
// array into doubles, and a writer of float64 arrays.
//
// The reader takes little-endian f8, f4, i8, i4, i2, i1, u8, u4, u2, u1 and b1 (bool → 0/1)
// arrays of any rank in C order, converts them to double, and returns the values as stored,
// NaN and inf included (checking them is the caller's business). It rejects, with the path and
// the byte offset in the message: a bad magic string, an unknown version, a malformed header,
// big-endian data, fortran_order True, object/structured/other dtypes, 64-bit integers that a
// double cannot hold exactly, and a file whose size does not match its shape.
// The file is read a block at a time (NpyReader), decoded straight into the caller's memory, so
// that its raw bytes are never held whole beside the values.
// Does not: read .npz archives, memory-map, or byte-swap.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace descent {

struct NpyArray {
  std::vector<std::size_t> shape;  // {} for a 0-d array (one value)
  std::vector<double> values;      // C order: the last index varies fastest
};

class DataFile;

// A .npy file opened for reading. The constructor reads and checks the header, and (for a
// regular file) that the file's size matches the shape; read_values() reads the data.
// Errors as read_npy's.
class NpyReader {
 public:
  explicit NpyReader(const std::string& path);
  ~NpyReader();
  NpyReader(const NpyReader&) = delete;
  NpyReader& operator=(const NpyReader&) = delete;

  const std::vector<std::size_t>& shape() const { return shape_; }
  std::size_t count() const { return count_; }  // the values: the product of shape()

  // Decodes every value, in C order, into out[0], ..., out[count() - 1]. Once.
  void read_values(double* out);

 private:
  // Refuses data of `available` bytes that is not exactly the shape's.
  void check_data_size(std::size_t available) const;

  std::string path_;
  std::unique_ptr<DataFile> file_;
  std::vector<std::size_t> shape_;
  std::size_t count_ = 0;
  std::string descr_;  // the dtype, e.g. '<f8'
  std::size_t item_size_ = 0;
  bool (*decode_)(const unsigned char* bytes, double& value) = nullptr;  // false: not exact
  std::size_t data_begin_ = 0;  // the data's byte offset in the file
};

// Throws Error(io_error) when the file cannot be read and an input_error (exit code 2) when
// its content is not an array that descent can use.
NpyArray read_npy(const std::string& path);

// Writes a '<f8' C-order array in format 1.0 (2.0 only for an enormous header), the data
// starting at a multiple of 64 bytes, atomically (see common/atomic_file.hpp). values.size()
// must equal the product of `shape` (1 for {}), else Error(failure) is thrown.
void write_npy(const std::string& path, const std::vector<std::size_t>& shape,
               std::span<const double> values);

}  // namespace descent
