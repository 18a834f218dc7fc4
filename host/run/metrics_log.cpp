// The metrics logs of a run directory: rows appended as training logs them, truncated to the
// checkpoint's step when a run resumes, and read back for the loss chart (see metrics_log.hpp).
#include "run/metrics_log.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>
#include <vector>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/json.hpp"

namespace descent {

namespace {

// "cannot <verb> <path>: <reason>", with the reason taken from errno when there is one.
Error file_error(std::string_view verb, const std::filesystem::path& path,
                 std::string reason = {}) {
  if (reason.empty() && errno != 0) reason = std::strerror(errno);
  std::string message = fmt::format("cannot {} {}", verb, path.string());
  if (!reason.empty()) message += ": " + reason;
  return Error(ExitCode::io_error, std::move(message));
}

// ---------------------------------------------------------------------------------------------
// Metrics rows

std::string csv_cell(const std::optional<double>& v) {
  return v ? format_shortest(*v) : std::string();
}
Json json_value(const std::optional<double>& v) { return v ? Json(*v) : Json(); }

// The i-th value of a row's metrics, absent when the row has none.
std::optional<double> nth(const std::vector<std::optional<double>>& values, std::size_t i) {
  return i < values.size() ? values[i] : std::nullopt;
}

// CSV numbers are the shortest round-trip decimals; non-finite ones read nan, inf, -inf.
std::string csv_line(const MetricsRow& row, const std::vector<std::string>& names) {
  std::string line =
      fmt::format("{},{},{},{},{},{},{},{}", row.step, row.epoch, format_shortest(row.loss),
                  csv_cell(row.val_loss), format_shortest(row.lr), format_shortest(row.grad_norm),
                  format_shortest(row.samples_per_s), format_shortest(row.wall_s));
  for (std::size_t i = 0; i < names.size(); ++i)
    line += "," + csv_cell(nth(row.metrics, i)) + "," + csv_cell(nth(row.val_metrics, i));
  return line + "\n";
}

std::string json_line(const MetricsRow& row, const std::vector<std::string>& names) {
  Json object = Json::object()
                    .set("step", row.step)
                    .set("epoch", row.epoch)
                    .set("loss", row.loss)
                    .set("val_loss", row.val_loss ? Json(*row.val_loss) : Json())
                    .set("lr", row.lr)
                    .set("grad_norm", row.grad_norm)
                    .set("samples_per_s", row.samples_per_s)
                    .set("wall_s", row.wall_s);
  for (std::size_t i = 0; i < names.size(); ++i) {
    object.set(names[i], json_value(nth(row.metrics, i)));
    object.set("val_" + names[i], json_value(nth(row.val_metrics, i)));
  }
  return object.dump() + "\n";
}

// The whole file, or nullopt when it does not exist.
std::optional<std::string> read_if_exists(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::nullopt;
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error("read", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The complete lines of `text`, each without its '\n'. A last line with no '\n' was torn by a
// crash in the middle of a write and is left out.
std::vector<std::string_view> complete_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  for (std::size_t end = text.find('\n'); end != std::string_view::npos;
       end = text.find('\n', begin)) {
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

std::optional<long> parse_long(std::string_view text) {
  long value = 0;
  const auto result = std::from_chars(text.data(), text.data() + text.size(), value);
  if (result.ec != std::errc() || result.ptr == text.data()) return std::nullopt;
  return value;
}

// The step of a CSV row: its first field.
std::optional<long> csv_row_step(std::string_view line) {
  return parse_long(line.substr(0, line.find(',')));
}

// The step of a JSON Lines row: the number after "step": (we write it first, but look it up).
std::optional<long> jsonl_row_step(std::string_view line) {
  constexpr std::string_view key = "\"step\":";
  const std::size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = line.substr(at + key.size());
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return parse_long(rest);
}

// Keeps the rows of `text` whose step is <= last_step; the first `header_lines` lines are kept
// as they are.
std::string truncate_rows(const std::filesystem::path& path, std::string_view text,
                          std::size_t header_lines, long last_step,
                          std::optional<long> (*row_step)(std::string_view)) {
  const std::vector<std::string_view> lines = complete_lines(text);
  std::string kept;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    bool keep = i < header_lines;
    if (!keep) {
      const std::optional<long> step = row_step(lines[i]);
      if (!step) {
        throw Error(
            ExitCode::io_error,
            fmt::format("cannot resume {}: line {} has no readable step", path.string(), i + 1));
      }
      keep = *step <= last_step;
    }
    if (keep) {
      kept += lines[i];
      kept += '\n';
    }
  }
  return kept;
}

}  // namespace

void read_loss_points(const std::filesystem::path& run_dir, std::vector<LossPoint>& train,
                      std::vector<LossPoint>& val) {
  const auto text = read_if_exists(run_dir / MetricsLog::kCsvName);
  if (!text) return;
  const std::vector<std::string_view> lines = complete_lines(*text);
  // Columns as kCsvHeader names them: step, epoch, loss, val_loss, ...
  for (std::size_t k = 1; k < lines.size(); ++k) {
    std::vector<std::string_view> cells;
    std::string_view rest = lines[k];
    for (std::size_t comma = rest.find(','); cells.size() < 4; comma = rest.find(',')) {
      cells.push_back(rest.substr(0, comma));
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    const std::optional<long> step = csv_row_step(lines[k]);
    if (!step || cells.size() < 4) continue;
    auto number = [](std::string_view cell) {
      return std::strtod(std::string(cell).c_str(), nullptr);
    };
    train.push_back({*step, number(cells[2])});
    if (!cells[3].empty()) val.push_back({*step, number(cells[3])});
  }
}

std::string MetricsLog::csv_header(const std::vector<std::string>& metric_names) {
  std::string header(kCsvHeader);
  for (const std::string& name : metric_names) header += "," + name + ",val_" + name;
  return header;
}

void read_metric_points(const std::filesystem::path& run_dir, const std::string& name,
                        std::vector<LossPoint>& train, std::vector<LossPoint>& val) {
  const auto text = read_if_exists(run_dir / MetricsLog::kCsvName);
  if (!text) return;
  const std::vector<std::string_view> lines = complete_lines(*text);
  if (lines.empty()) return;
  const auto cells_of = [](std::string_view line) {
    std::vector<std::string_view> cells;
    for (std::size_t comma = line.find(','); true; comma = line.find(',')) {
      cells.push_back(line.substr(0, comma));
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    return cells;
  };
  const std::vector<std::string_view> header = cells_of(lines[0]);
  const std::string val_name = "val_" + name;
  std::size_t column = 0, val_column = 0;
  for (std::size_t c = 0; c < header.size(); ++c) {
    if (header[c] == name) column = c;
    if (header[c] == val_name) val_column = c;
  }
  if (column == 0 || val_column == 0) return;  // column 0 is the step
  for (std::size_t k = 1; k < lines.size(); ++k) {
    const std::vector<std::string_view> cells = cells_of(lines[k]);
    const std::optional<long> step = csv_row_step(lines[k]);
    if (!step || cells.size() <= std::max(column, val_column)) continue;
    const auto number = [](std::string_view cell) {
      return std::strtod(std::string(cell).c_str(), nullptr);
    };
    if (!cells[column].empty()) train.push_back({*step, number(cells[column])});
    if (!cells[val_column].empty()) val.push_back({*step, number(cells[val_column])});
  }
}

MetricsLog::MetricsLog(const std::filesystem::path& run_dir, std::vector<std::string> metric_names)
    : metric_names_(std::move(metric_names)),
      csv_path_(run_dir / kCsvName),
      jsonl_path_(run_dir / kJsonlName) {
  std::error_code ec;
  std::filesystem::create_directories(run_dir, ec);
  if (ec) throw file_error("create the directory", run_dir, ec.message());
}

void MetricsLog::open_for_append() {
  errno = 0;
  csv_.open(csv_path_, std::ios::binary | std::ios::app);
  if (!csv_) throw file_error("open for appending", csv_path_);
  jsonl_.open(jsonl_path_, std::ios::binary | std::ios::app);
  if (!jsonl_) throw file_error("open for appending", jsonl_path_);
}

MetricsLog MetricsLog::create(const std::filesystem::path& run_dir,
                              const std::vector<std::string>& metric_names) {
  MetricsLog log(run_dir, metric_names);
  write_file_atomically(log.csv_path_.string(), csv_header(metric_names) + "\n");
  write_file_atomically(log.jsonl_path_.string(), "");
  log.open_for_append();
  return log;
}

MetricsLog MetricsLog::resume(const std::filesystem::path& run_dir, long last_step,
                              const std::vector<std::string>& metric_names) {
  MetricsLog log(run_dir, metric_names);
  const std::string header = csv_header(metric_names);
  std::string csv = header + "\n";
  if (const std::optional<std::string> old = read_if_exists(log.csv_path_)) {
    const std::vector<std::string_view> lines = complete_lines(*old);
    if (!lines.empty() && lines.front() != header) {
      throw Error(ExitCode::io_error,
                  fmt::format("cannot resume {}: its header is '{}', expected '{}'",
                              log.csv_path_.string(), lines.front(), header));
    }
    if (!lines.empty()) csv = truncate_rows(log.csv_path_, *old, 1, last_step, csv_row_step);
  }
  std::string jsonl;
  if (const std::optional<std::string> old = read_if_exists(log.jsonl_path_)) {
    jsonl = truncate_rows(log.jsonl_path_, *old, 0, last_step, jsonl_row_step);
  }

  write_file_atomically(log.csv_path_.string(), csv);
  write_file_atomically(log.jsonl_path_.string(), jsonl);
  log.open_for_append();
  return log;
}

void MetricsLog::append(const MetricsRow& row) {
  errno = 0;
  csv_ << csv_line(row, metric_names_);
  csv_.flush();
  if (!csv_) throw file_error("append to", csv_path_);
  jsonl_ << json_line(row, metric_names_);
  jsonl_.flush();
  if (!jsonl_) throw file_error("append to", jsonl_path_);
}

}  // namespace descent
