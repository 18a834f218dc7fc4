// Checkpoint format versions (host/train/checkpoint.cpp): a checkpoint of another format
// version is refused with a message that names both versions (exit code 2), not read as
// damaged and not resumed into a run that would differ from the one that wrote it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "test_support.hpp"
#include "train/checkpoint.hpp"

namespace descent::test {
namespace {

TEST(CheckpointVersion, AnotherFormatVersionIsRefusedByName) {
  TempDir dir("descent_checkpoint_version");
  const std::string path = (dir.path() / "checkpoint.bin").string();
  TrainState state;
  state.step = 7;
  state.params.push_back(ParamState{{1.0, 2.0}, {}, {}});
  write_checkpoint(path, state, {"w"});
  EXPECT_EQ(read_checkpoint(path, {"w"}).step, 7);

  std::stringstream bytes;
  bytes << std::ifstream(path, std::ios::binary).rdbuf();
  std::string text = bytes.str();
  const std::string header = "DESCENT-CHECKPOINT ";
  ASSERT_EQ(text.rfind(header, 0), 0u);
  text[header.size()] = '1';  // as an older descent wrote it
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  try {
    read_checkpoint(path, {"w"});
    FAIL() << "read a version-1 checkpoint";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(e.message().find("format version 1"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("start a new run"), std::string::npos) << e.message();
  }
}

}  // namespace
}  // namespace descent::test
