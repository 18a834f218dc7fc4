// Opening a finished run (see trained_run.hpp).
#include "predict/trained_run.hpp"

#include <filesystem>

#include "common/error.hpp"
#include "data/constant_file.hpp"
#include "data/npy.hpp"
#include "run/run_directory.hpp"

namespace fs = std::filesystem;

namespace descent {

namespace {

std::string shape_text(const std::vector<std::size_t>& dims) {
  std::string text = "(";
  for (std::size_t i = 0; i < dims.size(); ++i)
    text += (i == 0 ? "" : ", ") + std::to_string(dims[i]);
  return text + (dims.size() == 1 ? ",)" : ")");
}

std::vector<double> read_param(const fs::path& path, const ProgramParam& p) {
  if (!fs::exists(path))
    throw Error(ExitCode::io_error, "the run has no final values of the parameter '" + p.name +
                                        "' ('" + path.string() + "' is missing)");
  NpyArray array = read_npy(path.string());
  std::vector<std::size_t> expected;
  for (int a = 0; a < p.shape.rank; ++a)
    expected.push_back(static_cast<std::size_t>(p.shape.dims[a]));
  if (array.shape != expected)
    throw input_error("'" + path.string() + "' holds an array of shape " + shape_text(array.shape) +
                      ", but the parameter '" + p.name + "' has shape " + shape_text(expected) +
                      " in the run's config");
  return std::move(array.values);
}

}  // namespace

TrainedRun open_trained_run(const std::string& dir) {
  const fs::path root(dir);
  const fs::path config = root / RunDirectory::kResolvedConfigFile;
  if (!fs::is_directory(root) || !fs::exists(config))
    throw Error(ExitCode::io_error, "'" + dir + "' is not a run directory (no " +
                                        RunDirectory::kResolvedConfigFile +
                                        "); pass the folder that descent train wrote");
  TrainedRun run;
  run.dir = dir;
  run.config = load_experiment(config.string());
  read_constant_files(run.config);
  if (run.config.minimize())
    throw input_error("'" + dir +
                      "' is a minimize-mode run: it has no data and no model to apply to rows "
                      "(its results are in params.json and starts_cost.npy)");
  if (!fs::exists(root / RunDirectory::kParamsFile))
    throw Error(ExitCode::io_error, "the run '" + dir +
                                        "' has no final parameters: it did not finish (continue "
                                        "it with: descent train --resume " +
                                        dir + ")");
  const fs::path data = root / RunDirectory::kDataFile;
  if (!fs::exists(data))
    throw Error(ExitCode::io_error,
                "the run '" + dir + "' has no " + RunDirectory::kDataFile +
                    " (the inputs' standardization and labels); it was trained by a descent "
                    "that did not save them: train it again");
  run.data = read_saved_data(data.string());
  std::vector<InputShape> shapes;
  for (const SavedInput& in : run.data.inputs) shapes.push_back({in.name, in.shape});
  run.program = build_program(run.config, shapes);
  for (const ProgramParam& p : run.program.params)
    run.params.push_back(read_param(root / RunDirectory::kParamsDir / (p.name + ".npy"), p));
  return run;
}

}  // namespace descent
