// A flat map from an object's address to a 32-bit value, for identity-keyed bookkeeping on hot
// paths (the Pickler's memo, torch.save's storage and tensor tables).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace ptio::pickle {

/// Open addressing with linear probing over (address, value) slots: power-of-two size, at most
/// half full, no allocation per entry (what CPython's pickler memo keyed by `id(obj)` is, without
/// std::unordered_map's node per entry). Keys are never dereferenced; nullptr (which marks an empty
/// slot in the table) is kept in a slot of its own, so it is an ordinary key for callers (an
/// undefined Storage's id()). Plays no part in any file format.
class IdentityMap {
 public:
  /// `initial_slots`: the table's size at the first insertion (a power of two).
  explicit IdentityMap(std::size_t initial_slots = 256) : initial_(initial_slots) {}

  /// The value of `key`, if present.
  std::optional<std::uint32_t> find(const void* key) const noexcept {
    if (key == nullptr) return has_null_ ? std::optional<std::uint32_t>(null_value_) : std::nullopt;
    if (slots_.empty()) return std::nullopt;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = slot_of(key, mask);; i = (i + 1) & mask) {
      if (slots_[i].key == key) return slots_[i].value;
      if (slots_[i].key == nullptr) return std::nullopt;
    }
  }
  /// The value slot of `key`, inserted with value 0 when absent; `found` tells which.
  /// The reference is valid until the next insertion.
  std::uint32_t& at(const void* key, bool& found) {
    if (key == nullptr) {
      found = has_null_;
      has_null_ = true;
      return null_value_;
    }
    if (2 * (count_ + 1) > slots_.size()) rehash(slots_.empty() ? initial_ : 2 * slots_.size());
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = slot_of(key, mask);
    while (slots_[i].key != nullptr && slots_[i].key != key) i = (i + 1) & mask;
    found = slots_[i].key == key;
    if (!found) {
      slots_[i] = Slot{key, 0};
      ++count_;
    }
    return slots_[i].value;
  }
  /// Starts loading the slot where a lookup of `key` begins into the cache (no effect on the
  /// table): a caller walking many keys prefetches a few keys ahead, so the table's cache misses
  /// overlap instead of stalling one after another (the tables of a 20,000-tensor save exceed L2).
  void prefetch(const void* key) const noexcept {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(key, slots_.size() - 1)]);
  }
  /// Sizes an empty table for about `n` entries (no effect once it holds any).
  void reserve(std::size_t n) {
    std::size_t cap = initial_;
    while (cap < 2 * n + 2) cap *= 2;
    if (count_ == 0 && cap > slots_.size()) slots_.assign(cap, Slot{});
  }
  /// Removes every entry, keeping the table's size.
  void clear() noexcept {
    for (Slot& s : slots_) s = Slot{};
    count_ = 0;
    has_null_ = false;
    null_value_ = 0;
  }
  std::size_t size() const noexcept { return count_ + (has_null_ ? 1 : 0); }

 private:
  struct Slot {
    const void* key = nullptr;
    std::uint32_t value = 0;
  };
  // Fibonacci hashing of the address (the low bits of heap addresses are mostly zero).
  static std::size_t slot_of(const void* key, std::size_t mask) noexcept {
    const auto a = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key));
    return static_cast<std::size_t>((a * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
  }
  void rehash(std::size_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    const std::size_t mask = n - 1;
    for (const Slot& s : old) {
      if (s.key == nullptr) continue;
      std::size_t i = slot_of(s.key, mask);
      while (slots_[i].key != nullptr) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }
  std::size_t initial_;
  std::vector<Slot> slots_;
  std::size_t count_ = 0;  // keys in slots_
  bool has_null_ = false;  // nullptr's entry, outside slots_
  std::uint32_t null_value_ = 0;
};

}  // namespace ptio::pickle
