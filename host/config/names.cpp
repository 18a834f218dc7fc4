// The shared namespace of inputs, parameters and model expressions (NameTable).
#include <fmt/format.h>

#include <algorithm>

#include "config/config_fields.hpp"
#include "config/load_sections.hpp"
#include "graph/lower.hpp"

namespace descent::config {

namespace {

bool is_identifier(std::string_view name) {
  auto letter = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (name.empty() || !letter(name[0])) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) { return letter(c) || digit(c); });
}

// "an input", "a parameter", "a model expression".
std::string with_article(std::string_view what) {
  const bool vowel =
      !what.empty() && std::string_view("aeiou").find(what[0]) != std::string_view::npos;
  return (vowel ? "an " : "a ") + std::string(what);
}

}  // namespace

NameTable::NameTable() : functions_(function_names()) {}

void NameTable::declare(const std::string& name, std::string_view what, const Span& where) {
  if (!is_identifier(name)) {
    throw input_error(fmt::format("'{}' is not a valid name for {}: a name starts with a letter "
                                  "or '_' and goes on with letters, digits or '_'",
                                  name, with_article(what)),
                      where);
  }
  if (std::find(std::begin(kReservedNames), std::end(kReservedNames), name) !=
      std::end(kReservedNames)) {
    throw input_error(
        fmt::format("'{}' is a reserved name (the number of samples in a batch); choose another "
                    "name for the {}",
                    name, what),
        where);
  }
  if (std::find(functions_.begin(), functions_.end(), name) != functions_.end()) {
    throw input_error(fmt::format("the {} '{}' has the name of a function of the expression "
                                  "language; choose another name",
                                  what, name),
                      where);
  }
  const auto [it, inserted] = declared_.emplace(name, Declared{std::string(what), where});
  if (!inserted) {
    const Declared& first = it->second;
    throw input_error(
        fmt::format("the {} '{}' has the same name as {}", what, name, with_article(first.what)),
        where, fmt::format("the {} '{}' is declared at {}", first.what, name, first.where.where()));
  }
}

}  // namespace descent::config
