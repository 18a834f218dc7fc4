// Fuzz target: the config loader (host/config) on a TOML text, and what follows a loaded
// config without data files: the resolved config must load again and resolve to the same text
// (descent config --resolved, and every run directory's config.resolved.toml, rely on it), and
// the program is built from it (host/program: names, model definitions, shapes, the cost, its
// gradients), with data inputs given shapes from their columns.
// Input: the config text; after a NUL byte, one --set override per line.
// Bad input must end in a descent::Error; a crash, a sanitizer report, another exception or
// an "internal" error is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/experiment.hpp"
#include "fuzz_support.hpp"
#include "program/program.hpp"

namespace {

using namespace descent;

// Split at the first NUL: the config, then overrides one per line.
void split_input(std::string_view input, std::string& config, std::vector<std::string>& overrides) {
  const std::size_t nul = input.find('\0');
  config = std::string(input.substr(0, nul));
  if (nul == std::string_view::npos) return;
  std::string_view rest = input.substr(nul + 1);
  while (!rest.empty()) {
    const std::size_t newline = rest.find('\n');
    overrides.emplace_back(rest.substr(0, newline));
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }
}

// Inputs as the data would shape them: a scalar per column, a vector per list (a range gets
// an arbitrary width, as its columns are known only from the file).
std::vector<InputShape> input_shapes(const ExperimentConfig& config) {
  std::vector<InputShape> shapes;
  for (const InputSpec& in : config.data.inputs) {
    const bool range = in.columns.size() == 1 && in.columns[0].find("..") != std::string::npos;
    const std::int64_t width = range ? 3 : static_cast<std::int64_t>(in.columns.size());
    shapes.push_back({in.name, in.is_vector ? Shape::vector(width) : Shape::scalar()});
  }
  return shapes;
}

// The constants that name a file, given values without reading it (the files are not under
// test here; host/data reads them): a vector of 3, like a range input above.
void stand_in_for_constant_files(ExperimentConfig& config) {
  for (ConstantSpec& c : config.constants) {
    if (!c.from_file()) continue;
    c.shape = Shape::vector(3);
    c.values = {1.0, 2.0, 3.0};
    c.file_read = true;
  }
}

void load_resolve_build(const std::string& text, const std::vector<std::string>& overrides) {
  ExperimentConfig config = load_experiment_from_text("fuzz.toml", text, overrides);
  const std::string resolved = resolved_config_toml(config);
  try {
    const ExperimentConfig again = load_experiment_from_text("fuzz.toml", resolved);
    descent::fuzz::require(resolved_config_toml(again) == resolved,
                           "the resolved config does not resolve to itself");
  } catch (const Error& e) {
    std::fprintf(stderr, "descent-fuzz: the resolved config does not load:\n%s\n%s\n", e.what(),
                 resolved.c_str());
    std::abort();
  }
  stand_in_for_constant_files(config);
  build_program(config, input_shapes(config));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > descent::fuzz::kMaxInputBytes) return 0;
  std::string text;
  std::vector<std::string> overrides;
  split_input(std::string_view(reinterpret_cast<const char*>(data), size), text, overrides);
  descent::fuzz::expect_clean([&] { load_resolve_build(text, overrides); });
  return 0;
}
