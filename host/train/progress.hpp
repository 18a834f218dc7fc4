// The progress line of a training run: one line that rewrites itself on a terminal, periodic
// log lines otherwise, and nothing with --quiet.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "run/metrics_log.hpp"

namespace descent {

class Progress {
 public:
  // `metric_names`: the run's [metrics], shown after the losses when a row has them.
  Progress(bool quiet, long total_steps, std::vector<std::string> metric_names = {});
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
  std::vector<std::string> metric_names_;
};

}  // namespace descent
