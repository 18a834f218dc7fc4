// Names of the experiment's enumerations (see experiment.hpp).
#include "config/experiment.hpp"

#include "config/config_fields.hpp"

namespace descent {

std::string_view init_kind_name(InitKind kind) {
  for (const config::InitChoice& choice : config::kInitChoices)
    if (choice.kind == kind) return choice.name;
  return "literal";  // the one kind no config names: numbers written in place of a table
}

}  // namespace descent
