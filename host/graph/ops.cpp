// The op table's lookups by name (the table itself is in ops.hpp).
#include "graph/ops.hpp"

namespace descent {

std::optional<Op> op_for_function(std::string_view name) {
  for (const OpInfo& info : kOpTable) {
    if (info.kind == OpKind::leaf || info.kind == OpKind::batch) continue;
    if (info.attr == OpAttr::window) continue;  // written x[...], not called
    if (info.name == name) return info.op;
  }
  return std::nullopt;
}

}  // namespace descent
