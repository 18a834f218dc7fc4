// data.json written and read (see data_json.hpp).
#include "run/data_json.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace descent {

namespace {

Json strings_json(const std::vector<std::string>& items) {
  Json out = Json::array();
  for (const std::string& item : items) out.push(item);
  return out;
}

Json numbers_json(const std::vector<double>& values) {
  Json out = Json::array();
  for (double v : values) out.push(v);
  return out;
}

// Reads the members of data.json, each a named value of a checked type; a defect names the file
// and what is wrong.
class SavedDataReader {
 public:
  explicit SavedDataReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void damaged(const std::string& what) const {
    throw input_error("'" + path_ + "' is not a data record that descent wrote: " + what);
  }

  const Json& member(const Json& object, const std::string& key, Json::Type type,
                     const std::string& label) const {
    const Json* value = object.find(key);
    if (value == nullptr) damaged(label + " is missing");
    const bool ok = type == Json::Type::number ? value->is_number() : value->type() == type;
    if (!ok) damaged(label + " has the wrong type");
    return *value;
  }

  std::vector<std::string> strings(const Json& array, const std::string& label) const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (array.at(i).type() != Json::Type::string) damaged(label + " must hold strings");
      out.push_back(array.at(i).as_string());
    }
    return out;
  }

  std::vector<double> numbers(const Json& array, std::size_t count,
                              const std::string& label) const {
    if (array.size() != count)
      damaged(label + " has " + std::to_string(array.size()) + " numbers, not " +
              std::to_string(count));
    std::vector<double> out;
    for (std::size_t i = 0; i < array.size(); ++i) {
      if (!array.at(i).is_number()) damaged(label + " must hold numbers");
      out.push_back(array.at(i).as_double());
    }
    return out;
  }

  Shape shape(const Json& dims, const std::string& label) const {
    if (dims.size() > 2) damaged(label + " has more than 2 axes");
    std::int64_t sizes[2] = {1, 1};
    for (std::size_t i = 0; i < dims.size(); ++i) {
      const Json& d = dims.at(i);
      if (d.type() != Json::Type::integer || d.as_integer() < 1)
        damaged(label + " must hold sizes >= 1");
      sizes[i] = d.as_integer();
    }
    if (dims.size() == 0) return Shape::scalar();
    return dims.size() == 1 ? Shape::vector(sizes[0]) : Shape::matrix(sizes[0], sizes[1]);
  }

  SavedInput input(const Json& in, std::size_t k) const {
    const std::string label = "inputs[" + std::to_string(k) + "]";
    if (in.type() != Json::Type::object) damaged(label + " is not an object");
    SavedInput out;
    out.name = member(in, "name", Json::Type::string, label + ".name").as_string();
    out.shape = shape(member(in, "shape", Json::Type::array, label + ".shape"), label + ".shape");
    const auto size = static_cast<std::size_t>(out.shape.size());
    if (in.find("npy") != nullptr) {
      out.npy_file = member(in, "npy", Json::Type::string, label + ".npy").as_string();
    } else {
      out.columns =
          strings(member(in, "columns", Json::Type::array, label + ".columns"), label + ".columns");
      if (out.columns.size() != size) damaged(label + ".columns does not match its shape");
    }
    if (in.find("classes") != nullptr) {
      out.labels =
          strings(member(in, "classes", Json::Type::array, label + ".classes"), label + ".classes");
      if (out.labels.empty() || !out.shape.is_scalar())
        damaged(label + ".classes belongs to a scalar input with at least one label");
    }
    if (in.find("standardize") != nullptr) {
      const Json& s = member(in, "standardize", Json::Type::object, label + ".standardize");
      out.mean = numbers(member(s, "mean", Json::Type::array, label + ".standardize.mean"), size,
                         label + ".standardize.mean");
      out.scale = numbers(member(s, "scale", Json::Type::array, label + ".standardize.scale"), size,
                          label + ".standardize.scale");
      for (double v : out.scale)
        if (!(v > 0)) damaged(label + ".standardize.scale must be > 0");
    }
    return out;
  }

  SavedData read(const Json& root) const {
    if (root.type() != Json::Type::object) damaged("not a JSON object");
    SavedData out;
    if (const Json* file = root.find("file"); file != nullptr && !file->is_null())
      out.file = member(root, "file", Json::Type::string, "file").as_string();
    out.train_rows = member(root, "train_rows", Json::Type::integer, "train_rows").as_integer();
    out.validation_rows =
        member(root, "validation_rows", Json::Type::integer, "validation_rows").as_integer();
    const Json& inputs = member(root, "inputs", Json::Type::array, "inputs");
    for (std::size_t k = 0; k < inputs.size(); ++k) out.inputs.push_back(input(inputs.at(k), k));
    return out;
  }

 private:
  std::string path_;
};

}  // namespace

SavedData describe_data(const DataConfig& config, const Dataset& dataset) {
  SavedData out;
  const auto absolute = [](const std::string& path) {
    return path.empty() ? path : std::filesystem::absolute(path).lexically_normal().string();
  };
  out.file = absolute(config.file);
  out.train_rows = dataset.train_rows;
  out.validation_rows = dataset.validation_rows;
  for (std::size_t k = 0; k < dataset.inputs.size(); ++k) {
    const DatasetInput& in = dataset.inputs[k];
    SavedInput saved;
    saved.name = in.name;
    saved.shape = in.shape;
    saved.columns = in.columns;
    saved.npy_file = absolute(config.inputs.at(k).npy_file);
    saved.labels = in.labels;  // set for `classes` inputs only
    saved.mean = in.mean;
    saved.scale = in.scale;
    out.inputs.push_back(std::move(saved));
  }
  return out;
}

Json saved_data_json(const SavedData& data) {
  Json inputs = Json::array();
  for (const SavedInput& in : data.inputs) {
    Json shape = Json::array();
    for (int a = 0; a < in.shape.rank; ++a) shape.push(in.shape.dims[a]);
    Json item = Json::object();
    item.set("name", in.name).set("shape", std::move(shape));
    if (!in.npy_file.empty()) {
      item.set("npy", in.npy_file);
    } else {
      item.set("columns", strings_json(in.columns));
    }
    if (!in.labels.empty()) item.set("classes", strings_json(in.labels));
    if (!in.mean.empty())
      item.set(
          "standardize",
          Json::object().set("mean", numbers_json(in.mean)).set("scale", numbers_json(in.scale)));
    inputs.push(std::move(item));
  }
  Json root = Json::object();
  root.set("file", data.file.empty() ? Json() : Json(data.file))
      .set("train_rows", data.train_rows)
      .set("validation_rows", data.validation_rows)
      .set("inputs", std::move(inputs));
  return root;
}

SavedData read_saved_data(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::io_error, "cannot read '" + path + "'");
  std::ostringstream text;
  text << in.rdbuf();
  return SavedDataReader(path).read(Json::parse(text.str(), path));
}

}  // namespace descent
