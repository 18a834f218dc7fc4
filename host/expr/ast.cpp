// The syntax tree's iterative destructor and its operand list (see ast.hpp).
#include "expr/ast.hpp"

#include <stdexcept>
#include <utility>

namespace descent::expr {

namespace {

void take_children(Ast& node, std::vector<std::unique_ptr<Ast>>& pending) {
  for (auto& child : node.args)
    if (child) pending.push_back(std::move(child));  // null: moved out
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
  if (!more_ && size_ < 2) {
    first_[size_++] = std::move(arg);
    return;
  }
  if (!more_) {
    // The two kept in place move into the array only once it holds them (a throwing
    // allocation leaves this list as it was).
    auto all = std::make_unique<std::vector<std::unique_ptr<Ast>>>();
    all->reserve(4);
    for (std::unique_ptr<Ast>& slot : first_) all->push_back(std::move(slot));
    more_ = std::move(all);
  }
  more_->push_back(std::move(arg));
  ++size_;
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
