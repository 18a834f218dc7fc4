// The syntax tree's iterative destructor (see ast.hpp).
#include "expr/ast.hpp"

namespace descent::expr {

namespace {

void take_children(Ast& node, std::vector<std::unique_ptr<Ast>>& pending) {
  for (auto& child : node.args) pending.push_back(std::move(child));
  node.args.clear();
  for (Subscript& s : node.subscripts) {
    if (s.start) pending.push_back(std::move(s.start));
    if (s.stop) pending.push_back(std::move(s.stop));
  }
  node.subscripts.clear();
}

}  // namespace

Ast::~Ast() {
  std::vector<std::unique_ptr<Ast>> pending;
  take_children(*this, pending);
  while (!pending.empty()) {
    std::unique_ptr<Ast> node = std::move(pending.back());
    pending.pop_back();
    take_children(*node, pending);
  }  // each node dies here with no children left
}

}  // namespace descent::expr
