// The readers of a config's sections, called in order by load_experiment (load.cpp): [data]
// (load_data.cpp), [params] (load_params.cpp), [train] (load_train.cpp), and the one namespace
// that inputs, parameters and model expressions share. Internal to host/config.
//
// Does not: read files, apply overrides (toml_document.hpp) or print configs (resolved.cpp).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/experiment.hpp"
#include "config/table_reader.hpp"

namespace descent::config {

// The names that expressions can refer to. Inputs, parameters and model expressions share one
// namespace, which also keeps clear of the language's functions and of reserved names.
class NameTable {
 public:
  NameTable();
  // `what` is "input", "parameter" or "model expression". Throws at `where` when `name` is not
  // an identifier [A-Za-z_][A-Za-z0-9_]*, is reserved or a function, or is already declared.
  void declare(const std::string& name, std::string_view what, const Span& where);
  bool contains(const std::string& name) const { return declared_.count(name) > 0; }

 private:
  struct Declared {
    std::string what;
    Span where;
  };
  std::map<std::string, Declared> declared_;
  std::vector<std::string> functions_;
};

// [data]. `dir` is the config's folder, against which relative paths are resolved. `seed` is
// set when data.seed is written (its default, train.seed, is known only later).
DataConfig read_data(const TableReader& data, const std::string& dir, NameTable& names,
                     std::optional<std::uint64_t>& seed);

// [params], in the order written.
std::vector<ParamSpec> read_params(const TableReader& params, NameTable& names);

// Refuses parameters that hold more than kMaxParamElements elements, one by one or together,
// with `copies` (train.starts in minimize mode, else 1) copies each; `copies_at` is where the
// config sets the copies, the place to blame when the copies make the difference.
void check_param_sizes(const std::vector<ParamSpec>& params, std::int64_t copies,
                       const Span& copies_at);

// [train]; which keys apply depends on the mode and on data.validation.
TrainConfig read_train(const TableReader& train, const DataConfig& data);

// `path` relative to the folder `dir`, unless it is absolute or `dir` is "." or "".
std::string resolve_path(const std::string& dir, const std::string& path);

}  // namespace descent::config
