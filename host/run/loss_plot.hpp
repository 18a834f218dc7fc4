// The loss chart of a run directory (loss.svg): a self-contained SVG line chart of the training
// and validation loss, written atomically.
//
// Does not: read the metrics (metrics_log.hpp reads them back) or decide when to draw.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace descent {

// One point of a loss curve.
struct LossPoint {
  long step = 0;
  double loss = 0;
};

// An SVG line chart of the train loss (solid) and the validation loss (dashed, with markers):
// title, axes with tick labels, axis names, legend. y is on a log scale when the finite losses
// are all positive and span more than two decades. A series longer than 2000 points is
// decimated to at most 2000 by keeping the minimum and maximum of each of 1000 buckets, so
// spikes survive. Non-finite losses (and, on a log scale, non-positive ones) are not drawn.
// Points are drawn in the order given. `y_name` names the y axis (a [metrics] chart draws a
// metric the same way, under its name).
std::string render_loss_svg(std::span<const LossPoint> train, std::span<const LossPoint> val,
                            std::string_view title = "loss", std::string_view y_name = "loss");

// render_loss_svg, written atomically to `path`. An I/O error throws (ExitCode::io_error).
void write_loss_svg(const std::filesystem::path& path, std::span<const LossPoint> train,
                    std::span<const LossPoint> val, std::string_view title = "loss",
                    std::string_view y_name = "loss");

}  // namespace descent
