// Checkpoints that cannot lie (host/train/checkpoint.cpp):
//   - a checkpoint of another format version is refused with a message that names both
//     versions (exit code 2), not read as damaged and not resumed into a run that would differ;
//   - damage to any single byte of a checkpoint, at every byte position, is refused (the
//     checksum), never read back as another state;
//   - a well-formed checkpoint whose fields cannot belong to the run (a cursor beyond the data,
//     a step beyond the run, an epoch that does not follow from the step, sizes that differ, an
//     unreadable RNG state, an early-stopping record from the future) is refused by name.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "common/error.hpp"
#include "common/random.hpp"
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

TrainState small_state() {
  TrainState state;
  state.step = 7;
  state.epoch = 2;
  state.cursor = 10;
  state.epoch_rng = Rng(3).save();
  state.params.push_back(ParamState{{1.0, 2.0}, {0.5, 0.25}, {}});
  state.params.push_back(ParamState{{-3.0}, {0.125}, {}});
  return state;
}

std::string read_bytes(const std::string& path) {
  std::stringstream bytes;
  bytes << std::ifstream(path, std::ios::binary).rdbuf();
  return bytes.str();
}

TEST(CheckpointDamage, AnySingleByteChangedIsRefused) {
  TempDir dir("descent_checkpoint_damage");
  const std::string path = (dir.path() / "checkpoint.bin").string();
  write_checkpoint(path, small_state(), {"w", "b"});
  const std::string good = read_bytes(path);
  ASSERT_GT(good.size(), 100u);
  std::size_t refused = 0;
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (const unsigned flip : {0x01u, 0x80u, 0xffu}) {
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<unsigned>(static_cast<unsigned char>(bad[i])) ^ flip);
      try {
        parse_checkpoint(bad, path, {"w", "b"});
        ADD_FAILURE() << "byte " << i << " ^ " << int(flip) << " was read back";
      } catch (const Error& e) {
        EXPECT_TRUE(e.code() == ExitCode::io_error || e.code() == ExitCode::bad_input)
            << "byte " << i << ": " << e.message();
        ++refused;
      }
    }
  }
  EXPECT_EQ(refused, 3 * good.size());
  // Truncated at every length, too.
  for (std::size_t n = 0; n < good.size(); ++n)
    EXPECT_THROW(parse_checkpoint(good.substr(0, n), path, {"w", "b"}), Error) << n;
  // And the file itself reads back.
  EXPECT_EQ(read_checkpoint(path, {"w", "b"}).step, 7);
}

CheckpointShape small_shape() {
  CheckpointShape shape;
  shape.total_steps = 100;
  shape.rows = 40;
  shape.batch = 5;
  shape.epoch_batches = 8;  // 7 steps: epoch 0, cursor 35; ...
  shape.param_values = {2, 1};
  shape.state_slots = 1;
  return shape;
}

void expect_foreign(const TrainState& state, const CheckpointShape& shape,
                    const std::string& phrase) {
  try {
    validate_checkpoint("run/checkpoint.bin", state, shape);
    ADD_FAILURE() << "accepted; expected: " << phrase;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(e.message().find("checkpoint 'run/checkpoint.bin' does not belong to this run"),
              std::string::npos)
        << e.message();
    EXPECT_NE(e.message().find(phrase), std::string::npos) << e.message();
  }
}

TEST(CheckpointValidation, FieldsThatCannotBelongToTheRunAreRefused) {
  TrainState state = small_state();
  state.step = 7;
  state.epoch = 0;
  state.cursor = 35;
  EXPECT_NO_THROW(validate_checkpoint("run/checkpoint.bin", state, small_shape()));

  TrainState beyond_data = state;
  beyond_data.cursor = 4000;
  expect_foreign(beyond_data, small_shape(), "cursor 4000 do not follow from its step 7");
  TrainState beyond_run = state;
  beyond_run.step = std::int64_t{1} << 62;
  expect_foreign(beyond_run, small_shape(), "outside the run's 0..100");
  TrainState negative = state;
  negative.step = -1;
  expect_foreign(negative, small_shape(), "its step -1");
  TrainState wrong_epoch = state;
  wrong_epoch.epoch = 3;
  expect_foreign(wrong_epoch, small_shape(), "its epoch 3");
  TrainState sizes = state;
  sizes.params[0].value.push_back(0.0);
  expect_foreign(sizes, small_shape(), "parameter 1 has 3 values, the run's 2");
  TrainState slots = state;
  slots.params[1].state0.clear();
  expect_foreign(slots, small_shape(), "parameter 2's optimizer state 0 has 0 values");
  TrainState rng = state;
  rng.epoch_rng = "not a state";
  expect_foreign(rng, small_shape(), "random-number state");
  TrainState future = state;
  future.best_step = 9;
  future.best_val = 0.5;
  expect_foreign(future, small_shape(), "early-stopping record");
  TrainState wall = state;
  wall.wall_seconds = -1;
  expect_foreign(wall, small_shape(), "training time");
}

}  // namespace
}  // namespace descent::test
