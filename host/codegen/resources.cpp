// Reading ptxas' report and holding kernels to the budget (see resources.hpp).
#include "codegen/resources.hpp"

#include <regex>

#include "common/error.hpp"

namespace descent::codegen {

std::vector<KernelResources> parse_ptxas_report(const std::string& log) {
  static const std::regex entry(R"(Compiling entry function '([^']+)')");
  static const std::regex frame(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers)");
  static const std::regex shared(R"((\d+) bytes smem)");
  std::vector<KernelResources> out;
  KernelResources* current = nullptr;
  std::size_t start = 0;
  while (start < log.size()) {
    std::size_t end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(start, end - start);
    start = end + 1;
    std::smatch m;
    if (std::regex_search(line, m, entry)) {
      out.push_back({m[1].str()});
      current = &out.back();
    } else if (current && std::regex_search(line, m, frame)) {
      current->stack_bytes = std::stol(m[1].str());
      current->spill_store_bytes = std::stol(m[2].str());
      current->spill_load_bytes = std::stol(m[3].str());
    } else if (current && std::regex_search(line, m, used)) {
      current->registers = std::stoi(m[1].str());
      if (std::regex_search(line, m, shared)) current->shared_bytes = std::stol(m[1].str());
      current = nullptr;  // the entry's report ends with its usage line
    }
  }
  return out;
}

namespace {

const ProgramParam* widest_param(const Program& program) {
  const ProgramParam* widest = nullptr;
  for (const ProgramParam& p : program.params)
    if (!widest || p.shape.size() > widest->shape.size()) widest = &p;
  return widest;
}

std::string over_budget(const KernelResources& k, const ResourceBudget& budget) {
  if (k.registers > budget.max_registers)
    return std::to_string(k.registers) + " registers a thread (the budget is " +
           std::to_string(budget.max_registers) + ")";
  if (k.stack_bytes > budget.max_stack_bytes)
    return "a " + std::to_string(k.stack_bytes) + "-byte stack frame in local memory";
  if (k.spill_store_bytes + k.spill_load_bytes > budget.max_spill_bytes)
    return std::to_string(k.spill_store_bytes) + " bytes of spill stores and " +
           std::to_string(k.spill_load_bytes) + " of spill loads";
  return "";
}

}  // namespace

void check_resource_budget(const std::vector<KernelResources>& report, const ResourceBudget& budget,
                           const Program& program, const EmittedProgram& emitted) {
  std::vector<std::string> kernels;
  for (const EmittedKernels* k : {&emitted.step, &emitted.evaluation}) {
    for (const std::string* name : {&k->first, &k->rows, &k->finish, &k->update})
      if (!name->empty()) kernels.push_back(*name);
    kernels.insert(kernels.end(), k->segments.begin(), k->segments.end());
  }
  for (const std::string& name : kernels) {
    const KernelResources* found = nullptr;
    for (const KernelResources& k : report)
      if (k.kernel == name) found = &k;
    if (!found)
      throw Error(ExitCode::failure,
                  "internal: ptxas reported nothing for the kernel '" + name + "'");
    const std::string over = over_budget(*found, budget);
    if (over.empty()) continue;
    const ProgramParam* widest = widest_param(program);
    throw Error(ExitCode::bad_input,
                "the GPU kernel '" + name + "' would need " + over +
                    (widest ? "; the widest parameter, '" + widest->name + "' (shape " +
                                  widest->shape.to_string() +
                                  "), makes each sample's work too "
                                  "large for one thread"
                            : std::string()) +
                    "; train it on the CPU (--device cpu)",
                widest ? widest->spec->where : Span{});
  }
}

}  // namespace descent::codegen
