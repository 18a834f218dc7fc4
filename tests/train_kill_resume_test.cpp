// Runs that cannot be stranded (issue "Hostile input", items 3 and the kill-and-resume
// must-show; host/run/run_directory.cpp, host/train/trainer.cpp):
//   - `descent train` killed with SIGKILL at 20 moments of one run (two as its directory appears,
//     before the first checkpoint; four while a checkpoint is being written, its temporary file
//     on disk; the rest at random times), each time resumed, ends with params and metrics
//     (timing columns out) byte-identical to an uninterrupted run;
//   - a second process cannot take a run directory that a run holds (exit 4, "in use");
//   - a checkpoint whose fields do not fit the run (a cursor beyond the data), with a good
//     checksum, is refused by name (exit 2) and the run's files are left as they were;
//   - an error of the first batch (a class index out of range) is found before the run
//     directory is created.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "train/checkpoint.hpp"

namespace descent::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kRunSettings = {
    "--set", "train.epochs=150", "--set", "train.checkpoint_every=3", "--set", "train.log_every=1"};

std::vector<std::string> fresh_args(const fs::path& run) {
  std::vector<std::string> args = {
      "train", config_path("mlp.toml").string(), "--out", run.string(), "--quiet", "--device",
      "cpu"};
  args.insert(args.end(), kRunSettings.begin(), kRunSettings.end());
  return args;
}

std::vector<std::string> resume_args(const fs::path& run) {
  return {"train", "--resume", run.string(), "--quiet", "--device", "cpu"};
}

// metrics.csv without its timing columns (samples_per_s, wall_s), and the parameters.
std::string results_of(const fs::path& run) {
  std::string text;
  for (const std::vector<std::string>& row : read_csv_rows(run / "metrics.csv")) {
    // Every column but the timings (samples_per_s, wall_s: the 7th and 8th; [metrics] follow).
    for (std::size_t i = 0; i < row.size(); ++i)
      if (i != 6 && i != 7) text += row[i] + ",";
    text += "\n";
  }
  text += read_file(run / "params.json");
  for (const auto& entry : fs::directory_iterator(run / "params"))
    text += entry.path().filename().string() + read_file(entry.path());
  return text;
}

bool any_temporary_named(const fs::path& dir, const std::string& prefix) {
  if (!fs::exists(dir)) return false;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().rfind(prefix + ".tmp-", 0) == 0) return true;
  return false;
}

// Polls `ready` until it holds or the child ends, then SIGKILLs the child. Returns whether the
// kill landed (the child was still running).
bool kill_when(pid_t pid, const std::function<bool()>& ready) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;
    if (ready()) break;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  ::kill(pid, SIGKILL);
  const int status = wait_for(pid);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

TEST(KillAndResume, TwentyKillsAtAnyMomentEndIdenticalToAnUninterruptedRun) {
  TempDir tmp("descent_kills");
  const fs::path reference = tmp / "reference";
  const auto started = Clock::now();
  ASSERT_EQ(run_descent(fresh_args(reference), tmp.path()).exit_code, 0);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();

  const fs::path run = tmp / "run";
  std::mt19937_64 rng(2026);
  int before_first = 0, during_write = 0, landed = 0;
  const fs::path out = tmp / ".out", err = tmp / ".err";
  // The first two kills, each of a fresh start, as the directory appears: before the first
  // checkpoint. That window is a few synced writes, which a fast machine (the GPU machine's
  // temporary files) passes between two polls, so a start whose kill came after it is made again
  // (from scratch) until one lands in it.
  for (int kill = 0; kill < 2; ++kill) {
    bool hit = false;
    for (int attempt = 0; attempt < 40; ++attempt) {
      fs::remove_all(run);
      const pid_t pid = spawn_descent(fresh_args(run), out, err);
      hit = kill_when(pid, [&] { return fs::exists(run / "run.lock"); });
      if (hit && !fs::exists(run / "checkpoint.bin")) {
        ++before_first;
        break;
      }
    }
    landed += hit;
  }
  for (int kill = 2; kill < 20; ++kill) {
    // A run killed before its config was written has nothing to resume: it is started again
    // with the same --out, which takes over the stranded directory.
    const bool first_process = !fs::exists(run / "config.resolved.toml");
    const pid_t pid = spawn_descent(first_process ? fresh_args(run) : resume_args(run), out, err);
    std::function<bool()> ready;
    if (kill < 6) {  // while a checkpoint is being written
      ready = [&] { return any_temporary_named(run, "checkpoint.bin"); };
    } else {  // at a random moment of what is left
      const auto at =
          Clock::now() + std::chrono::microseconds(static_cast<long>(
                             std::uniform_real_distribution<double>(0, 0.06)(rng) * seconds * 1e6));
      ready = [at] { return Clock::now() >= at; };
    }
    const bool hit = kill_when(pid, ready);
    landed += hit;
    if (hit && !fs::exists(run / "checkpoint.bin")) ++before_first;
    if (hit && any_temporary_named(run, "checkpoint.bin")) ++during_write;
  }
  // The run's last resume, to its end.
  const CliResult done = run_descent(
      fs::exists(run / "config.resolved.toml") ? resume_args(run) : fresh_args(run), tmp.path());
  ASSERT_EQ(done.exit_code, 0) << done.err;
  EXPECT_EQ(results_of(run), results_of(reference));
  EXPECT_TRUE(leftover_temporaries(run).empty());
  std::printf(
      "20 kills: %d landed in a running process, %d before the first checkpoint, %d "
      "during a checkpoint write\n",
      landed, before_first, during_write);
  EXPECT_GE(landed, 15);
  EXPECT_GE(before_first, 1);
  EXPECT_GE(during_write, 1);
}

TEST(RunDirectoryLock, ASecondProcessCannotTakeARunThatIsInUse) {
  TempDir tmp("descent_lock");
  const fs::path run = tmp / "run";
  const pid_t first = spawn_descent(fresh_args(run), tmp / ".out1", tmp / ".err1");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (!fs::exists(run / "checkpoint.bin") && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const CliResult second = run_descent(resume_args(run), tmp.path());
  EXPECT_EQ(second.exit_code, 4) << second.err;
  EXPECT_NE(second.err.find("is in use by another descent process"), std::string::npos)
      << second.err;
  EXPECT_EQ(exit_code_of(wait_for(first)), 0);
  EXPECT_EQ(run_descent(resume_args(run), tmp.path()).exit_code, 0);  // free again
}

TEST(ForeignCheckpoint, ACursorBeyondTheDataIsRefusedByName) {
  TempDir tmp("descent_foreign_checkpoint");
  const fs::path run = tmp / "run";
  std::vector<std::string> args = fresh_args(run);
  args.push_back("--set");
  args.push_back("train.epochs=2");
  ASSERT_EQ(run_descent(args, tmp.path()).exit_code, 0);
  const std::string params = read_file(run / "params.json");
  TrainState state = read_checkpoint((run / "checkpoint.bin").string(), {"W1", "b1", "w2", "b2"});
  state.step = 1;
  state.cursor = 1'000'000;  // the data has 300 training rows
  write_checkpoint((run / "checkpoint.bin").string(), state, {"W1", "b1", "w2", "b2"});
  const CliResult r = run_descent(resume_args(run), tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("does not belong to this run: its epoch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cursor 1000000"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(run / "params.json"), params);
}

TEST(FirstBatch, ItsErrorsComeBeforeTheRunDirectory) {
  TempDir tmp("descent_first_batch");
  write_file(tmp / "d.csv", "x,y\n0.5,0\n1.5,4\n");  // class 4 of onehot(y, 3)
  write_file(tmp / "c.toml",
             "[data]\nfile = \"d.csv\"\ninputs = { x = \"x\", y = \"y\" }\n"
             "[params]\nw = { shape = [3] }\n"
             "[cost]\nloss = \"logsumexp(w*x) - dot(w*x, onehot(y, 3))\"\n");
  const CliResult r = run_descent(
      {"train", (tmp / "c.toml").string(), "--out", (tmp / "run").string()}, tmp.path());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("onehot index 4"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "run"));
}

}  // namespace
}  // namespace descent::test
