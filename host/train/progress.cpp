// The progress line (see progress.hpp).
#include "train/progress.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace descent {

Progress::Progress(bool quiet, long total_steps, std::vector<std::string> metric_names)
    : quiet_(quiet),
      total_(total_steps),
      tty_(isatty(STDERR_FILENO) != 0),
      metric_names_(std::move(metric_names)) {}

void Progress::update(const MetricsRow& row, long epochs, bool force) {
  if (quiet_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_ < std::chrono::milliseconds(tty_ ? 100 : 2000)) return;
  last_ = now;
  const double fraction = static_cast<double>(row.step) / static_cast<double>(std::max(1L, total_));
  const double eta = fraction > 0 ? row.wall_s * (1 - fraction) / fraction : 0;
  std::string line = fmt::format("step {}/{}", row.step, total_);
  if (epochs > 0) line += fmt::format("  epoch {}/{}", std::min(row.epoch + 1, epochs), epochs);
  line += fmt::format("  loss {:.6g}", row.loss);
  if (row.val_loss) line += fmt::format("  val {:.6g}", *row.val_loss);
  for (std::size_t i = 0; i < metric_names_.size(); ++i) {
    if (i < row.metrics.size() && row.metrics[i])
      line += fmt::format("  {} {:.4g}", metric_names_[i], *row.metrics[i]);
    if (i < row.val_metrics.size() && row.val_metrics[i])
      line += fmt::format("  val_{} {:.4g}", metric_names_[i], *row.val_metrics[i]);
  }
  line += fmt::format("  lr {:.3g}  {:.3g} samples/s  ETA {:.0f}s", row.lr, row.samples_per_s, eta);
  if (tty_) {
    fmt::print(stderr, "\r{:<100}", line);
    std::fflush(stderr);
  } else {
    spdlog::info("{}", line);
  }
}

void Progress::finish() {
  if (!quiet_ && tty_) fmt::print(stderr, "\n");
}

}  // namespace descent
