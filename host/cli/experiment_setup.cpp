// Config → data → Program (see experiment_setup.hpp).
#include "cli/experiment_setup.hpp"

#include "cli/memory_estimate.hpp"
#include "data/constant_file.hpp"

namespace descent {

Experiment set_up_experiment(const std::string& config_path,
                             const std::vector<std::string>& overrides) {
  Experiment e;
  e.config = load_experiment(config_path, overrides);
  read_constant_files(e.config);
  const std::int64_t available = cli::available_memory();
  cli::check_data_fits(e.config, available);
  std::vector<InputShape> shapes;
  if (e.config.data.present) {
    e.dataset = load_dataset(e.config.data, e.config.data.seed);
    for (const DatasetInput& in : e.dataset->inputs) shapes.push_back({in.name, in.shape});
  }
  e.program = std::make_unique<Program>(build_program(e.config, shapes));
  e.plan = plan_program(*e.program, e.config.train.plan);
  cli::check_run_fits(e.config, *e.program, e.plan, cli::available_memory());
  return e;
}

}  // namespace descent
