// Fuzz target: the .npy reader (host/data/npy.cpp) on the bytes of a file, then the data set
// that reads the file as both inputs of a fit config (host/data/dataset.cpp: axes, rows,
// non-finite values, the split).
// Bad input must end in a descent::Error; a crash, a sanitizer report, another exception or
// an "internal" error is a finding.
#include "data/npy.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <string>
#include <string_view>

#include "data/dataset.hpp"
#include "fuzz_support.hpp"

namespace {

using namespace descent;

void read_and_load(const std::string& path) {
  const NpyArray array = read_npy(path);
  const std::size_t count =
      std::accumulate(array.shape.begin(), array.shape.end(), std::size_t{1}, std::multiplies<>());
  descent::fuzz::require(count == array.values.size(), "the values do not fill the shape");

  DataConfig data;
  data.present = true;
  for (const char* name : {"x", "y"}) {
    InputSpec spec;
    spec.name = name;
    spec.npy_file = path;
    data.inputs.push_back(spec);
  }
  data.validation = 0.25;
  const Dataset dataset = load_dataset(data, 7);
  descent::fuzz::require(dataset.train_rows >= 1, "a data set without training rows");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > descent::fuzz::kMaxInputBytes) return 0;
  static const descent::fuzz::InputFile file;
  file.write(std::string_view(reinterpret_cast<const char*>(data), size));
  descent::fuzz::expect_clean([&] { read_and_load(file.path()); });
  return 0;
}
