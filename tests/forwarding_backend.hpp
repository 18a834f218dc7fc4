// A Backend that passes every call to another: the base of the tests' backends that change one
// thing (stop after some steps, turn an input error into NaN as the GPU's kernels do).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backend/backend.hpp"

namespace descent::test {

class ForwardingBackend : public Backend {
 public:
  explicit ForwardingBackend(Backend& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  std::string precision() const override { return inner_.precision(); }
  std::int64_t summation_depth(std::int64_t rows) const override {
    return inner_.summation_depth(rows);
  }
  void attach(const DataSplits& data) override { inner_.attach(data); }
  void set_epoch_order(const std::vector<std::int64_t>& order) override {
    inner_.set_epoch_order(order);
  }
  void load(const std::vector<ParamState>& params) override { inner_.load(params); }
  void store(std::vector<ParamState>& params) override { inner_.store(params); }
  void step(const BatchRows& batch, const UpdateSettings& update) override {
    inner_.step(batch, update);
  }
  StepReport report() override { return inner_.report(); }
  double evaluate(const BatchRows& batch) override { return inner_.evaluate(batch); }
  double objective_and_gradients(const BatchRows& batch,
                                 std::vector<std::vector<double>>& gradients) override {
    return inner_.objective_and_gradients(batch, gradients);
  }

 protected:
  Backend& inner() { return inner_; }

 private:
  Backend& inner_;
};

}  // namespace descent::test
