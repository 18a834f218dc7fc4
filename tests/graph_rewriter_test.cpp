// Covers host/graph/rewriter.cpp's memory of build_scaled: a scaled product it built once is
// reused while the facts its build read (whether a product below is used once) still hold, and
// built again when they do not, so that a Rewriter that runs again over the same graph gives
// what a fresh one gives. Needs no GPU.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "graph/rewriter.hpp"

namespace descent {
namespace {

// sin(x) → cos(2 * x), the product 2 * x built by build_scaled (which opens the products below
// x that are used once, or small). The sine becomes a cosine so that the rule applies once.
std::optional<NodeId> scale_sine(Rewriter& r, NodeId id) {
  if (r.op(id) != Op::sin) return std::nullopt;
  return r.g().apply(Op::cos, r.build_scaled(2.0, r.g().head(id).child[0]));
}
constexpr std::array<NamedRule, 1> kRules = {{{"scale sine", scale_sine}}};

struct Products {
  Graph g;
  NodeId inner = kNoNode;      // v1 * ... * v5: more factors than a shared product is opened with
  NodeId sine = kNoNode;       // sin(v0 * inner)
  NodeId other_use = kNoNode;  // exp(inner)

  Products() {
    std::vector<NodeId> v;
    for (int i = 0; i < 6; ++i) v.push_back(g.variable("v" + std::to_string(i), VarKind::free));
    inner = v[1];
    for (int i = 2; i < 6; ++i) inner = g.mul(inner, v[i]);
    sine = g.apply(Op::sin, g.mul(v[0], inner));
    other_use = g.apply(Op::exp, inner);
  }
};

TEST(Rewriter, AScaledProductIsBuiltAgainWhenTheSharingItReadChanged) {
  Products p;
  Rewriter rewriter(p.g, kRules);
  // Used twice, `inner` stays whole: 2 * (v0 * inner).
  const std::vector<NodeId> shared = rewriter.run({p.sine, p.other_use});
  // Used once, it is opened: 2 * v0 * v1 * ... * v5.
  const std::vector<NodeId> alone = rewriter.run({p.sine});
  Rewriter fresh(p.g, kRules);
  EXPECT_EQ(fresh.run({p.sine}), alone);
  EXPECT_NE(shared[0], alone[0]);
  // And back: the first build is reused, and it is what a fresh Rewriter builds.
  const std::vector<NodeId> again = rewriter.run({p.sine, p.other_use});
  EXPECT_EQ(again, shared);
  Rewriter fresh_shared(p.g, kRules);
  EXPECT_EQ(fresh_shared.run({p.sine, p.other_use}), shared);
}

TEST(Rewriter, ARepeatedScaledProductGivesTheSameNodeAndBuildsNothing) {
  Products p;
  Rewriter rewriter(p.g, kRules);
  const std::size_t before = p.g.size();
  const std::vector<NodeId> first = rewriter.run({p.sine});
  const std::size_t built = p.g.size();
  EXPECT_GT(built, before);
  EXPECT_EQ(rewriter.run({p.sine}), first);
  EXPECT_EQ(p.g.size(), built);
}

// A rule whose decision rests on what build_scaled built: tan(x) and tanh(x) are left alone
// while 2 * x keeps `kept` whole (shared), and become cos(2 * x) and sin(2 * x) once 2 * x opens
// it. The second of the two builds is the remembered one: the facts it read must be remembered
// with the node it decided, or a later run would skip that node when they change.
NodeId g_kept = kNoNode;
bool has_factor(const Graph& g, NodeId product, NodeId factor) {
  if (product == factor) return true;
  const NodeHead head = g.head(product);
  return head.op == Op::mul &&
         (has_factor(g, head.child[0], factor) || has_factor(g, head.child[1], factor));
}
std::optional<NodeId> scale_unless_kept(Rewriter& r, NodeId id) {
  if (r.op(id) != Op::tan && r.op(id) != Op::tanh) return std::nullopt;
  const NodeId scaled = r.build_scaled(2.0, r.g().head(id).child[0]);
  if (has_factor(r.g(), scaled, g_kept)) return std::nullopt;
  return r.g().apply(r.op(id) == Op::tan ? Op::cos : Op::sin, scaled);
}
constexpr std::array<NamedRule, 1> kDecidingRules = {{{"scale unless kept", scale_unless_kept}}};

TEST(Rewriter, ANodeDecidedOnARememberedScaledProductIsSeenAgainWhenItsFactsChange) {
  Products p;
  g_kept = p.inner;
  const NodeId product = p.g.head(p.sine).child[0];
  const NodeId tan = p.g.apply(Op::tan, product);
  const NodeId tanh = p.g.apply(Op::tanh, product);
  Rewriter rewriter(p.g, kDecidingRules);
  // `inner` used by exp too: both left alone (tanh on the product remembered from tan's).
  EXPECT_EQ(rewriter.run({tan, tanh, p.other_use}), (std::vector<NodeId>{tan, tanh, p.other_use}));
  // Used once: both change, as in a fresh Rewriter.
  const std::vector<NodeId> alone = rewriter.run({tan, tanh});
  EXPECT_EQ(p.g.head(alone[0]).op, Op::cos);
  EXPECT_EQ(p.g.head(alone[1]).op, Op::sin);
  Rewriter fresh(p.g, kDecidingRules);
  EXPECT_EQ(fresh.run({tan, tanh}), alone);
}

}  // namespace
}  // namespace descent
