// Where a graph's nodes live: segments that are never reallocated, so a node never moves once
// added and a `const Node&` stays valid while the graph grows. Segment k holds kFirst << k
// nodes (ids from kFirst * (2^k - 1) on): a small graph allocates little, a large one O(log n)
// segments. A segment's memory is taken uninitialised and each node is constructed where it
// lies when it is added, so building a node writes its memory once.
// This file knows nothing of interning or shapes; see graph.hpp.
#pragma once

#include <bit>
#include <cstddef>
#include <memory>
#include <new>
#include <vector>

#include "common/large_buffer.hpp"

namespace descent {

template <class T>
class SegmentedStore {
 public:
  SegmentedStore() = default;
  SegmentedStore(const SegmentedStore&) = delete;
  SegmentedStore& operator=(const SegmentedStore&) = delete;
  SegmentedStore(SegmentedStore&& other) noexcept
      : segments_(std::move(other.segments_)), size_(other.size_) {
    other.segments_.clear();
    other.size_ = 0;
  }
  SegmentedStore& operator=(SegmentedStore&& other) noexcept {
    if (this != &other) {
      destroy();
      segments_ = std::move(other.segments_);
      size_ = other.size_;
      other.segments_.clear();
      other.size_ = 0;
    }
    return *this;
  }
  ~SegmentedStore() { destroy(); }

  std::size_t size() const { return size_; }
  const T& operator[](std::size_t i) const { return *slot(i); }

  // A value-initialised element at the end.
  T& emplace_back() {
    const std::size_t segment = segment_of(size_);
    if (segment == segments_.size()) {
      const std::size_t n = kFirst << segment;
      segments_.emplace_back(allocate(n), Release{n});
    }
    T* item = new (slot(size_)) T();
    ++size_;
    return *item;
  }

 private:
  static constexpr std::size_t kFirst = 64;
  static std::size_t segment_of(std::size_t i) {
    return static_cast<std::size_t>(std::bit_width(i / kFirst + 1)) - 1;
  }
  static std::size_t segment_start(std::size_t segment) {
    return kFirst * ((std::size_t{1} << segment) - 1);
  }
  T* slot(std::size_t i) const {
    const std::size_t segment = segment_of(i);
    return segments_[segment].get() + (i - segment_start(segment));
  }
  void destroy() {
    for (std::size_t i = size_; i-- > 0;) slot(i)->~T();
    segments_.clear();
    size_ = 0;
  }

  // A large segment is asked for huge pages (large_buffer.hpp): nodes are read at random
  // across the whole graph, and with 4 KiB pages nearly every such read misses the TLB.
  static bool large(std::size_t n) { return n * sizeof(T) >= HugePageAllocator<T>::kThreshold; }
  static T* allocate(std::size_t n) {
    if (large(n)) return HugePageAllocator<T>{}.allocate(n);
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{alignof(T)}));
  }
  struct Release {
    std::size_t n = 0;
    void operator()(T* p) const {
      if (large(n))
        HugePageAllocator<T>{}.deallocate(p, n);
      else
        ::operator delete (p, std::align_val_t{alignof(T)});
    }
  };
  std::vector<std::unique_ptr<T, Release>> segments_;
  std::size_t size_ = 0;
};

}  // namespace descent
