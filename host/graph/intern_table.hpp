// The index behind hash-consing (graph.hpp): from a node's key to its id.
//
// A key is short when it holds the whole key of the node: an op without attribute is (op,
// children), a scalar constant (op, value bits); such keys are compared in `young` and in the
// cache of recent keys without reading a node. Other keys carry a hash of the node's key, and
// the caller compares the node. `main` keeps only ids and hash bits: the caller compares every
// key found there with the node's.
//
// Large graphs do not fit in the cache, and a hash table is read at random, so the index is
// kept in two parts: `young` holds the keys entered since the last flush, small enough to stay
// in the cache, and `main` all older ones. A node is younger than its children, so a key whose
// newest child is younger than every id in `main` cannot be there: adding a node built on nodes
// just built (most of what a rewrite adds) never reads `main`. A full `young` is moved into `main`
// in the order of `main`'s slots, which writes it from front to back. A small direct-mapped cache
// of the keys found last answers repeated lookups of older nodes.
//
// This file knows nothing of nodes' fields; graph.cpp makes the keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/large_buffer.hpp"
#include "graph/ops.hpp"

namespace descent {

struct InternKey {
  Op op = Op::constant;
  bool short_key = false;
  std::uint64_t payload = 0;       // children or value bits (short keys); the key's hash otherwise
  std::uint32_t newest_child = 0;  // the largest id among the node's children (0: none)
};

// Ids are the graph's node ids; kAbsent (the graph's kNoNode) stands for none.
class InternTable {
 public:
  static constexpr std::uint32_t kAbsent = 0xffffffffu;

  InternTable();

  // The id entered under `key`, or kAbsent. `same(id)` tells whether the node with that id has
  // the key: it is asked for every key found in `main`, which keeps ids and hash bits only, and
  // for a long key found in `young`.
  template <class Same>
  std::uint32_t find(const InternKey& key, Same same) const;
  // Enters `id` under `key`, which find() did not find. Ids need not come in order: the graph
  // enters some nodes late (graph.hpp, HeadSlot).
  void insert(const InternKey& key, std::uint32_t id);

 private:
  struct Slot {
    std::uint32_t id = kAbsent;  // empty
    Op op = Op::constant;
    bool short_key = false;
    std::uint64_t payload = 0;
  };
  // A slot of `main`: the id and the hash's upper half, which also places it (tag & mask), so
  // that `main` can grow without the keys. Half the size of a full slot: `main` is the one
  // part of the index as large as the graph, read at random and written once per node.
  struct MainSlot {
    std::uint32_t id = kAbsent;  // empty
    std::uint32_t tag = 0;
  };
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32); }
  static void place_main(std::vector<MainSlot, HugePageAllocator<MainSlot>>& table, MainSlot slot);
  template <class Same>
  std::uint32_t probe_main(std::uint64_t h, Same same) const;
  static std::uint64_t hash(const InternKey& key);
  static bool same_slot_key(const Slot& slot, const InternKey& key) {
    return slot.op == key.op && slot.short_key == key.short_key && slot.payload == key.payload;
  }
  template <class Table, class Same>
  static std::uint32_t probe(const Table& table, std::uint64_t h, const InternKey& key, Same same);
  template <class Table>
  static void place(Table& table, std::uint64_t h, const Slot& slot);
  void grow_young();
  void flush_young();

  // Ids below young_start_; a power of two, at most 3/4 full, on huge pages (large_buffer.hpp)
  // when large: its reads are at random.
  std::vector<MainSlot, HugePageAllocator<MainSlot>> main_;
  std::vector<Slot> young_;  // ids from young_start_ on; at most half full
  std::size_t young_count_ = 0;
  std::uint32_t young_start_ = 0;
  mutable std::vector<Slot> recent_;  // direct-mapped by hash; short keys only
};

template <class Table, class Same>
std::uint32_t InternTable::probe(const Table& table, std::uint64_t h, const InternKey& key,
                                 Same same) {
  const std::size_t mask = table.size() - 1;
  for (std::size_t i = h & mask; table[i].id != kAbsent; i = (i + 1) & mask)
    if (same_slot_key(table[i], key) && (key.short_key || same(table[i].id))) return table[i].id;
  return kAbsent;
}

template <class Same>
std::uint32_t InternTable::probe_main(std::uint64_t h, Same same) const {
  const std::size_t mask = main_.size() - 1;
  const std::uint32_t tag = tag_of(h);
  for (std::size_t i = tag & mask; main_[i].id != kAbsent; i = (i + 1) & mask)
    if (main_[i].tag == tag && same(main_[i].id)) return main_[i].id;
  return kAbsent;
}

template <class Same>
std::uint32_t InternTable::find(const InternKey& key, Same same) const {
  const std::uint64_t h = hash(key);
  // Where the probes of `young` and `main` start is known now: ask for both slots at once, so
  // that their cache misses overlap with the recent-keys check instead of following it.
  const bool in_main = key.newest_child < young_start_ && !main_.empty();
#if defined(__GNUC__)
  __builtin_prefetch(&young_[h & (young_.size() - 1)]);
  if (in_main) __builtin_prefetch(&main_[tag_of(h) & (main_.size() - 1)]);
#endif
  Slot* recent = nullptr;
  if (key.short_key) {
    recent = &recent_[(h >> 40) & (recent_.size() - 1)];
    if (recent->id != kAbsent && same_slot_key(*recent, key)) return recent->id;
  }
  std::uint32_t id = probe(young_, h, key, same);
  if (id == kAbsent && in_main) id = probe_main(h, same);
  if (id != kAbsent && recent) *recent = {id, key.op, true, key.payload};
  return id;
}

}  // namespace descent
