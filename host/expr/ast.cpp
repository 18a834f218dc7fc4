// The syntax tree's iterative destructor and its operand list (see ast.hpp).
#include "expr/ast.hpp"

#include <stdexcept>
#include <utility>

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

void AstArgs::push_back(std::unique_ptr<Ast> arg) {
  if (!arg) throw std::invalid_argument("AstArgs::push_back: a null operand");
  if (!more_) {
    for (std::unique_ptr<Ast>& slot : first_) {
      if (!slot) {
        slot = std::move(arg);
        return;
      }
    }
    more_ = std::make_unique<std::vector<std::unique_ptr<Ast>>>();
    more_->reserve(4);
    for (std::unique_ptr<Ast>& slot : first_) more_->push_back(std::move(slot));
  }
  more_->push_back(std::move(arg));
}

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
