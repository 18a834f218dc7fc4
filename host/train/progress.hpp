// The progress line of a training run: one line that rewrites itself on a terminal, periodic
// log lines otherwise, and nothing with --quiet.
#pragma once

#include <chrono>

#include "run/metrics_log.hpp"

namespace descent {

class Progress {
 public:
  Progress(bool quiet, long total_steps);
  // Shows `row` unless one was shown less than 100 ms (terminal) or 2 s (log) ago; `force`
  // shows it anyway. `epochs` is 0 when the run counts steps, not epochs.
  void update(const MetricsRow& row, long epochs, bool force);
  // Ends the terminal line.
  void finish();

 private:
  bool quiet_;
  long total_;
  bool tty_;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace descent
