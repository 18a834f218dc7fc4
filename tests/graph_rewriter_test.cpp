// Covers host/graph/canonical_forms.cpp's memory of build_scaled: a scaled product it built once is
// reused while the facts its build read (whether a product below is used once) still hold, and
// built again when they do not, so that a Rewriter that runs again over the same graph gives
// what a fresh one gives. And the hints of build_product and build_scaled, returned when their
// heads show that they are the product asked for: the result must be what a build without a
// hint gives, whatever the hint. Needs no GPU.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <limits>
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

// Products over scalar variables, a vector variable and non-leaf bases, with exponents and
// coefficients that build_product writes as pow nodes and a leading number (among them -0, NaN
// and infinity, which constants are interned by the bits of); each is asked of build_product
// with the node it builds to as its hint, and with nodes that differ from it in one way each
// (association, order, an exponent, the coefficient, a factor, the shape, a filled constant for the
// number). The node itself must come back without a lookup, except where the build fills a constant
// of the product's shape (a node the heads cannot confirm); every other node must not.
TEST(Rewriter, BuildProductGivesTheSameNodeWhateverItsHint) {
  Graph g;
  std::vector<NodeId> bases;
  for (int i = 0; i < 4; ++i) bases.push_back(g.variable("s" + std::to_string(i), VarKind::free));
  bases.push_back(g.apply(Op::sin, bases[0]));
  bases.push_back(g.apply(Op::exp, g.add(bases[1], bases[2])));
  const NodeId vec = g.variable("v", VarKind::free, Shape::vector(3));
  Rewriter r(g, {});
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const std::array<double, 8> exponents = {1.0, 2.0, -1.0, 0.5, 3.0, -0.0, nan, inf};
  const std::array<double, 7> coefficients = {1.0, -1.0, 2.0, 0.5, -0.0, nan, -inf};
  std::uint64_t state = 12345;
  const auto next = [&](std::uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::size_t>((state >> 33) % n);
  };
  int reused = 0;
  for (int trial = 0; trial < 600; ++trial) {
    std::vector<Factor> factors;
    const std::size_t count = 1 + next(4);
    for (std::size_t k = 0; k < count; ++k)
      factors.push_back({bases[next(bases.size())], exponents[next(exponents.size())]});
    const bool with_vector = trial % 5 == 0;
    if (with_vector) factors.push_back({vec, 1.0});
    const double coefficient = coefficients[next(coefficients.size())];
    const Shape shape = with_vector || trial % 7 == 0 ? Shape::vector(3) : Shape{};
    const bool filled = !with_vector && trial % 7 == 0;  // a scalar chain, a vector shape
    const NodeId built = r.build_product(coefficient, factors, shape);

    std::vector<NodeId> candidates = {built, bases[0], vec};
    std::vector<Factor> changed = factors;
    changed.back().exponent += 1.0;  // one exponent
    candidates.push_back(r.build_product(coefficient, changed, shape));
    candidates.push_back(r.build_product(coefficient * 3.0, factors, shape));  // the coefficient
    NodeId right = kNoNode;  // the terms multiplied right to left
    for (auto f = factors.rbegin(); f != factors.rend(); ++f) {
      const NodeId term = f->exponent == 1.0 ? f->base : g.pow(f->base, g.num(f->exponent));
      right = right == kNoNode ? term : g.mul(term, right);
    }
    candidates.push_back(right);
    candidates.push_back(g.mul(g.num(coefficient), right));
    candidates.push_back(g.mul(g.constant(coefficient, shape), right));
    if (factors.size() > 1)  // a factor fewer
      candidates.push_back(r.build_product(
          coefficient, std::vector<Factor>(factors.begin() + 1, factors.end()), shape));
    for (const NodeId candidate : candidates) {
      const std::size_t size = g.size();
      const std::size_t reused_before = r.reused_products();
      const NodeId rebuilt = r.build_product(coefficient, factors, shape, candidate);
      ASSERT_EQ(rebuilt, built) << "trial " << trial << ", candidate " << candidate;
      EXPECT_EQ(g.size(), size);  // the product exists: nothing is built
      const bool confirmed = r.reused_products() > reused_before;
      EXPECT_EQ(confirmed, candidate == built && !filled)
          << "trial " << trial << ", candidate " << candidate;
      if (confirmed) ++reused;
    }
  }
  EXPECT_GT(reused, 400);
}

// build_scaled takes a hint, the node a sum's term was read from, and returns it when it is the
// scaled product asked for: whatever the hint, the result is what a build without one gives,
// and the hint that is that product comes back without a lookup. A fresh Rewriter for each
// call, so that what build_scaled remembers of products does not answer first.
TEST(Rewriter, BuildScaledGivesTheSameNodeWhateverItsHint) {
  Graph g;
  std::vector<NodeId> rests;
  for (int i = 0; i < 3; ++i) rests.push_back(g.variable("s" + std::to_string(i), VarKind::free));
  rests.push_back(g.apply(Op::sin, rests[0]));
  rests.push_back(g.pow(rests[1], g.num(2.0)));  // no product, but gathered as s1^2
  rests.push_back(g.mul(rests[0], rests[1]));
  rests.push_back(g.mul(g.num(3.0), g.mul(rests[2], rests[3])));  // a coefficient of its own
  rests.push_back(g.mul(g.mul(rests[1], rests[0]), rests[4]));
  const std::array<double, 4> coefficients = {2.0, -1.0, 0.5, 3.0};
  std::vector<NodeId> hints = rests;
  for (const double c : coefficients)
    for (const NodeId rest : rests) {
      Rewriter plain(g, {});
      const NodeId built = plain.build_scaled(c, rest);
      hints.push_back(built);
      hints.push_back(g.mul(g.num(c), rest));
      for (const NodeId hint : hints) {
        Rewriter hinted(g, {});
        const std::size_t size = g.size();
        const NodeId result = hinted.build_scaled(c, rest, hint);
        ASSERT_EQ(result, built) << "c " << c << ", rest " << rest << ", hint " << hint;
        EXPECT_EQ(g.size(), size);
        EXPECT_EQ(hinted.reused_products(), hint == built ? 1u : 0u)
            << "c " << c << ", rest " << rest << ", hint " << hint;
      }
    }
}

}  // namespace
}  // namespace descent
