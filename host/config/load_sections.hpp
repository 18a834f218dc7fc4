// The readers of a config's sections, called in order by load_experiment (load.cpp): [data]
// (load_data.cpp), [params] (load_params.cpp, its bounds in load_bounds.cpp), [constants]
// (load_constants.cpp), [train] (load_train.cpp), and the one namespace that inputs,
// parameters, constants and model expressions share. Internal to host/config.
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

// The names that expressions can refer to. Inputs, parameters, constants and model expressions
// share one namespace, which also keeps clear of the language's functions and of reserved names.
class NameTable {
 public:
  NameTable();
  // `what` is "input", "parameter", "constant" or "model expression". Throws at `where` when `name`
  // is not an identifier [A-Za-z_][A-Za-z0-9_]*, is reserved or a function, or is already declared.
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

// A parameter's `bounds = [low, high]` (load_bounds.cpp), once its shape and init are read:
// each side a number, -inf / inf, or one per element; low <= high element by element; and an
// init that starts at known values (zeros, constant) must start inside the box.
void read_bounds(const TableReader& param, ParamSpec& out);

// [constants], in the order written. File constants are named here and read by host/data
// (read_constant_files), which is where the file readers live.
std::vector<ConstantSpec> read_constants(const TableReader& constants, const std::string& dir,
                                         NameTable& names);

// Numbers written as an array: a vector [1, 2] or a rectangular matrix [[1, 2], [3, 4]],
// row-major, with its shape. `what` names the value in the message for an empty array
// ("a literal parameter").
void read_number_array(const TomlDocument& doc, const toml::array& array, const std::string& label,
                       std::string_view what, Shape& shape, std::vector<double>& values);

// Reads one number of a setting; number_value (finite numbers) unless a setting allows more.
using NumberReader = double (*)(const TomlDocument& doc, const toml::node& node,
                                std::string_view label);

// A setting of `param` written per element under `key` ("low", or "bounds[0]"): numbers shaped
// like the parameter ([n] for a vector, rows for a matrix), row-major. A length that does not
// match, or an array for a scalar parameter, is an error at the array.
std::vector<double> read_per_element(const TableReader& param, std::string_view key,
                                     const toml::array& array, const Shape& shape,
                                     NumberReader number = number_value);

// The node of element i (row-major) of a setting written per element as `array`.
const toml::node& element_node(const toml::array& array, const Shape& shape, std::int64_t i);

// "params.x.low[1]" or, in a matrix, "params.x.low[1][0]".
std::string element_label(const std::string& label, const Shape& shape, std::int64_t i);

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
