// The loss chart of a run directory as a self-contained SVG (see loss_plot.hpp).
#include "run/loss_plot.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"

namespace descent {

namespace {

// The canvas, in SVG user units (pixels): a plot area inside margins for the title, the tick
// labels and the axis names.
constexpr double kWidth = 800;
constexpr double kHeight = 500;
constexpr double kLeft = 84;
constexpr double kRight = 24;
constexpr double kTop = 48;
constexpr double kBottom = 56;
constexpr double kPlotWidth = kWidth - kLeft - kRight;
constexpr double kPlotHeight = kHeight - kTop - kBottom;

constexpr std::size_t kMaxPointsPerSeries = 2000;

std::string xml_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 forbids most control characters even as references; drop them.
        if (static_cast<unsigned char>(ch) >= 0x20 || ch == '\t' || ch == '\n') out += ch;
    }
  }
  return out;
}

// A tick label: up to 6 significant digits, no trailing zeros ("0.001", "2.5", "1e+06").
std::string tick_label(double value) { return fmt::format("{:.6g}", value); }

// One axis: the domain [lo, hi] that maps onto the plot area, and where the ticks go.
struct Axis {
  double lo = 0;
  double hi = 1;
  bool log = false;  // lo, hi and the ticks are then log10 of the values
  std::vector<double> ticks;

  // Where a value (or, for tick_fraction, a tick) falls: 0 at lo, 1 at hi.
  double fraction(double value) const { return tick_fraction(log ? std::log10(value) : value); }
  double tick_fraction(double tick) const { return (tick - lo) / (hi - lo); }
  std::string label(double tick) const { return tick_label(log ? std::pow(10.0, tick) : tick); }
};

// A "nice" tick spacing for about `count` intervals over `span`: 1, 2 or 5 times a power of 10.
double nice_step(double span, double count) {
  const double raw = span / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / magnitude;
  const double nice = r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10;
  return nice * magnitude;
}

// A linear axis over [lo, hi], widened to whole tick steps; a zero span is padded first, so
// that a constant series sits in the middle of the plot.
Axis linear_axis(double lo, double hi, double min_step) {
  if (hi <= lo) {
    const double pad = lo != 0 ? std::abs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double step = std::max(nice_step(hi - lo, 5), min_step);
  Axis axis;
  axis.lo = std::floor(lo / step) * step;
  axis.hi = std::ceil(hi / step) * step;
  const auto intervals = static_cast<long>(std::llround((axis.hi - axis.lo) / step));
  for (long k = 0; k <= intervals; ++k) {
    const double tick = axis.lo + static_cast<double>(k) * step;
    axis.ticks.push_back(std::abs(tick) < step * 1e-9 ? 0.0 : tick);  // no "-1.4e-17"
  }
  return axis;
}

// A log axis over [lo, hi] (both > 0), widened to whole decades, a tick every decade or every
// few decades when there are many.
Axis log_axis(double lo, double hi) {
  Axis axis;
  axis.log = true;
  axis.lo = std::floor(std::log10(lo));
  axis.hi = std::max(std::ceil(std::log10(hi)), axis.lo + 1);
  const double decades = axis.hi - axis.lo;
  const double stride = std::max(1.0, std::ceil(decades / 8));
  for (double tick = axis.lo; tick <= axis.hi; tick += stride) axis.ticks.push_back(tick);
  return axis;
}

// The points that can be drawn on the chosen y scale.
std::vector<LossPoint> drawable(std::span<const LossPoint> series, bool log_y) {
  std::vector<LossPoint> out;
  out.reserve(series.size());
  for (const LossPoint& p : series) {
    if (std::isfinite(p.loss) && (!log_y || p.loss > 0)) out.push_back(p);
  }
  return out;
}

// At most kMaxPointsPerSeries points: the lowest and highest loss of each of
// kMaxPointsPerSeries/2 equal runs of points, in their original order, so that the envelope
// of the curve (spikes included) survives.
std::vector<LossPoint> decimate(const std::vector<LossPoint>& points) {
  if (points.size() <= kMaxPointsPerSeries) return points;
  const std::size_t buckets = kMaxPointsPerSeries / 2;
  std::vector<LossPoint> out;
  out.reserve(kMaxPointsPerSeries);
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t begin = b * points.size() / buckets;
    const std::size_t end = (b + 1) * points.size() / buckets;
    std::size_t low = begin;
    std::size_t high = begin;
    for (std::size_t i = begin; i < end; ++i) {
      if (points[i].loss < points[low].loss) low = i;
      if (points[i].loss > points[high].loss) high = i;
    }
    out.push_back(points[std::min(low, high)]);
    if (low != high) out.push_back(points[std::max(low, high)]);
  }
  return out;
}

struct Series {
  std::string_view name;   // the polyline's class
  std::string_view label;  // in the legend
  std::string_view color;
  std::string_view dash;  // stroke-dasharray, or empty for a solid line
  std::vector<LossPoint> points;
};

double x_pixel(const Axis& x, double step) { return kLeft + x.fraction(step) * kPlotWidth; }
double y_pixel(const Axis& y, double loss) {
  return kTop + kPlotHeight - y.fraction(loss) * kPlotHeight;
}

void draw_series(std::string& svg, const Series& s, const Axis& x, const Axis& y) {
  if (s.points.empty()) return;
  svg += fmt::format(R"(<polyline class="{}" fill="none" stroke="{}" stroke-width="1.5")", s.name,
                     s.color);
  if (!s.dash.empty()) svg += fmt::format(R"( stroke-dasharray="{}")", s.dash);
  svg += R"( stroke-linejoin="round" points=")";
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    if (i > 0) svg += ' ';
    const LossPoint& p = s.points[i];
    svg +=
        fmt::format("{:.2f},{:.2f}", x_pixel(x, static_cast<double>(p.step)), y_pixel(y, p.loss));
  }
  svg += "\"/>\n";
  // Markers where a line alone would not show the data: one point, or a sparse series.
  if (s.points.size() <= 50) {
    svg += fmt::format(R"(<g class="{}-markers" fill="{}">)", s.name, s.color);
    for (const LossPoint& p : s.points) {
      svg += fmt::format(R"(<circle cx="{:.2f}" cy="{:.2f}" r="2.5"/>)",
                         x_pixel(x, static_cast<double>(p.step)), y_pixel(y, p.loss));
    }
    svg += "</g>\n";
  }
}

// Grid lines, tick labels, the frame and the axis names.
void draw_axes(std::string& svg, const Axis& x, const Axis& y, std::string_view y_name) {
  auto x_tick = [&](double tick) { return kLeft + x.tick_fraction(tick) * kPlotWidth; };
  auto y_tick = [&](double tick) {
    return kTop + kPlotHeight - y.tick_fraction(tick) * kPlotHeight;
  };
  svg += R"(<g class="grid" stroke="#e5e5e5" stroke-width="1">)"
         "\n";
  for (double tick : y.ticks) {
    svg += fmt::format(R"(<line x1="{}" y1="{:.2f}" x2="{}" y2="{:.2f}"/>)"
                       "\n",
                       kLeft, y_tick(tick), kLeft + kPlotWidth, y_tick(tick));
  }
  for (double tick : x.ticks) {
    svg += fmt::format(R"(<line x1="{:.2f}" y1="{}" x2="{:.2f}" y2="{}"/>)"
                       "\n",
                       x_tick(tick), kTop, x_tick(tick), kTop + kPlotHeight);
  }
  svg += "</g>\n";
  svg += R"(<g class="tick-labels" fill="#333">)"
         "\n";
  for (double tick : y.ticks) {
    svg += fmt::format(R"(<text x="{}" y="{:.2f}" text-anchor="end" dy="4">{}</text>)"
                       "\n",
                       kLeft - 6, y_tick(tick), y.label(tick));
  }
  for (double tick : x.ticks) {
    svg += fmt::format(R"(<text x="{:.2f}" y="{}" text-anchor="middle">{}</text>)"
                       "\n",
                       x_tick(tick), kTop + kPlotHeight + 18, x.label(tick));
  }
  svg += "</g>\n";

  svg += fmt::format(R"(<rect class="frame" x="{}" y="{}" width="{}" height="{}" fill="none" )"
                     R"(stroke="#333"/>)"
                     "\n",
                     kLeft, kTop, kPlotWidth, kPlotHeight);
  svg += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle">step</text>)"
                     "\n",
                     kLeft + kPlotWidth / 2, kHeight - 14);
  svg += fmt::format(
      R"svg(<text x="18" y="{0}" text-anchor="middle" transform="rotate(-90 18 {0})">{1}</text>)svg"
      "\n",
      kTop + kPlotHeight / 2, y.log ? xml_escape(y_name) + " (log scale)" : xml_escape(y_name));
}

// Top right inside the plot, one entry per series that has points.
void draw_legend(std::string& svg, std::span<const Series> series) {
  double legend_y = kTop + 16;
  const double legend_x = kLeft + kPlotWidth - 110;
  svg += R"(<g class="legend">)"
         "\n";
  for (const Series& s : series) {
    if (s.points.empty()) continue;
    svg += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="2")",
                       legend_x, legend_y, legend_x + 24, legend_y, s.color);
    if (!s.dash.empty()) svg += fmt::format(R"( stroke-dasharray="{}")", s.dash);
    svg += "/>";
    svg += fmt::format(R"(<text x="{}" y="{}" dy="4">{}</text>)"
                       "\n",
                       legend_x + 30, legend_y, s.label);
    legend_y += 18;
  }
  svg += "</g>\n";
}

}  // namespace

std::string render_loss_svg(std::span<const LossPoint> train, std::span<const LossPoint> val,
                            std::string_view title, std::string_view y_name) {
  // The y scale: log when all finite losses are positive and span more than two decades.
  double lo = std::numeric_limits<double>::infinity();
  double hi = -std::numeric_limits<double>::infinity();
  long first_step = 0;
  long last_step = 0;
  bool any = false;
  for (std::span<const LossPoint> series : {train, val}) {
    for (const LossPoint& p : series) {
      if (!std::isfinite(p.loss)) continue;
      lo = std::min(lo, p.loss);
      hi = std::max(hi, p.loss);
      first_step = any ? std::min(first_step, p.step) : p.step;
      last_step = any ? std::max(last_step, p.step) : p.step;
      any = true;
    }
  }
  if (!any) {
    lo = 0;
    hi = 1;
  }
  const bool log_y = any && lo > 0 && hi / lo > 100;
  const Axis y = log_y ? log_axis(lo, hi) : linear_axis(lo, hi, 0);
  // Steps are whole numbers: never a tick between two of them.
  const Axis x = linear_axis(static_cast<double>(first_step), static_cast<double>(last_step), 1);

  const Series series[] = {
      {"train", "train", "#1f77b4", "", decimate(drawable(train, log_y))},
      {"val", "validation", "#ff7f0e", "6 3", decimate(drawable(val, log_y))},
  };

  std::string svg;
  svg += R"(<?xml version="1.0" encoding="UTF-8"?>)"
         "\n";
  svg += fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="{1}" viewBox="0 0 {0} {1}" )"
      R"(font-family="sans-serif" font-size="12">)"
      "\n",
      kWidth, kHeight);
  const std::string escaped_title = xml_escape(title);
  svg += fmt::format("<title>{}</title>\n", escaped_title);
  svg += R"(<rect width="100%" height="100%" fill="white"/>)"
         "\n";
  svg += fmt::format(R"(<text x="{}" y="28" text-anchor="middle" font-size="16">{}</text>)"
                     "\n",
                     kLeft + kPlotWidth / 2, escaped_title);

  draw_axes(svg, x, y, y_name);

  // The curves, clipped to the plot area.
  svg += fmt::format(R"(<clipPath id="plot-area"><rect x="{}" y="{}" width="{}" height="{}"/>)"
                     R"(</clipPath>)"
                     "\n",
                     kLeft, kTop, kPlotWidth, kPlotHeight);
  svg += R"svg(<g clip-path="url(#plot-area)">)svg"
         "\n";
  for (const Series& s : series) draw_series(svg, s, x, y);
  svg += "</g>\n";
  if (!any) {
    svg += fmt::format(R"(<text x="{}" y="{}" text-anchor="middle" fill="#999">)"
                       R"(no finite loss values to plot</text>)"
                       "\n",
                       kLeft + kPlotWidth / 2, kTop + kPlotHeight / 2);
  }

  draw_legend(svg, series);
  svg += "</svg>\n";
  return svg;
}

void write_loss_svg(const std::filesystem::path& path, std::span<const LossPoint> train,
                    std::span<const LossPoint> val, std::string_view title,
                    std::string_view y_name) {
  write_file_atomically(path.string(), render_loss_svg(train, val, title, y_name));
}

}  // namespace descent
