// `descent derive EXPR --wrt x [--at x=1.5,y=2] [--format text|json] [--explain]`:
// prints the simplified symbolic derivative(s) of an expression.
#include <algorithm>
#include <charconv>
#include <iostream>
#include <map>
#include <unordered_map>

#include "ad/derive.hpp"
#include "ad/explain.hpp"
#include "cli/commands.hpp"
#include "cli/experiment_setup.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "common/suggest.hpp"
#include "cpu/interpreter.hpp"
#include "graph/lower.hpp"
#include "graph/printer.hpp"
#include "graph/simplify.hpp"

namespace descent::cli {

namespace {

struct DeriveOptions {
  std::string target;
  std::vector<std::string> wrt;
  std::vector<std::string> at;
  std::string format = "text";
  bool explain = false;
};

// "x=1.5,y=2" (the flag may also repeat) → {x: 1.5, y: 2}
std::unordered_map<std::string, double> parse_assignments(const std::vector<std::string>& specs) {
  std::unordered_map<std::string, double> values;
  for (const std::string& spec : specs) {
    std::size_t start = 0;
    while (start <= spec.size()) {
      std::size_t end = spec.find(',', start);
      if (end == std::string::npos) end = spec.size();
      const std::string item = spec.substr(start, end - start);
      const std::size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw input_error("--at: expected name=value, got '" + item + "'");
      const std::string name = item.substr(0, eq);
      const std::string number = item.substr(eq + 1);
      double value = 0;
      auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
      if (ec != std::errc() || ptr != number.data() + number.size() || number.empty())
        throw input_error("--at: expected a number for '" + name + "', got '" + number + "'");
      values[name] = value;
      start = end + 1;
    }
  }
  return values;
}

bool names_a_config(const std::string& target) {
  return target.size() > 5 && target.compare(target.size() - 5, 5, ".toml") == 0;
}

// The [model] names that print in place of their subexpressions: the first name of each node
// that is not a leaf (a name for a bare parameter or input would only hide it).
NodeNames model_names(const ExperimentConfig& config, Program& program) {
  const std::vector<NodeId> nodes = lower_model_expressions(config, program);
  NodeNames names;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (program.graph[nodes[i]].arity > 0) names.emplace(nodes[i], config.model[i].name);
  return names;
}

// descent derive CONFIG: the gradient of the objective for every parameter, in terms of the
// config's model names, whose definitions (those the printed text uses, and those they use)
// come first, each once, every name after the names it uses.
int run_derive_config(const DeriveOptions& options) {
  if (!options.at.empty() || options.explain || !options.wrt.empty())
    throw input_error(
        "derive CONFIG prints the gradient of every parameter; --wrt, --at and "
        "--explain apply to a single expression");
  Experiment e = set_up_experiment(options.target, {});
  Program& program = *e.program;
  const NodeNames names = model_names(e.config, program);
  std::vector<NodeId> used;
  const std::string objective = print_expression(program.graph, program.objective, names, &used);
  std::vector<std::string> gradients;
  for (const ProgramParam& p : program.params)
    gradients.push_back(print_expression(program.graph, p.gradient, names, &used));
  std::map<NodeId, std::string> definitions;  // children have smaller ids than their parents
  while (!used.empty()) {
    const NodeId id = used.back();
    used.pop_back();
    if (!definitions.count(id)) definitions[id] = print_expression(program.graph, id, names, &used);
  }
  if (options.format == "json") {
    Json defined = Json::object();
    for (const auto& [id, text] : definitions) defined.set(names.at(id), text);
    Json derivatives = Json::object();
    for (std::size_t i = 0; i < gradients.size(); ++i)
      derivatives.set(program.params[i].name, gradients[i]);
    std::cout << Json::object()
                     .set("config", options.target)
                     .set("definitions", defined)
                     .set("objective", objective)
                     .set("derivatives", derivatives)
                     .dump(2)
              << "\n";
    return 0;
  }
  for (const auto& [id, text] : definitions) std::cout << names.at(id) << " = " << text << "\n";
  std::cout << "objective = " << objective << "\n";
  for (std::size_t i = 0; i < gradients.size(); ++i)
    std::cout << "d/d" << program.params[i].name << " = " << gradients[i] << "\n";
  return 0;
}

int run_derive(const DeriveOptions& options) {
  if (names_a_config(options.target)) return run_derive_config(options);
  Graph graph;
  const auto ast = expr::parse_expression(options.target, "expr");
  const NodeId written = lower_expression(graph, *ast, free_variable_scope(graph));
  const std::vector<NodeId> variables = graph.variables_of({written});
  std::vector<std::string> names;
  for (NodeId v : variables) names.push_back(graph[v].name);

  std::vector<NodeId> wrt;
  if (options.wrt.empty()) wrt = variables;
  for (const std::string& name : options.wrt) {
    const NodeId v = graph.find_variable(name);
    if (v == kNoNode) {
      std::string listed;
      for (const std::string& n : names) listed += (listed.empty() ? "" : ", ") + n;
      throw input_error("--wrt: '" + name + "' is not a variable of the expression" +
                        did_you_mean(name, names) +
                        (listed.empty() ? " (it has none)" : " (its variables: " + listed + ")"));
    }
    wrt.push_back(v);
  }
  const auto values = parse_assignments(options.at);
  if (!options.at.empty())
    for (const std::string& name : names)
      if (!values.count(name)) throw input_error("--at: no value given for '" + name + "'");

  const NodeId f = stabilize(graph, {written})[0];
  if (options.explain) {
    for (NodeId v : wrt) std::cout << explain_derivative(graph, f, v) << "\n";
    return 0;
  }
  const std::vector<NodeId> gradients = derive_gradients(graph, f, wrt);
  // A DAG prints as a tree, which can be exponentially larger; refuse rather than hang.
  constexpr std::size_t kMaxPrinted = 1'000'000;
  for (std::size_t i = 0; i < wrt.size(); ++i)
    if (printed_size_estimate(graph, gradients[i], kMaxPrinted) >= kMaxPrinted)
      throw input_error("the derivative by '" + graph[wrt[i]].name +
                        "' is too large to print as one expression (over " +
                        std::to_string(kMaxPrinted) + " characters)");

  if (options.format == "json") {
    Json derivatives = Json::object();
    Json evaluated = Json::object();
    for (std::size_t i = 0; i < wrt.size(); ++i) {
      derivatives.set(graph[wrt[i]].name, print_expression(graph, gradients[i]));
      if (!options.at.empty())
        evaluated.set(graph[wrt[i]].name, evaluate_scalar(graph, gradients[i], values));
    }
    Json out = Json::object().set("expression", options.target).set("derivatives", derivatives);
    if (!options.at.empty()) out.set("values", evaluated);
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (std::size_t i = 0; i < wrt.size(); ++i) {
    std::cout << "d/d" << graph[wrt[i]].name << " = " << print_expression(graph, gradients[i]);
    if (!options.at.empty())
      std::cout << " = " << format_shortest(evaluate_scalar(graph, gradients[i], values));
    std::cout << "\n";
  }
  return 0;
}

}  // namespace

std::vector<std::string> rewrite_derive_expressions(std::vector<std::string> args) {
  const auto command = std::find(args.begin(), args.end(), "derive");
  if (command == args.end()) return args;
  // The derive command's options, and those of them that take a value.
  const std::vector<std::string> flags = {"--explain", "-h", "--help"};
  const std::vector<std::string> valued = {"--wrt", "--at", "--format", "--set"};
  const auto known = [&](const std::string& a) {
    const std::string name = a.substr(0, a.find('='));
    return std::find(flags.begin(), flags.end(), a) != flags.end() ||
           std::find(valued.begin(), valued.end(), name) != valued.end();
  };
  std::vector<std::string> out(args.begin(), command + 1);
  bool value_next = false;
  for (auto it = command + 1; it != args.end(); ++it) {
    const std::string& a = *it;
    if (value_next) {
      out.push_back(a);
      value_next = false;
    } else if (a == "--" && it + 1 != args.end()) {
      out.push_back("--expression=" + *++it);  // "-- -x^2": the expression, options may follow
    } else if (a.size() > 1 && a[0] == '-' && !known(a)) {
      out.push_back("--expression=" + a);
    } else {
      out.push_back(a);
      value_next = std::find(valued.begin(), valued.end(), a) != valued.end();
    }
  }
  return out;
}

Run add_derive_command(CLI::App& app) {
  auto options = std::make_shared<DeriveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "derive",
      "Print the simplified symbolic derivative of an expression (free names are "
      "scalar variables), or of a config's cost for every parameter");
  CLI::Option* target =
      cmd->add_option("target", options->target, "An expression such as \"2*x^2*(4*x^3 - 3*x^4)\"");
  // An expression that starts with '-' reaches here as --expression=TEXT
  // (rewrite_derive_expressions); it is the target all the same.
  CLI::Option* expression = cmd->add_option("--expression", options->target)->group("");
  target->excludes(expression);
  expression->excludes(target);
  cmd->callback([target, expression] {
    if (target->count() == 0 && expression->count() == 0) throw CLI::RequiredError("target");
  });
  cmd->add_option("--wrt", options->wrt,
                  "Differentiate with respect to this variable (repeatable; default: all)")
      ->allow_extra_args(false);
  cmd->add_option("--at", options->at, "Also evaluate at a point, e.g. --at x=1.5,y=2")
      ->allow_extra_args(false);
  cmd->add_option("--format", options->format, "Output format")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--explain", options->explain,
                "Show the derivation step by step, naming the rule used at each node");
  return [options, cmd]() -> int {
    if (!cmd->parsed()) return -1;
    return run_derive(*options);
  };
}

}  // namespace descent::cli
