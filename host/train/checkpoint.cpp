// Reading and writing checkpoint files (see checkpoint.hpp).
#include "train/checkpoint.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "common/atomic_file.hpp"
#include "common/error.hpp"
#include "common/random.hpp"

namespace descent {

namespace {

// The format's version is part of the header. Version 2: the shuffle's bounded draw changed
// (common/random.hpp), so a version-1 checkpoint would resume with another row order than the
// run that wrote it; it is refused rather than resumed differently. Version 3: a checksum ends
// the file.
constexpr std::string_view kHeader = "DESCENT-CHECKPOINT ";
constexpr std::string_view kMagic = "DESCENT-CHECKPOINT 3\n";
// The last record: "checksum\n", its length (8), and the 64-bit FNV-1a hash of every byte before
// it. FNV-1a changes with any change of a single byte (each step XORs a byte into the state,
// then multiplies by an odd number: both are bijections), so a damaged byte anywhere is seen.
constexpr std::string_view kChecksumKey = "checksum\n";
constexpr std::size_t kTrailer = kChecksumKey.size() + 8 + 8;

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}
static_assert(std::endian::native == std::endian::little, "checkpoints assume little-endian");

void put_record(std::string& out, const std::string& key, std::string_view bytes) {
  out += key;
  out += '\n';
  const std::uint64_t n = bytes.size();
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out.append(bytes.data(), bytes.size());
}

std::string_view as_bytes(const std::vector<double>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double)};
}

std::string number_bytes(double v) {
  return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}
std::string number_bytes(long v) {
  const std::int64_t x = v;
  return std::string(reinterpret_cast<const char*>(&x), sizeof x);
}

[[noreturn]] void damaged(const std::string& path, const std::string& why) {
  throw Error(ExitCode::io_error, "checkpoint '" + path + "' is damaged: " + why);
}

}  // namespace

void write_checkpoint(const std::string& path, const TrainState& state,
                      const std::vector<std::string>& param_names) {
  std::string out(kMagic);
  put_record(out, "step", number_bytes(state.step));
  put_record(out, "epoch", number_bytes(state.epoch));
  put_record(out, "cursor", number_bytes(state.cursor));
  put_record(out, "epoch_rng", state.epoch_rng);
  put_record(out, "best_val", number_bytes(state.best_val));
  put_record(out, "best_step", number_bytes(state.best_step));
  put_record(out, "evals_since_best", number_bytes(state.evals_since_best));
  put_record(out, "stopped_early", number_bytes(static_cast<long>(state.stopped_early)));
  put_record(out, "wall_seconds", number_bytes(state.wall_seconds));
  for (std::size_t i = 0; i < param_names.size(); ++i) {
    const std::string prefix = "param/" + param_names[i] + "/";
    put_record(out, prefix + "value", as_bytes(state.params[i].value));
    put_record(out, prefix + "state0", as_bytes(state.params[i].state0));
    put_record(out, prefix + "state1", as_bytes(state.params[i].state1));
    if (i < state.best_params.size())
      put_record(out, "best/" + param_names[i], as_bytes(state.best_params[i]));
  }
  const std::uint64_t hash = fnv1a(out);
  put_record(out, "checksum", std::string_view(reinterpret_cast<const char*>(&hash), sizeof hash));
  write_file_atomically(path, out);
}

namespace {

// The records of a checkpoint file by key, with typed access; a missing or malformed record is
// damage (ExitCode::io_error) naming the file.
class Records {
 public:
  // `bytes` without the checksum's trailer.
  Records(const std::string& path, std::string_view bytes) : path_(path) {
    std::size_t at = kMagic.size();
    while (at < bytes.size()) {
      const std::size_t newline = bytes.find('\n', at);
      if (newline == std::string::npos || newline + 1 + 8 > bytes.size())
        damaged(path, "truncated record");
      const std::string key(bytes.substr(at, newline - at));
      std::uint64_t n = 0;
      std::memcpy(&n, bytes.data() + newline + 1, sizeof n);
      const std::size_t start = newline + 1 + sizeof n;
      if (n > bytes.size() - start) damaged(path, "record '" + key + "' runs past the end");
      records_[key] = std::string(bytes.substr(start, n));
      at = start + n;
    }
  }

  bool has(const std::string& key) const { return records_.count(key) != 0; }

  const std::string& bytes(const std::string& key) const {
    auto it = records_.find(key);
    if (it == records_.end()) damaged(path_, "record '" + key + "' is missing");
    return it->second;
  }
  long integer(const std::string& key) const {
    std::int64_t v;
    std::memcpy(&v, eight_bytes(key).data(), 8);
    return static_cast<long>(v);
  }
  double real(const std::string& key) const {
    double v;
    std::memcpy(&v, eight_bytes(key).data(), 8);
    return v;
  }
  std::vector<double> array(const std::string& key) const {
    const std::string& r = bytes(key);
    if (r.size() % sizeof(double) != 0) damaged(path_, "record '" + key + "' has the wrong size");
    std::vector<double> v(r.size() / sizeof(double));
    if (!v.empty()) std::memcpy(v.data(), r.data(), r.size());
    return v;
  }

 private:
  const std::string& eight_bytes(const std::string& key) const {
    const std::string& r = bytes(key);
    if (r.size() != 8) damaged(path_, "record '" + key + "' has the wrong size");
    return r;
  }

  const std::string& path_;
  std::map<std::string, std::string> records_;
};

std::string read_whole_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ExitCode::io_error, "cannot open checkpoint '" + path + "'");
  std::ostringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

// The header names the format's version; another version is refused by name.
void check_header(const std::string& path, const std::string& bytes) {
  if (bytes.compare(0, kMagic.size(), kMagic) == 0) return;
  if (bytes.compare(0, kHeader.size(), kHeader) == 0) {
    const std::size_t end = bytes.find('\n', kHeader.size());
    const std::string version =
        bytes.substr(kHeader.size(), std::min<std::size_t>(end, 32) - kHeader.size());
    throw Error(ExitCode::bad_input,
                "checkpoint '" + path + "' has format version " + version + ", this descent " +
                    "reads version " + std::string(kMagic.substr(kHeader.size(), 1)) +
                    ": it was written by another descent, whose run this one cannot continue "
                    "bit-identically; start a new run");
  }
  damaged(path, "it does not start with the checkpoint header");
}

}  // namespace

// The bytes the checksum covers, once it matches.
std::string_view checked_bytes(const std::string& path, const std::string& bytes) {
  if (bytes.size() < kMagic.size() + kTrailer ||
      bytes.compare(bytes.size() - kTrailer, kChecksumKey.size(), kChecksumKey) != 0)
    damaged(path, "it does not end with its checksum (a truncated or damaged file)");
  std::uint64_t length = 0, stored = 0;
  std::memcpy(&length, bytes.data() + bytes.size() - 16, 8);
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  const std::string_view covered(bytes.data(), bytes.size() - kTrailer);
  if (length != 8 || stored != fnv1a(covered))
    damaged(path, "its checksum does not match its contents");
  return covered;
}

TrainState read_checkpoint(const std::string& path, const std::vector<std::string>& param_names) {
  return parse_checkpoint(read_whole_file(path), path, param_names);
}

TrainState parse_checkpoint(const std::string& bytes, const std::string& path,
                            const std::vector<std::string>& param_names) {
  check_header(path, bytes);
  const Records records(path, checked_bytes(path, bytes));
  TrainState state;
  state.step = records.integer("step");
  state.epoch = records.integer("epoch");
  state.cursor = records.integer("cursor");
  state.epoch_rng = records.bytes("epoch_rng");
  state.best_val = records.real("best_val");
  state.best_step = records.integer("best_step");
  state.evals_since_best = records.integer("evals_since_best");
  state.stopped_early = records.integer("stopped_early") != 0;
  state.wall_seconds = records.real("wall_seconds");
  for (const std::string& name : param_names) {
    const std::string prefix = "param/" + name + "/";
    if (!records.has(prefix + "value"))
      throw input_error("checkpoint '" + path + "' has no parameter '" + name +
                        "': it belongs to another experiment");
    state.params.push_back({records.array(prefix + "value"), records.array(prefix + "state0"),
                            records.array(prefix + "state1")});
    if (records.has("best/" + name)) state.best_params.push_back(records.array("best/" + name));
  }
  return state;
}

namespace {

[[noreturn]] void foreign(const std::string& path, const std::string& why) {
  throw Error(ExitCode::bad_input,
              "checkpoint '" + path + "' does not belong to this run: " + why +
                  "; it was not written by this config's run (or was changed since)");
}

void check_sizes(const std::string& path, const std::string& what, std::size_t got,
                 std::size_t want) {
  if (got != want)
    foreign(path,
            what + " has " + std::to_string(got) + " values, the run's " + std::to_string(want));
}

}  // namespace

void validate_checkpoint(const std::string& path, const TrainState& state,
                         const CheckpointShape& shape) {
  const auto at = [](long v) { return std::to_string(v); };
  if (state.step < 0 || state.step > shape.total_steps)
    foreign(path,
            "its step " + at(state.step) + " is outside the run's 0.." + at(shape.total_steps));
  if (shape.minimize) {
    if (state.cursor != 0 || state.epoch != state.step)
      foreign(path, "its epoch " + at(state.epoch) + " and cursor " + at(state.cursor) +
                        " do not follow from its step " + at(state.step));
  } else {
    const long epoch = state.step / shape.epoch_batches;
    const std::int64_t cursor = (state.step % shape.epoch_batches) * shape.batch;
    if (state.epoch != epoch || state.cursor != cursor || cursor >= shape.rows)
      foreign(path, "its epoch " + at(state.epoch) + " and cursor " + at(state.cursor) +
                        " do not follow from its step " + at(state.step) + " (epoch " + at(epoch) +
                        ", cursor " + std::to_string(cursor) + " of " + std::to_string(shape.rows) +
                        " rows)");
  }
  if (state.best_step < -1 || state.best_step > state.step || state.evals_since_best < 0 ||
      (state.best_step == -1) != (state.best_val == std::numeric_limits<double>::infinity()) ||
      std::isnan(state.best_val))
    foreign(path, "its early-stopping record (best step " + at(state.best_step) +
                      ") is not one "
                      "this run could have made by step " +
                      at(state.step));
  if (!std::isfinite(state.wall_seconds) || state.wall_seconds < 0)
    foreign(path, "its training time is not a time");
  if (state.params.size() != shape.param_values.size())
    foreign(path, "it has " + std::to_string(state.params.size()) + " parameters, the run " +
                      std::to_string(shape.param_values.size()));
  for (std::size_t k = 0; k < state.params.size(); ++k) {
    const std::string name = "parameter " + std::to_string(k + 1);
    check_sizes(path, name, state.params[k].value.size(), shape.param_values[k]);
    check_sizes(path, name + "'s optimizer state 0", state.params[k].state0.size(),
                shape.state_slots >= 1 ? shape.param_values[k] : 0);
    check_sizes(path, name + "'s optimizer state 1", state.params[k].state1.size(),
                shape.state_slots >= 2 ? shape.param_values[k] : 0);
    if (k < state.best_params.size())
      check_sizes(path, name + "'s best values", state.best_params[k].size(),
                  shape.param_values[k]);
  }
  if (!state.best_params.empty() && state.best_params.size() != state.params.size())
    foreign(path, "its best values do not cover every parameter");
  try {
    Rng rng;
    rng.restore(state.epoch_rng);
  } catch (const Error&) {
    foreign(path, "its random-number state cannot be read");
  }
}

}  // namespace descent
