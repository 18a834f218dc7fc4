// The syntax tree's iterative destructor (see ast.hpp).
#include "expr/ast.hpp"

namespace descent::expr {

Ast::~Ast() {
  std::vector<std::unique_ptr<Ast>> pending = std::move(args);
  while (!pending.empty()) {
    std::unique_ptr<Ast> node = std::move(pending.back());
    pending.pop_back();
    for (auto& child : node->args) pending.push_back(std::move(child));
    node->args.clear();
  }  // each node dies here with no children left
}

}  // namespace descent::expr
