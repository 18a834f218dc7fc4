// The two-part interning index (see intern_table.hpp).
#include "graph/intern_table.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace descent {

namespace {

// Young keys before they are moved to `main`: at most 16k entries in 32k slots (512 KiB), which
// stay in a core's cache while a rewrite adds them. A small graph starts with a small table.
constexpr std::size_t kYoungSlots = std::size_t{1} << 15;
constexpr std::size_t kFirstSlots = 64;
// flush_young() writes `main` region by region, 2^kRegionBits of them.
constexpr int kRegionBits = 12;
// `main` grows (doubles) when it would be more than 3/4 full. Its slots are 8 bytes, eight to a
// cache line, so a lookup that probes a few slots past its own still reads one line, mostly:
// at 3/4 full, linear probing reads about 2.5 slots for a key that is there and 8.5 for one
// that is not (Knuth's estimates), against 1.5 and 2.5 at 1/2 full. What the fuller table
// saves is memory the cache must hold: `main` is read at random and, in a graph of a million
// nodes, is 8 MiB instead of 16, beside the nodes and their heads.
constexpr bool too_full(std::size_t entries, std::size_t slots) { return 4 * entries > 3 * slots; }

void prefetch(const void* address) {
#if defined(__GNUC__)
  __builtin_prefetch(address, 1);
#else
  (void)address;
#endif
}

}  // namespace

InternTable::InternTable() : young_(kFirstSlots), recent_(kFirstSlots / 2) {}

std::uint64_t InternTable::hash(const InternKey& key) {
  // SplitMix64's finalizer over (op, kind) and the payload.
  std::uint64_t h = (static_cast<std::uint64_t>(key.op) << 1 | (key.short_key ? 1 : 0)) ^
                    key.payload * 0x9e3779b97f4a7c15ULL;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

template <class Table>
void InternTable::place(Table& table, std::uint64_t h, const Slot& slot) {
  const std::size_t mask = table.size() - 1;
  std::size_t i = h & mask;
  while (table[i].id != kAbsent) i = (i + 1) & mask;
  table[i] = slot;
}

void InternTable::place_main(std::vector<MainSlot, HugePageAllocator<MainSlot>>& table,
                             MainSlot slot) {
  const std::size_t mask = table.size() - 1;
  std::size_t i = slot.tag & mask;
  while (table[i].id != kAbsent) i = (i + 1) & mask;
  table[i] = slot;
}

void InternTable::insert(const InternKey& key, std::uint32_t id) {
  const std::uint64_t h = hash(key);
  const Slot slot{id, key.op, key.short_key, key.payload};
  place(young_, h, slot);
  if (key.short_key) recent_[(h >> 40) & (recent_.size() - 1)] = slot;
  if (++young_count_ < young_.size() / 2) return;
  if (young_.size() < kYoungSlots)
    grow_young();
  else
    flush_young();
}

void InternTable::grow_young() {
  std::vector<Slot> old = std::exchange(young_, std::vector<Slot>(2 * young_.size()));
  for (const Slot& s : old)
    if (s.id != kAbsent) place(young_, hash({s.op, s.short_key, s.payload, 0}), s);
  recent_.assign(young_.size() / 2, Slot{});
}

void InternTable::flush_young() {
  const std::size_t entries = static_cast<std::size_t>(young_start_) + young_count_;
  if (too_full(entries, main_.size())) {
    std::size_t size = std::max<std::size_t>(main_.size(), kYoungSlots);
    while (too_full(entries, size)) size *= 2;
    auto old = std::exchange(main_, decltype(main_)(size));
    for (const MainSlot& s : old)
      if (s.id != kAbsent) place_main(main_, s);
  }
  // In the order of their regions of `main` (a counting sort by a slot's top bits, each region
  // small enough to stay in the cache while it is written), so that `main` is written from
  // front to back.
  const std::size_t mask = main_.size() - 1;
  const int slot_bits = std::countr_zero(main_.size());
  const int shift = std::max(0, slot_bits - kRegionBits);
  std::vector<MainSlot> young_entries;
  young_entries.reserve(young_count_);
  std::vector<std::uint32_t> region_start((std::size_t{1} << kRegionBits) + 1, 0);
  std::uint32_t last = young_start_;
  for (const Slot& s : young_)
    if (s.id != kAbsent) {
      const MainSlot entry{s.id, tag_of(hash({s.op, s.short_key, s.payload, 0}))};
      young_entries.push_back(entry);
      ++region_start[((entry.tag & mask) >> shift) + 1];
      last = std::max(last, s.id);
    }
  for (std::size_t r = 1; r < region_start.size(); ++r) region_start[r] += region_start[r - 1];
  std::vector<MainSlot> moving(young_entries.size());
  for (const MainSlot& entry : young_entries)
    moving[region_start[(entry.tag & mask) >> shift]++] = entry;
  // The slots are far apart in a large table: ask for a few ahead, so that their cache misses
  // overlap instead of following one another.
  constexpr std::size_t kAhead = 8;
  for (std::size_t k = 0; k < moving.size(); ++k) {
    if (k + kAhead < moving.size()) prefetch(&main_[moving[k + kAhead].tag & mask]);
    place_main(main_, moving[k]);
  }
  std::fill(young_.begin(), young_.end(), Slot{});
  young_count_ = 0;
  young_start_ = last + 1;
}

}  // namespace descent
