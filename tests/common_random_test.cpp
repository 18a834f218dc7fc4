// Rng (host/common/random.hpp): bounded integers in range and unbiased, the shuffle a
// permutation that equals the textbook Fisher-Yates over the same draws (the shuffle draws its
// positions ahead of time to overlap memory accesses; that must not change a single swap), and
// a saved state that replays the same stream.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "common/random.hpp"

namespace descent::test {
namespace {

TEST(Rng, BelowStaysInRange) {
  Rng rng(3);
  const std::uint64_t top = std::numeric_limits<std::uint64_t>::max();
  // 2^63 + 1 rejects almost half of all draws: the rejection loop is exercised.
  for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{2}, std::uint64_t{3}, std::uint64_t{1000},
                          (std::uint64_t{1} << 63) + 1, top})
    for (int k = 0; k < 2000; ++k) EXPECT_LT(rng.below(n), n) << "n = " << n;
}

TEST(Rng, BelowIsUniform) {
  // Pearson's chi-square over 7 bins from 70,000 draws has 6 degrees of freedom; a uniform
  // source exceeds 35.9 with probability 5e-6, so a value above it means bias, not bad luck.
  Rng rng(5);
  constexpr int kBins = 7;
  constexpr int kDraws = 70000;
  std::vector<int> count(kBins, 0);
  for (int k = 0; k < kDraws; ++k) ++count[rng.below(kBins)];
  const double expected = static_cast<double>(kDraws) / kBins;
  double chi2 = 0;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  EXPECT_LT(chi2, 35.9);
}

TEST(Rng, ShuffleIsTheTextbookFisherYates) {
  for (std::size_t n : {0u, 1u, 2u, 3u, 16u, 17u, 18u, 1000u, 100000u}) {
    std::vector<std::int64_t> items(n);
    std::iota(items.begin(), items.end(), 0);
    std::vector<std::int64_t> textbook = items;
    Rng a(42), b(42);
    a.shuffle(items);
    for (std::size_t i = n; i > 1; --i) std::swap(textbook[i - 1], textbook[b.below(i)]);
    EXPECT_EQ(items, textbook) << "n = " << n;
    EXPECT_EQ(a.next(), b.next()) << "the shuffle drew a different number of values, n = " << n;
    std::vector<std::int64_t> sorted = items;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(sorted[i], static_cast<std::int64_t>(i));
  }
}

TEST(Rng, SavedStateReplaysTheStream) {
  Rng rng(9);
  for (int k = 0; k < 100; ++k) rng.next();
  const std::string saved = rng.save();
  std::vector<std::uint64_t> first;
  for (int k = 0; k < 10; ++k) first.push_back(rng.below(1000003));
  Rng replay;
  replay.restore(saved);
  for (int k = 0; k < 10; ++k) EXPECT_EQ(replay.below(1000003), first[k]);
}

}  // namespace
}  // namespace descent::test
